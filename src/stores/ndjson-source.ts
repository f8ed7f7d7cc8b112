/**
 * Devices from NDJSON (one JSON object per line, `.ndjson` / `.jsonl`), from a file or a
 * stream such as stdin. Read chunk by chunk with the stream's backpressure; only the current
 * chunk's lines are held, each parsed when it is pulled, and a line longer than the row size
 * limit is skipped rather than buffered (see line-reader.ts).
 *
 * The engine pulls the devices through the source's own puller (see PullSource in
 * engine/source.ts): the devices of a chunk already read are answered at once, without a
 * promise each.
 *
 * A line that is not UTF-8, not JSON, not a JSON object, or over the row limits (nesting depth,
 * size: see row-limits.ts) becomes one `invalid-device` feedback naming its line number (see
 * malformed.ts) instead of ending the run. A JSON object is handed on as it is: every field
 * rides along, and the engine judges its platform.
 */
import type { Readable } from 'node:stream';
import type { Device } from '../device.js';
import { asyncIteratorOf, PULL, type Pulled, type Puller, type PullSource } from '../engine/source.js';
import { StoreError } from './errors.js';
import { describeInput, openInput, type TextInput } from './input.js';
import { type Line, LineReader } from './line-reader.js';
import { malformedLine } from './malformed.js';
import { type RowLimitOptions, type RowLimits, rowLimits, rowProblem } from './row-limits.js';

export interface NdjsonDevicesOptions extends RowLimitOptions {
  /** Longest line accepted, in characters. Default `limits.maxSize` (64 Ki). */
  maxLineLength?: number;
}

/** Streams devices from NDJSON. A path is opened for each iteration; a stream can be read once. */
export function ndjsonDevices(input: TextInput, options: NdjsonDevicesOptions = {}): AsyncIterable<Device> {
  const limits = rowLimits(options.limits, 'ndjsonDevices');
  const maxLineLength = options.maxLineLength ?? limits.maxSize;
  // The line's length is the row's size; the walk over the parsed row checks only its depth.
  const depthOnly = { maxDepth: limits.maxDepth, maxSize: Number.POSITIVE_INFINITY };
  const puller = () => new NdjsonPuller(input, maxLineLength, depthOnly);
  const source: PullSource<Device> = {
    [PULL]: puller,
    [Symbol.asyncIterator]: () => asyncIteratorOf(puller()),
  };
  return source;
}

const DONE: Pulled<never> = Object.freeze({ done: true });

/**
 * Devices from the lines of the input, parsed one at a time as they are pulled: answered at
 * once while the chunk last read has lines left, with a promise when the next chunk is needed.
 */
class NdjsonPuller implements Puller<Device> {
  private readonly name: string;
  private readonly lines: LineReader;
  /** The input, opened by the first pull, and its chunks. */
  private stream: Readable | undefined;
  private chunks: AsyncIterator<unknown> | undefined;
  private inputEnded = false;
  private done = false;

  constructor(
    private readonly input: TextInput,
    private readonly maxLineLength: number,
    private readonly limits: Required<RowLimits>,
  ) {
    this.name = describeInput(input);
    this.lines = new LineReader(maxLineLength);
  }

  next(): Pulled<Device> | Promise<Pulled<Device>> {
    return this.take() ?? this.more();
  }

  /**
   * Stops reading: the input is destroyed (a file we opened is closed; a caller's stream is
   * destroyed, as ending its async iterator early does), which also ends a pull waiting for it.
   */
  close(): void {
    this.done = true;
    this.stream?.destroy();
  }

  /** The next device of the lines read, DONE at the end, or undefined when a chunk is needed. */
  private take(): Pulled<Device> | undefined {
    if (this.done) return DONE;
    for (let line = this.lines.next(); line !== undefined; line = this.lines.next()) {
      const device = this.device(line);
      if (device !== undefined) return { done: false, value: device };
    }
    if (!this.inputEnded) return undefined;
    this.done = true;
    return DONE;
  }

  private async more(): Promise<Pulled<Device>> {
    for (;;) {
      let chunk: IteratorResult<unknown>;
      try {
        if (this.chunks === undefined) {
          this.stream = openInput(this.input);
          this.chunks = this.stream[Symbol.asyncIterator]();
        }
        chunk = await this.chunks.next();
      } catch (error) {
        // Closed while waiting for input: the stream's end is ours, not a failure to read.
        if (this.done) return DONE;
        this.done = true;
        if (error instanceof StoreError) throw error;
        throw new StoreError(
          'store-read',
          `cannot read ${this.name} after line ${this.lines.number}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (this.done) return DONE; // closed while waiting
      if (chunk.done) {
        this.inputEnded = true;
        this.lines.end();
      } else {
        const data = chunk.value;
        this.lines.feed(typeof data === 'string' ? Buffer.from(data) : (data as Buffer));
      }
      const pulled = this.take();
      if (pulled !== undefined) return pulled;
    }
  }

  /** The device a line holds; a malformed one for a line that cannot be one; undefined for a blank line. */
  private device({ number, text, tooLong, notUtf8 }: Line): Device | undefined {
    const name = this.name;
    if (tooLong)
      return malformedLine(name, number, `longer than ${this.maxLineLength} characters; skipped`, text);
    if (notUtf8) {
      return malformedLine(
        name,
        number,
        'not valid UTF-8 (the line holds bytes that are not UTF-8 text)',
        text,
      );
    }
    if (text.trim() === '') return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return malformedLine(name, number, `not valid JSON (${(error as Error).message})`, text);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
      return malformedLine(name, number, `expected a JSON object, got ${got}`, text);
    }
    // JSON.parse takes any depth; JSON.stringify (the feedback line) would overflow on it.
    const problem = rowProblem(value, this.limits);
    if (problem !== undefined) return malformedLine(name, number, problem, text);
    return value as Device;
  }
}

/**
 * Devices from NDJSON (one JSON object per line, `.ndjson` / `.jsonl`), from a file or a
 * stream such as stdin. Read chunk by chunk with the stream's backpressure; only the current
 * line is held, and a line longer than the row size limit is skipped rather than buffered.
 *
 * A line that is not UTF-8, not JSON, not a JSON object, or over the row limits (nesting depth,
 * size: see row-limits.ts) becomes one `invalid-device` feedback naming its line number (see
 * malformed.ts) instead of ending the run. A JSON object is handed on as it is: every field
 * rides along, and the engine judges its platform.
 */
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { Device } from '../device.js';
import { StoreError } from './errors.js';
import { describeInput, openInput, type TextInput } from './input.js';
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
  return { [Symbol.asyncIterator]: () => readDevices(input, maxLineLength, depthOnly) };
}

async function* readDevices(
  input: TextInput,
  maxLineLength: number,
  limits: Required<RowLimits>,
): AsyncGenerator<Device> {
  const name = describeInput(input);
  for await (const { number, text, tooLong, notUtf8 } of readLines(openInput(input), name, maxLineLength)) {
    if (tooLong) {
      yield malformedLine(name, number, `longer than ${maxLineLength} characters; skipped`, text);
      continue;
    }
    if (notUtf8) {
      yield malformedLine(
        name,
        number,
        'not valid UTF-8 (the line holds bytes that are not UTF-8 text)',
        text,
      );
      continue;
    }
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield malformedLine(name, number, `not valid JSON (${(error as Error).message})`, text);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
      yield malformedLine(name, number, `expected a JSON object, got ${got}`, text);
      continue;
    }
    // JSON.parse takes any depth; JSON.stringify (the feedback line) would overflow on it.
    const problem = rowProblem(value, limits);
    if (problem !== undefined) {
      yield malformedLine(name, number, problem, text);
      continue;
    }
    yield value as Device;
  }
}

interface Line {
  /** 1-based. */
  number: number;
  text: string;
  /** The line was over the limit: `text` is only its start. */
  tooLong: boolean;
  /** The line's bytes are not UTF-8: `text` is what they decode to, with U+FFFD for the bad ones. */
  notUtf8: boolean;
}

const LF = 0x0a;

/**
 * Splits a byte stream into lines (LF or CRLF), holding at most one line (at most 4 bytes per
 * character of `maxLineLength`). Each line's bytes are checked to be UTF-8: a chunk's complete
 * lines are checked and decoded together (one native call each, the common case), and line by
 * line only when that chunk holds bytes that are not UTF-8.
 */
export async function* readLines(
  stream: Readable,
  name: string,
  maxLineLength: number,
): AsyncGenerator<Line> {
  let number = 0;
  // The line being read, when it spans chunks: its pieces, or its start once it is over the limit.
  let pieces: Buffer[] = [];
  let held = 0;
  let skipping: string | undefined;
  const maxBytes = maxLineLength * 4;

  const finish = (text: string, notUtf8 = false): Line => {
    number++;
    if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // UTF-8 BOM
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.length > maxLineLength) return { number, text: text.slice(0, 200), tooLong: true, notUtf8 };
    return { number, text, tooLong: false, notUtf8 };
  };
  const decode = (bytes: Buffer): Line => finish(bytes.toString('utf8'), !isUtf8(bytes));
  const hold = (bytes: Buffer) => {
    if (skipping !== undefined) return;
    held += bytes.length;
    if (held <= maxBytes) {
      pieces.push(bytes);
      return;
    }
    skipping = Buffer.concat([...pieces, bytes.subarray(0, 200)])
      .toString('utf8')
      .slice(0, 200);
    pieces = [];
    held = 0;
  };
  /** Ends the held line with `tail` (the bytes before its newline). */
  const endHeld = (tail: Buffer): Line => {
    if (skipping !== undefined) {
      number++;
      const text = skipping;
      skipping = undefined;
      return { number, text, tooLong: true, notUtf8: false };
    }
    const bytes = pieces.length === 0 ? tail : Buffer.concat([...pieces, tail]);
    pieces = [];
    held = 0;
    return decode(bytes);
  };

  try {
    for await (const data of stream) {
      const chunk: Buffer = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
      const first = chunk.indexOf(LF);
      if (first === -1) {
        hold(chunk);
        continue;
      }
      yield endHeld(chunk.subarray(0, first));
      const last = chunk.lastIndexOf(LF);
      if (last > first) {
        const region = chunk.subarray(first + 1, last);
        if (isUtf8(region)) {
          for (const text of region.toString('utf8').split('\n')) yield finish(text);
        } else {
          for (let start = 0; start <= region.length; ) {
            let end = region.indexOf(LF, start);
            if (end === -1) end = region.length;
            yield decode(region.subarray(start, end));
            start = end + 1;
          }
        }
      }
      if (last + 1 < chunk.length) hold(chunk.subarray(last + 1));
    }
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError(
      'store-read',
      `cannot read ${name} after line ${number}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (skipping !== undefined || held > 0) yield endHeld(Buffer.alloc(0));
}

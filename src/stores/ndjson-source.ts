/**
 * Devices from NDJSON (one JSON object per line, `.ndjson` / `.jsonl`), from a file or a
 * stream such as stdin. Read chunk by chunk with the stream's backpressure; only the current
 * line is held, and a line longer than `maxLineLength` is skipped rather than buffered.
 *
 * A line that is not JSON, or not a JSON object, becomes one `invalid-device` feedback naming
 * its line number (see malformed.ts) instead of ending the run. A JSON object is handed on as
 * it is: every field rides along, and the engine judges its platform.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Device } from '../device.js';
import { StoreError } from './errors.js';
import { describeInput, openInput, type TextInput } from './input.js';
import { malformedLine } from './malformed.js';

export interface NdjsonDevicesOptions {
  /** Longest line accepted, in characters. Default 1 MiB. */
  maxLineLength?: number;
}

/** Streams devices from NDJSON. A path is opened for each iteration; a stream can be read once. */
export function ndjsonDevices(input: TextInput, options: NdjsonDevicesOptions = {}): AsyncIterable<Device> {
  const maxLineLength = options.maxLineLength ?? 1024 * 1024;
  return { [Symbol.asyncIterator]: () => readDevices(input, maxLineLength) };
}

async function* readDevices(input: TextInput, maxLineLength: number): AsyncGenerator<Device> {
  const name = describeInput(input);
  for await (const { number, text, tooLong } of readLines(openInput(input), name, maxLineLength)) {
    if (tooLong) {
      yield malformedLine(name, number, `longer than ${maxLineLength} characters; skipped`, text);
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
    yield value as Device;
  }
}

interface Line {
  /** 1-based. */
  number: number;
  text: string;
  /** The line was over the limit: `text` is only its start. */
  tooLong: boolean;
}

/** Splits a byte stream into lines (LF or CRLF), holding at most one line. */
export async function* readLines(
  stream: Readable,
  name: string,
  maxLineLength: number,
): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let number = 0;
  let skipping: string | undefined; // start of an over-long line being skipped
  const finish = (text: string): Line => {
    number++;
    if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // UTF-8 BOM
    if (text.endsWith('\r')) text = text.slice(0, -1);
    return { number, text, tooLong: false };
  };
  try {
    for await (const chunk of stream) {
      const text = pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
      pending = '';
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        if (skipping !== undefined) {
          number++;
          yield { number, text: skipping, tooLong: true };
          skipping = undefined;
        } else if (end - start > maxLineLength) {
          number++;
          yield { number, text: text.slice(start, start + 200), tooLong: true };
        } else {
          yield finish(text.slice(start, end));
        }
        start = end + 1;
      }
      const rest = text.slice(start);
      if (skipping !== undefined) continue;
      if (rest.length > maxLineLength) skipping = rest.slice(0, 200);
      else pending = rest;
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
  const last = pending + decoder.end();
  if (skipping !== undefined) {
    number++;
    yield { number, text: skipping, tooLong: true };
  } else if (last !== '') {
    yield finish(last);
  }
}

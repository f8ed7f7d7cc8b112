/**
 * Feedback as NDJSON: one JSON object per line, for logs, audits and piping into other tools.
 * Writes respect the stream's backpressure: `write` waits for `drain` when the stream's buffer
 * is full, so a fast delivery cannot pile feedback up in memory.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Feedback } from '../feedback.js';
import { StoreError } from './errors.js';

export interface NdjsonFeedbackWriter {
  /** Writes one line; resolves when the stream can take more. */
  write(feedback: Feedback): Promise<void>;
  /** Writes every feedback of a delivery (or any iterable of them). */
  consume(feedback: AsyncIterable<Feedback> | Iterable<Feedback>): Promise<void>;
  /** Waits until everything written has been flushed; ends the file when the writer opened it. */
  close(): Promise<void>;
  /** Lines written. */
  readonly written: number;
}

export interface NdjsonFeedbackWriterOptions {
  /** Append to the file instead of replacing it (paths only). */
  append?: boolean;
  /** End the stream on close(). Default: true for a path, false for a stream you gave (stdout stays open). */
  end?: boolean;
}

/**
 * The line for one feedback: every field the feedback has, the error as `PushError.toJSON()`.
 * A device that cannot be written as JSON (nested too deep for JSON.stringify's recursion,
 * cyclic, or with a value that throws in `toJSON`) does not end the output: its line carries a
 * placeholder naming the problem, with the device's plain top-level values, and the rest of the
 * line as usual. One caller's odd object costs one line, never the file.
 */
export function feedbackLine(feedback: Feedback): string {
  const { device, status, provider, messageId, httpStatus, attempts, error, maybeDelivered, maybeDuplicate } =
    feedback;
  const line = {
    device,
    status,
    provider,
    messageId,
    httpStatus,
    attempts,
    maybeDelivered,
    maybeDuplicate,
    error: error?.toJSON(),
  };
  try {
    // Without a replacer first: V8's JSON.stringify takes its fast path only without one (about
    // twice as fast, and the server writes a line per device). Only a BigInt (a database row
    // id) makes it throw; then the replacer writes it as digits.
    try {
      return `${JSON.stringify(line)}\n`;
    } catch {
      return `${JSON.stringify(line, jsonValue)}\n`;
    }
  } catch (problem) {
    line.device = unwritableDevice(device, problem) as Feedback['device'];
    return `${JSON.stringify(line, jsonValue)}\n`;
  }
}

// A SQLite or PostgreSQL row id may be a BigInt, which JSON cannot hold: write it as digits.
const jsonValue = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

/** What stands in the line for a device JSON cannot write: why, and its plain top-level values. */
function unwritableDevice(device: unknown, problem: unknown): Record<string, unknown> {
  const message = String((problem as Error)?.message ?? problem);
  // V8's words for JSON.stringify's recursion running out of stack; a cycle's message spans lines.
  const reason = /call stack/i.test(message) ? 'nested too deep' : message.split('\n')[0];
  const placeholder: Record<string, unknown> = {
    unwritable: `the device could not be written as JSON (${reason}); its plain fields are kept`,
  };
  if (typeof device !== 'object' || device === null) return placeholder;
  let kept = 0;
  for (const key of Object.keys(device)) {
    if (kept === 32) break;
    let value: unknown;
    try {
      value = (device as Record<string, unknown>)[key];
    } catch {
      continue; // a getter that throws (perhaps the problem itself): its field is left out
    }
    if (typeof value === 'string')
      placeholder[key] = value.length > 1000 ? `${value.slice(0, 1000)}…` : value;
    else if (typeof value === 'number' || typeof value === 'boolean' || value === null)
      placeholder[key] = value;
    else if (typeof value === 'bigint') placeholder[key] = value.toString();
    else continue;
    kept++;
  }
  return placeholder;
}

/** Writes feedback as NDJSON to a file path or a writable stream (e.g. `process.stdout`). */
export function ndjsonFeedbackWriter(
  output: string | Writable,
  options: NdjsonFeedbackWriterOptions = {},
): NdjsonFeedbackWriter {
  const owned = typeof output === 'string';
  const stream: Writable = owned ? createWriteStream(output, { flags: options.append ? 'a' : 'w' }) : output;
  const end = options.end ?? owned;
  const name = owned ? output : 'the output stream';
  let failure: Error | undefined;
  const onError = (error: Error) => {
    failure ??= new StoreError('store-write', `cannot write feedback to ${name}: ${error.message}`, {
      cause: error,
    });
  };
  stream.on('error', onError);
  let closing: Promise<void> | undefined;

  const waitFor = async (event: 'drain' | 'finish' | 'close') => {
    // Rejects on 'error' too (events.once does), so a broken pipe cannot leave us waiting.
    try {
      await once(stream, event);
    } catch (error) {
      onError(error as Error);
    }
    if (failure) throw failure;
  };

  const writer = {
    written: 0,
    async write(feedback: Feedback): Promise<void> {
      if (closing)
        throw new StoreError('store-config', `ndjsonFeedbackWriter(${name}): write() after close()`);
      if (failure) throw failure;
      const ok = stream.write(feedbackLine(feedback));
      writer.written++;
      if (!ok) await waitFor('drain');
    },
    async consume(feedback: AsyncIterable<Feedback> | Iterable<Feedback>): Promise<void> {
      for await (const item of feedback) await writer.write(item);
    },
    close(): Promise<void> {
      closing ??= (async () => {
        if (failure) throw failure;
        if (end) {
          stream.end();
          // A file we opened is waited for until its descriptor is closed, so nothing is left open.
          if (owned && !stream.closed) await waitFor('close');
          else if (!stream.writableFinished) await waitFor('finish');
        } else if (stream.writableNeedDrain) {
          await waitFor('drain');
        }
        stream.off('error', onError);
        if (failure) throw failure;
      })();
      return closing;
    },
  };
  return writer;
}

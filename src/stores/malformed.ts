/**
 * A line of a device file, or a row of a query, that cannot be a device (not JSON, not UTF-8,
 * over the row limits of row-limits.ts). It is handed to the engine like any device, and
 * because it has no platform the engine answers it with one `invalid-device` feedback; that
 * feedback's device carries the line or row number and what was wrong. One bad line among a
 * million costs one feedback, not the run.
 */
import type { Device } from '../device.js';

/** What a malformed line becomes (it has no `platform`, on purpose). */
export interface MalformedLine {
  /** 1-based line number in the input. */
  line: number;
  /** What was wrong, naming the input and the line. */
  malformed: string;
  /** The start of the line as read (at most 200 characters). */
  raw: string;
}

export function malformedLine(input: string, line: number, problem: string, raw: string): Device {
  const marker: MalformedLine = {
    line,
    malformed: `line ${line} of ${input}: ${problem}`,
    raw: raw.length > 200 ? `${raw.slice(0, 200)}…` : raw,
  };
  // Deliberately not a valid Device: the engine's router rejects it as `invalid-device`.
  return marker as unknown as Device;
}

/** True for a feedback device that stands for a malformed input line. */
export function isMalformedLine(device: unknown): device is MalformedLine {
  return (
    typeof device === 'object' &&
    device !== null &&
    typeof (device as MalformedLine).malformed === 'string' &&
    typeof (device as MalformedLine).line === 'number' &&
    (device as { platform?: unknown }).platform === undefined
  );
}

/** What a database or CSV row over a limit becomes (it has no `platform` or `token`, on purpose). */
export interface MalformedRow {
  /** 1-based row number in the result. */
  row: number;
  /** What was wrong, naming the input and the row. */
  malformed: string;
  /** The row's other plain values (numbers, short strings), so its id comes back with the feedback. */
  [field: string]: unknown;
}

/**
 * A placeholder for a row that cannot be a device. It keeps the row's scalar values (cut to 200
 * characters) so the caller learns which row it was, and drops everything nested: the nesting
 * may be what is wrong, and the feedback must still be writable as one JSON line.
 */
export function malformedRow(input: string, row: number, problem: string, values: object): Device {
  const marker: MalformedRow = { row, malformed: `row ${row} of ${input}: ${problem}` };
  let kept = 0;
  for (const key in values) {
    if (kept === 16) break; // a row over the size limit may have a million columns
    if (!Object.hasOwn(values, key)) continue;
    const value = (values as Record<string, unknown>)[key];
    if (key === 'platform' || key === 'token' || key === 'row' || key === 'malformed') continue;
    if (typeof value === 'string') marker[key] = value.length > 200 ? `${value.slice(0, 200)}…` : value;
    else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
      marker[key] = value;
    else continue;
    kept++;
  }
  return marker as unknown as Device;
}

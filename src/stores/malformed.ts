/**
 * A line of a device file that cannot be a device. It is handed to the engine like any
 * device, and because it has no platform the engine answers it with one `invalid-device`
 * feedback; that feedback's device carries the line number and what was wrong. One bad line
 * among a million costs one feedback, not the run.
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

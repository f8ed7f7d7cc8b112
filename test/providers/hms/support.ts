/** Helpers for the HMS tests: Huawei-shaped tokens and a client over the emulator. */
import { createHash } from 'node:crypto';
import type { Device } from '../../../src/device.js';

/** A token shaped like Huawei's (~130 characters of base64 text), distinct per `i`. */
export function hmsToken(i: number, salt = 'hms'): string {
  const digest = createHash('sha512').update(`${salt}:${i}`).digest('base64');
  return `IQAAAACy0${digest}${digest.slice(0, 40)}`;
}

export function huawei(i: number, salt?: string): Device & { id: number } {
  return { platform: 'huawei', token: hmsToken(i, salt), id: i };
}

/** A feedback in a few words, for assertion messages (no source-reading `assert.ok` on a falsy value). */
export function brief(fb: {
  status: string;
  attempts: number;
  error?: { code: string; message: string };
}): string {
  return `${fb.status}/${fb.attempts}${fb.error ? ` ${fb.error.code}: ${fb.error.message.slice(0, 120)}` : ''}`;
}

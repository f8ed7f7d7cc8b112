/**
 * The device token check made before any request: a token that is empty, not a string, or far
 * longer than any Huawei token fails its device at once, and stays out of the batch.
 */
import type { Device } from '../../device.js';
import type { Outcome } from '../../provider.js';
import { MAX_TOKEN_LENGTH, unusableToken } from './errors.js';

/** The device's Push Kit token, or the outcome (without a request) for one Huawei would refuse. */
export function deviceToken(device: Device, provider: string): string | Outcome {
  const token = device?.token;
  if (typeof token === 'string' && token.trim() !== '' && token.length <= MAX_TOKEN_LENGTH) return token;
  return { ok: false, error: unusableToken(token, provider), requested: false };
}

/**
 * Small constructors for the PushErrors this provider raises itself (not mapped from a
 * response: see `responses.ts`), so every message starts with `fcm:` and carries the
 * provider name.
 */

import { namedAfter, PushError, type PushErrorCode, type PushErrorOptions } from '../../errors.js';
import type { Outcome } from '../../provider.js';

export const PROVIDER_NAME = 'fcm';

export function fcmError(code: PushErrorCode, message: string, options: PushErrorOptions = {}): PushError {
  return new PushError(code, `fcm: ${message}`, { provider: PROVIDER_NAME, ...options });
}

/** A notification the provider refuses at `prepare`: the same for every device, never retryable. */
export function badRequest(message: string): PushError {
  return fcmError('bad-request', message);
}

/** Bad options or a bad service account at `fcm()` time. */
export function configError(message: string, cause?: unknown): PushError {
  return fcmError('config', message, cause === undefined ? {} : { cause });
}

/**
 * Anything a send threw or rejected with, as this provider's failed outcome: a PushError
 * keeps its code and fields and gets the provider's name if it has none (a transport
 * error); anything else is `internal`.
 */
export function failed(thrown: unknown, provider: string): Outcome {
  const named = namedAfter(thrown, provider);
  return named.httpStatus === undefined
    ? { ok: false, error: named }
    : { ok: false, error: named, httpStatus: named.httpStatus };
}

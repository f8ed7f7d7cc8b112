/**
 * Small constructors for the PushErrors this provider raises itself (not mapped from a
 * response), so every message starts with `apns:` and carries the provider name.
 */

import type { PushErrorCode, PushErrorOptions } from '../../errors.js';
import { PushError, toPushError } from '../../errors.js';
import type { Outcome } from '../../provider.js';

export const PROVIDER_NAME = 'apns';

export function apnsError(code: PushErrorCode, message: string, options: PushErrorOptions = {}): PushError {
  return new PushError(code, `apns: ${message}`, { provider: PROVIDER_NAME, ...options });
}

/** A notification the provider refuses at `prepare`: the same for every device, never retryable. */
export function badRequest(message: string): PushError {
  return apnsError('bad-request', message);
}

/** Bad options at `apns()` time. */
export function configError(message: string, cause?: unknown): PushError {
  return apnsError('config', message, cause === undefined ? {} : { cause });
}

/** A send with a client certificate past its expiry: `auth`, it would fail for every device. */
export function certificateExpired(expiresAt: Date): PushError {
  return apnsError('auth', `the client certificate expired at ${expiresAt.toISOString()}`);
}

/**
 * Anything a send threw, as its failed outcome. Transport errors are PushErrors already
 * (timeout, unavailable, aborted, closed) and pass through; anything else is `internal`.
 */
export function failed(thrown: unknown): Outcome {
  return { ok: false, error: toPushError(thrown) };
}

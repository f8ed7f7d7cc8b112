/**
 * Small constructors for the PushErrors this provider raises itself (not mapped from a push
 * service's answer: see `responses.ts`). Option errors start with `webPush:`; the errors of a
 * send carry the provider's name (`name`, default `webpush`).
 */

import { namedAfter, PushError } from '../../errors.js';

/** Bad options or VAPID keys at `webPush()` time. */
export function configError(message: string, cause?: unknown): PushError {
  return new PushError('config', `webPush: ${message}`, cause === undefined ? {} : { cause });
}

/** A notification the provider refuses at `prepare`: the same for every device, never retryable. */
export function badRequest(message: string): PushError {
  return new PushError('bad-request', message);
}

/** A message that cannot fit one encrypted record, refused at `prepare`. */
export function payloadTooLarge(message: string): PushError {
  return new PushError('payload-too-large', message);
}

/** A subscription refused before any request (malformed, or its endpoint is refused). */
export function invalidSubscription(reason: string, provider: string): PushError {
  return new PushError('invalid-token', `invalid subscription: ${reason}`, { reason, provider });
}

/**
 * Why a message could not be encrypted: an off-curve `p256dh` is the subscription's fault
 * (`invalid-token`); anything else is ours (`internal`).
 */
export function encryptionError(cause: unknown, provider: string): PushError {
  if ((cause as { code?: string }).code === 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY') {
    const reason = 'subscription.keys.p256dh is not a point on the P-256 curve';
    return new PushError('invalid-token', reason, { reason, provider, cause });
  }
  if (cause instanceof PushError) return withProvider(cause, provider);
  return internalError(`webpush encryption: ${describe(cause)}`, provider, cause);
}

/** A thrown PushError named after the provider (a transport error has no provider yet); anything else is `internal`. */
export function withProvider(thrown: unknown, provider: string): PushError {
  if (thrown instanceof PushError) return namedAfter(thrown, provider);
  return internalError(`webpush transport: ${String(thrown)}`, provider, thrown);
}

/** A message still waiting for encryption when the provider closes: not retryable, the provider is gone. */
export function providerClosed(): PushError {
  return new PushError('closed', 'webpush: the provider is closed', { retryable: false });
}

/** A bug: something the send path threw that it should not have. */
export function internalError(message: string, provider: string, cause: unknown): PushError {
  return new PushError('internal', message, { provider, cause });
}

/** What a thrown value says, for a message. */
export function describe(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}

/**
 * When to try a device again. Exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff and Jitter"): many devices failing together must not retry together,
 * or the provider sees the same burst again — FCM deny-lists senders that retry badly.
 */
import { PushError } from '../errors.js';

export interface RetryOptions {
  /** Most requests per device, the first included. Default 5; 1 turns retries off. */
  maxAttempts?: number;
  /** Backoff base: the first retry waits up to this long. Default 500 ms. */
  baseDelayMs?: number;
  /** Cap on one computed backoff (a provider's Retry-After may exceed it). Default 60 s. */
  maxDelayMs?: number;
  /** Cap on the waiting a device may accumulate; past it the last error is final. Default 5 min. */
  maxTotalDelayMs?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  maxTotalDelayMs: 300_000,
};

export function retryPolicy(...layers: Array<RetryOptions | undefined>): RetryPolicy {
  const policy = { ...DEFAULT_RETRY };
  for (const layer of layers) {
    if (!layer) continue;
    for (const key of Object.keys(DEFAULT_RETRY) as Array<keyof RetryPolicy>) {
      const value = layer[key];
      if (value === undefined) continue;
      if (!Number.isFinite(value) || value < 0)
        throw new PushError(
          'config',
          `retry.${key} must be a number ≥ 0, got ${value} (leave it out for the default, ${DEFAULT_RETRY[key]})`,
        );
      policy[key] = value;
    }
  }
  if (policy.maxAttempts < 1)
    throw new PushError(
      'config',
      'retry.maxAttempts must be at least 1 (1 sends each device once, without retries)',
    );
  return policy;
}

/**
 * The delay before the next attempt, or `undefined` when the device must not be retried
 * (not retryable, attempts used up, or the wait would exceed the total budget).
 *
 * `attempts` is how many requests were already made; `waitedMs` the delay accumulated so far.
 */
export function nextRetryDelay(
  policy: RetryPolicy,
  error: PushError,
  attempts: number,
  waitedMs: number,
  random: () => number = Math.random,
): number | undefined {
  if (!error.retryable || attempts >= policy.maxAttempts) return undefined;
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempts - 1));
  let delay = random() * ceiling;
  if (error.retryAfterMs !== undefined) {
    // Honour the provider's Retry-After, spread by up to 10% so a crowd told "1 s" doesn't return as one burst.
    delay = Math.max(delay, error.retryAfterMs * (1 + 0.1 * random()));
  }
  delay = Math.round(delay);
  if (waitedMs + delay > policy.maxTotalDelayMs) return undefined;
  return delay;
}

/**
 * What to do with an attempt that may have been delivered (its request reached the provider
 * and no answer came back, `PushError.maybeDelivered`):
 *
 * - `'at-least-once'` (default): re-send it like any retryable failure. A lost alert is worse
 *   than a rare duplicate for most pushes, and a re-sent notification with a collapse key
 *   replaces the first on the device (README, "How a send behaves"). The device's feedback
 *   says `maybeDuplicate` if it ends sent, `maybeDelivered` if it does not.
 * - `'at-most-once'`: never re-send it. The device fails with that attempt's error,
 *   `retryable: false`, `maybeDelivered: true`. For pushes where a duplicate does harm
 *   (a one-time code, a payment prompt) and a missing one can be recovered by other means.
 *
 * Failures that provably did not deliver (an error status, a refused request, a connect
 * failure) are retried under both.
 */
export type DeliverySemantics = 'at-least-once' | 'at-most-once';

export function deliverySemantics(value: DeliverySemantics | undefined): DeliverySemantics {
  if (value === undefined || value === 'at-least-once' || value === 'at-most-once') {
    return value ?? 'at-least-once';
  }
  throw new PushError(
    'config',
    `delivery must be 'at-least-once' or 'at-most-once', got ${JSON.stringify(value)} (leave it out for 'at-least-once')`,
  );
}

/** Whether a failed attempt may be sent again at all under `semantics` (the retry budget aside). */
export function mayResend(semantics: DeliverySemantics, error: PushError): boolean {
  return !(error.maybeDelivered && semantics === 'at-most-once');
}

/**
 * How a feedback webhook's POST is signed, and how a receiver checks it (the Stripe/GitHub
 * scheme). Each request carries:
 *
 * | header | value |
 * |---|---|
 * | `pushline-webhook-id` | the batch's id (a UUID), the same on every retry of that batch: dedupe on it |
 * | `pushline-timestamp` | Unix time in seconds when this attempt was signed |
 * | `pushline-signature` | `sha256=<hex>`: HMAC-SHA256 with the shared secret over `timestamp + "." + body`; several entries separated by `,` while secrets are rotated (one per secret) |
 *
 * A receiver recomputes the HMAC over the raw body bytes as received (before any JSON
 * parsing), compares in constant time, and refuses a timestamp too far from its own clock, so
 * a captured request cannot be replayed later. In Node: `verifyWebhookSignature(secret,
 * req.headers, rawBody)`. In any language: `hex(hmac_sha256(secret, ts + "." + body))` equals
 * one of the `sha256=` entries, and `|now - ts| <= 300`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header names (lower case, as Node's `IncomingMessage.headers` has them). */
export const WEBHOOK_HEADERS = {
  id: 'pushline-webhook-id',
  timestamp: 'pushline-timestamp',
  signature: 'pushline-signature',
} as const;

/** Default tolerance between the signer's and the receiver's clocks, in seconds. */
export const DEFAULT_WEBHOOK_TOLERANCE_SEC = 300;

type Body = string | Uint8Array;

/** `sha256=<hex>` for one secret: HMAC-SHA256 over `timestamp + "." + body`. */
export function webhookSignature(secret: string, timestamp: number | string, body: Body): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestamp}.`);
  hmac.update(body);
  return `sha256=${hmac.digest('hex')}`;
}

/** The `pushline-signature` value: one entry per secret (more than one while rotating). */
export function webhookSignatureHeader(
  secrets: string | readonly string[],
  timestamp: number | string,
  body: Body,
): string {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  return list.map((secret) => webhookSignature(secret, timestamp, body)).join(',');
}

/** Headers as `fetch` (a `Headers`), Node's `req.headers`, or a plain object give them. */
export type WebhookHeaders =
  | { get(name: string): string | null }
  | Record<string, string | readonly string[] | undefined>;

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | readonly string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    // A plain object written by hand may use any case.
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value.join(',') : (value as string | undefined);
}

/**
 * True when `body` was signed by a holder of `secret` (or of any of `secret` when it is a
 * list, while rotating) less than `toleranceSec` seconds ago (either way, for clock skew).
 * `body` must be the raw bytes received, not re-serialised JSON. Comparisons are constant-time.
 */
export function verifyWebhookSignature(
  secret: string | readonly string[],
  headers: WebhookHeaders,
  body: Body,
  toleranceSec: number = DEFAULT_WEBHOOK_TOLERANCE_SEC,
  now: number = Date.now(),
): boolean {
  const timestamp = header(headers, WEBHOOK_HEADERS.timestamp)?.trim();
  const given = header(headers, WEBHOOK_HEADERS.signature);
  if (timestamp === undefined || given === undefined || !/^\d{1,15}$/.test(timestamp)) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSec) return false;
  const entries = given
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('sha256='))
    .map((entry) => Buffer.from(entry));
  const secrets = typeof secret === 'string' ? [secret] : secret;
  let ok = false;
  for (const key of secrets) {
    if (typeof key !== 'string' || key === '') continue;
    const expected = Buffer.from(webhookSignature(key, timestamp, body));
    for (const entry of entries) {
      // No early exit: the time taken does not depend on which entry matched.
      if (entry.length === expected.length && timingSafeEqual(entry, expected)) ok = true;
    }
  }
  return ok;
}

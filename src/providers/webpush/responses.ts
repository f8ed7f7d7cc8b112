/**
 * What push services answer (RFC 8030 §5 and the services' own error bodies), and what
 * pushline makes of it. The one place to read how a Web Push response becomes an outcome.
 *
 * | status | the service says | outcome |
 * |---|---|---|
 * | 201 | "Created": accepted, `Location` names the message (RFC 8030 §5) | sent, `messageId` = `Location` |
 * | other 2xx | Safari has answered 200 to expired endpoints (WebKit bug 249766) | sent |
 * | 400 | "Bad Request": malformed headers, bad TTL/Topic/Urgency, body that is not aes128gcm | `bad-request` |
 * | 401, 403 | VAPID rejected: FCM "the VAPID credentials in the authorization header do not correspond…", Apple `{"reason":"BadJwtToken"}`, Mozilla errno 109 | `auth` (stops the lane: the same key and claims go to every push service) |
 * | 401, 403 + key *mismatch* | FCM "…do not correspond to the credentials used to create the subscriptions" / "…sender ID used to subscribe this user", Mozilla "VAPID public key mismatch": this one subscription was made for another `applicationServerKey` | `bad-request` (not lane-stopping: stale subscriptions must not stop the send; not `invalid-token`: a wrong key would otherwise delete every subscription) |
 * | 404 | "Not Found": unknown or expired subscription (RFC 8030 §7.3) | `invalid-token` |
 * | 410 | "Gone": the subscription was removed (RFC 8030 §7.3) | `invalid-token` |
 * | 413 | "Payload Too Large" (RFC 8030 §7.2) | `payload-too-large` |
 * | 429 | "Too Many Requests", with `Retry-After` (RFC 8030 §8.4) | `rate-limited` (retryable) |
 * | 5xx | the service is failing, maybe with `Retry-After` | `unavailable` (retryable) |
 * | anything else | unexpected | `bad-request` (not retried) |
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { PushError, type PushErrorCode } from '../../errors.js';
import type { Outcome } from '../../provider.js';

/** How much of the service's body text is kept as the reason. */
const MAX_REASON_LENGTH = 300;

const KEY_MISMATCH = /mismatch|do(?:es)? not correspond to the (?:credentials|sender id) used to/i;

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function reasonFrom(body: Buffer, status: number): string {
  let text = body
    .subarray(0, MAX_REASON_LENGTH * 4)
    .toString('utf8')
    .trim();
  // Services answer JSON (`{"reason": …}`, autopush's `{"errno", "message"}`) or plain text.
  if (text.startsWith('{')) {
    try {
      const json = JSON.parse(text) as Record<string, unknown>;
      const parts = [json['reason'], json['message'], json['error']].filter((v) => typeof v === 'string');
      if (typeof json['errno'] === 'number') parts.push(`errno ${json['errno']}`);
      if (parts.length > 0) text = parts.join(': ');
    } catch {
      // Truncated or not JSON after all: keep the text.
    }
  }
  if (text === '') return `HTTP ${status}`;
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH)}…` : text;
}

/** Maps one push-service response to an outcome. */
export function outcomeFromResponse(
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
  provider: string,
): Outcome {
  if (status >= 200 && status < 300) {
    const location = firstHeader(headers['location']);
    return location === undefined
      ? { ok: true, httpStatus: status }
      : { ok: true, messageId: location, httpStatus: status };
  }
  const reason = reasonFrom(body, status);
  const fail = (code: PushErrorCode, message: string, extra: { retryAfterMs?: number } = {}): Outcome => ({
    ok: false,
    httpStatus: status,
    error: new PushError(code, `${message} (HTTP ${status}: ${reason})`, {
      reason,
      httpStatus: status,
      provider,
      ...extra,
    }),
  });
  switch (status) {
    case 404:
    case 410:
      return fail('invalid-token', 'the push service no longer knows this subscription: remove it');
    case 413:
      return fail('payload-too-large', 'the push service refused the message size');
    case 429:
      return fail('rate-limited', 'the push service asked to slow down', {
        retryAfterMs: parseRetryAfter(firstHeader(headers['retry-after'])),
      });
    case 400:
      return fail('bad-request', 'the push service refused the request');
    case 401:
    case 403:
      if (KEY_MISMATCH.test(reason)) {
        return fail('bad-request', 'the subscription was made for another VAPID key (applicationServerKey)');
      }
      return fail('auth', 'the push service rejected the VAPID authorization');
  }
  if (status >= 500) {
    return fail('unavailable', 'the push service is unavailable', {
      retryAfterMs: parseRetryAfter(firstHeader(headers['retry-after'])),
    });
  }
  return fail('bad-request', 'unexpected push service answer');
}

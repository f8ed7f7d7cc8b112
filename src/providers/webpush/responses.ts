/**
 * What push services answer (RFC 8030 §5 and the services' own error bodies), and what
 * pushline makes of it. The one place to read how a Web Push response becomes an outcome.
 *
 * | status | the service says | outcome |
 * |---|---|---|
 * | 201 | "Created": accepted, `Location` names the message (RFC 8030 §5) | sent, `messageId` = `Location` |
 * | other 2xx | Safari has answered 200 to expired endpoints (WebKit bug 249766) | sent |
 * | 400 | "Bad Request": malformed headers, bad TTL/Topic/Urgency, body that is not aes128gcm | `bad-request` |
 * | 401, 403 | VAPID rejected: Apple `{"reason":"BadJwtToken"}`, Mozilla errno 109, or whatever the server at that URL likes to say | `bad-request`, fault `vapid` (see below) |
 * | 401, 403 + key *mismatch* | FCM "…do not correspond to the credentials used to create the subscriptions" / "…sender ID used to subscribe this user", Mozilla "VAPID public key mismatch": this one subscription was made for another `applicationServerKey` | `bad-request` (not `invalid-token`: a wrong key would otherwise delete every subscription) |
 * | 404 | "Not Found": unknown or expired subscription (RFC 8030 §7.3) | `invalid-token` |
 * | 410 | "Gone": the subscription was removed (RFC 8030 §7.3) | `invalid-token` |
 * | 413 | "Payload Too Large" (RFC 8030 §7.2) | `payload-too-large` |
 * | 429 | "Too Many Requests", with `Retry-After` (RFC 8030 §8.4) | `rate-limited` (retryable) |
 * | 5xx | the service is failing, maybe with `Retry-After` | `unavailable` (retryable) |
 * | anything else (1xx, 3xx — redirects are never followed —, other 4xx) | unexpected | `bad-request` (not retried), fault `malformed` |
 *
 * **Who is blamed.** A subscription's endpoint is a URL a browser — or an attacker — chose, so
 * one server's 401/403 is not proof that *our* VAPID key is wrong: it may be a subscription
 * restricted to another key, a broken push service, or a server that answers 403 to everyone
 * in order to stop our sends. It fails that device (`bad-request`, never lane-stopping) and
 * counts as a `vapid` fault against that origin; `origin-circuit.ts` decides when an origin
 * fails fast, and when refusals by several independent, well-known push services are
 * evidence enough to stop the lane with `auth`.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { PushError, type PushErrorCode } from '../../errors.js';
import type { Outcome } from '../../provider.js';
import { parseRetryAfter } from '../../transport/retry-after.js';

/** How much of the service's body text is kept as the reason. */
const MAX_REASON_LENGTH = 300;

const KEY_MISMATCH = /mismatch|do(?:es)? not correspond to the (?:credentials|sender id) used to/i;

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
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

/**
 * What an answer says about the origin that gave it (see `origin-circuit.ts`):
 * - `vapid`: it refused our VAPID authorization (not a per-subscription key mismatch);
 * - `tls`: its certificate is not trusted (or the handshake refused);
 * - `malformed`: it answered something no push service answers (garbage, a redirect, a 418);
 * - `proxy`: our proxy refused to tunnel to it;
 * - `ok`: it answered like a working push service (2xx, 400, 404, 410, 413, key mismatch);
 * - `neutral`: says nothing either way (429, 5xx, a timeout, a lost connection).
 */
export type OriginVerdict = 'vapid' | 'tls' | 'malformed' | 'proxy' | 'ok' | 'neutral';

/** Maps one push-service response to an outcome. */
export function outcomeFromResponse(
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
  provider: string,
): Outcome {
  return classifyResponse(status, headers, body, provider).outcome;
}

/** Maps one push-service response to an outcome, and says what it tells about the origin. */
export function classifyResponse(
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
  provider: string,
): { outcome: Outcome; verdict: OriginVerdict } {
  if (status >= 200 && status < 300) {
    const location = firstHeader(headers['location']);
    const outcome: Outcome =
      location === undefined
        ? { ok: true, httpStatus: status }
        : { ok: true, messageId: location, httpStatus: status };
    return { outcome, verdict: 'ok' };
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
  const retryAfterMs = () => parseRetryAfter(headers['retry-after']);
  switch (status) {
    case 404:
    case 410:
      return {
        outcome: fail('invalid-token', 'the push service no longer knows this subscription: remove it'),
        verdict: 'ok',
      };
    case 413:
      return {
        outcome: fail('payload-too-large', 'the push service refused the message size'),
        verdict: 'ok',
      };
    case 429:
      return {
        outcome: fail('rate-limited', 'the push service asked to slow down', {
          retryAfterMs: retryAfterMs(),
        }),
        verdict: 'neutral',
      };
    case 400:
      return { outcome: fail('bad-request', 'the push service refused the request'), verdict: 'ok' };
    case 401:
    case 403:
      if (KEY_MISMATCH.test(reason)) {
        return {
          outcome: fail(
            'bad-request',
            'the subscription was made for another VAPID key (applicationServerKey)',
          ),
          verdict: 'ok',
        };
      }
      return {
        outcome: fail(
          'bad-request',
          "this subscription's push service refused our VAPID authorization (one server's refusal does not stop the send)",
        ),
        verdict: 'vapid',
      };
  }
  if (status >= 500) {
    return {
      outcome: fail('unavailable', 'the push service is unavailable', { retryAfterMs: retryAfterMs() }),
      verdict: 'neutral',
    };
  }
  return { outcome: fail('bad-request', 'unexpected push service answer'), verdict: 'malformed' };
}

/**
 * What push services answer (RFC 8030 §5 and the services' own error bodies), and what
 * pushline makes of it. The one place to read how a Web Push response becomes an outcome.
 *
 * Every answer is one entry of {@link WEB_PUSH_STATUSES} (by status) or one of the rules
 * beside it (2xx, a VAPID key mismatch, 5xx, anything else), with what the RFC or the services
 * say beside what pushline makes of it. Redirects are never followed: a 3xx is unexpected.
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

/** What a push service's answer means, and what pushline makes of it. */
export interface WebPushAnswer {
  /** What RFC 8030 (or the push services, in their own words) says the answer means. */
  said: string;
  code: PushErrorCode;
  /** pushline's message (the status and the service's reason are added to it). */
  message: string;
  verdict: OriginVerdict;
  /** Whether the answer's `Retry-After` is read (and the error is retryable, by its code). */
  retryAfter?: true;
}

const GONE: Omit<WebPushAnswer, 'said'> = {
  code: 'invalid-token',
  message: 'the push service no longer knows this subscription: remove it',
  verdict: 'ok',
};

const VAPID_REFUSED: WebPushAnswer = {
  said: 'VAPID rejected: Apple {"reason":"BadJwtToken"}, Mozilla errno 109, or whatever the server at that URL likes to say',
  code: 'bad-request',
  message:
    "this subscription's push service refused our VAPID authorization (one server's refusal does not stop the send)",
  verdict: 'vapid',
};

/** THE table: the answers with a meaning of their own, by HTTP status. */
export const WEB_PUSH_STATUSES: Readonly<Record<number, WebPushAnswer>> = {
  400: {
    said: '"Bad Request": malformed headers, bad TTL/Topic/Urgency, a body that is not aes128gcm',
    code: 'bad-request',
    message: 'the push service refused the request',
    verdict: 'ok',
  },
  401: VAPID_REFUSED,
  403: VAPID_REFUSED,
  404: { said: '"Not Found": unknown or expired subscription (RFC 8030 §7.3)', ...GONE },
  410: { said: '"Gone": the subscription was removed (RFC 8030 §7.3)', ...GONE },
  413: {
    said: '"Payload Too Large" (RFC 8030 §7.2)',
    code: 'payload-too-large',
    message: 'the push service refused the message size',
    verdict: 'ok',
  },
  429: {
    said: '"Too Many Requests", with Retry-After (RFC 8030 §8.4)',
    code: 'rate-limited',
    message: 'the push service asked to slow down',
    verdict: 'neutral',
    retryAfter: true,
  },
};

/**
 * 401/403 naming a key mismatch: this one subscription was made for another
 * `applicationServerKey`. `bad-request`, not `invalid-token`: a wrong key would otherwise
 * delete every subscription.
 */
export const KEY_MISMATCH_ANSWER: WebPushAnswer = {
  said: 'FCM "…do not correspond to the credentials used to create the subscriptions" / "…sender ID used to subscribe this user", Mozilla "VAPID public key mismatch"',
  code: 'bad-request',
  message: 'the subscription was made for another VAPID key (applicationServerKey)',
  verdict: 'ok',
};

/** Any 5xx. */
export const SERVER_ERROR_ANSWER: WebPushAnswer = {
  said: 'the service is failing, maybe with Retry-After',
  code: 'unavailable',
  message: 'the push service is unavailable',
  verdict: 'neutral',
  retryAfter: true,
};

/** Anything else: 1xx, 3xx (redirects are never followed), other 4xx. */
export const UNEXPECTED_ANSWER: WebPushAnswer = {
  said: 'nothing a push service answers',
  code: 'bad-request',
  message: 'unexpected push service answer',
  verdict: 'malformed',
};

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
    // 201 "Created" (RFC 8030 §5), `Location` naming the message; any other 2xx counts as sent
    // too (Safari has answered 200 to expired endpoints: WebKit bug 249766).
    const location = firstHeader(headers['location']);
    const outcome: Outcome =
      location === undefined
        ? { ok: true, httpStatus: status }
        : { ok: true, messageId: location, httpStatus: status };
    return { outcome, verdict: 'ok' };
  }
  const reason = reasonFrom(body, status);
  const answer =
    (status === 401 || status === 403) && KEY_MISMATCH.test(reason)
      ? KEY_MISMATCH_ANSWER
      : (WEB_PUSH_STATUSES[status] ?? (status >= 500 ? SERVER_ERROR_ANSWER : UNEXPECTED_ANSWER));
  const outcome: Outcome = {
    ok: false,
    httpStatus: status,
    error: new PushError(answer.code, `${answer.message} (HTTP ${status}: ${reason})`, {
      reason,
      httpStatus: status,
      provider,
      ...(answer.retryAfter ? { retryAfterMs: parseRetryAfter(headers['retry-after']) } : {}),
    }),
  };
  return { outcome, verdict: answer.verdict };
}

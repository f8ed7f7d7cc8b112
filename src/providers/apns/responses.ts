/**
 * THE table: every reason APNs answers with, what pushline does about it, and Apple's own
 * description beside it ("Handling notification responses from APNs", developer.apple.com).
 *
 * - `code` is the PushError code the device's feedback carries; `auth` and `config` stop the
 *   provider's lane in the engine (the same error would repeat for every device).
 * - `retryable` tells the engine whether another attempt may succeed.
 * - `action` is what the provider does itself before reporting: `refresh-token` mints a new
 *   JWT and re-sends once; `new-connection` retires the connection the answer came on.
 *
 * Who is blamed (issue #12). Lane-stopping answers are those about our credentials or our
 * configuration, and only those: the 403 reasons (Apple's status table: "There was an error
 * with the certificate or with the provider authentication token"), and `BadTopic`,
 * `MissingTopic`, `TopicDisallowed` (the topic comes from our options or the notification, the
 * same for every device of the send). Unlike a Web Push endpoint, nothing in an APNs request is
 * chosen by a device row except the token, which is checked as hex before it goes into
 * `:path`; what Apple says about a token is a 400 `BadDeviceToken`, a 400
 * `DeviceTokenNotForTopic` or a 410, all per device. The host is the operator's (`production`,
 * `endpoint`), so a TLS failure there is ours too (`config` in the transport). Reviewed against
 * Apple's "Handling notification responses from APNs": nothing here needed to change.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { PushErrorCode } from '../../errors.js';
import type { Outcome } from '../../provider.js';
import { parseRetryAfter } from '../../transport/retry-after.js';
import { apnsError } from './errors.js';

export type ReasonAction = 'refresh-token' | 'new-connection';

export interface ReasonEntry {
  /** The HTTP status Apple sends with this reason. */
  status: number;
  code: PushErrorCode;
  retryable: boolean;
  action?: ReasonAction;
  /** Apple's description of the reason. */
  apple: string;
  /** What the caller should do, added to the error message. */
  hint?: string;
}

export const REASONS = {
  // 400 — the request is wrong.
  BadCollapseId: {
    status: 400,
    code: 'bad-request',
    retryable: false,
    apple: 'The collapse identifier exceeds the maximum allowed size.',
  },
  BadDeviceToken: {
    status: 400,
    code: 'invalid-token',
    retryable: false,
    apple:
      'The specified device token is invalid. Verify that the request contains a valid token and that the token matches the environment.',
    hint: 'if every token fails this way, check `production`: sandbox tokens only work on the sandbox and vice versa',
  },
  BadExpirationDate: {
    status: 400,
    code: 'bad-request',
    retryable: false,
    apple: 'The apns-expiration value is invalid.',
  },
  BadMessageId: {
    status: 400,
    code: 'bad-request',
    retryable: false,
    apple: 'The apns-id value is invalid.',
  },
  BadPriority: {
    status: 400,
    code: 'bad-request',
    retryable: false,
    apple: 'The apns-priority value is invalid.',
  },
  BadTopic: {
    status: 400,
    code: 'config',
    retryable: false,
    apple: 'The apns-topic value is invalid.',
    hint: 'check the `topic` option (your app bundle id)',
  },
  DeviceTokenNotForTopic: {
    status: 400,
    code: 'invalid-token',
    retryable: false,
    apple: "The device token doesn't match the specified topic.",
  },
  DuplicateHeaders: {
    status: 400,
    code: 'bad-request',
    retryable: false,
    apple: 'One or more headers are repeated.',
  },
  IdleTimeout: {
    status: 400,
    code: 'unavailable',
    retryable: true,
    action: 'new-connection',
    apple: 'Idle timeout.',
  },
  InvalidPushType: {
    status: 400,
    code: 'bad-request',
    retryable: false,
    apple: 'The apns-push-type value is invalid.',
  },
  MissingDeviceToken: {
    status: 400,
    code: 'bad-request',
    retryable: false,
    apple:
      "The device token isn't specified in the request :path. Verify that the :path header contains the device token.",
  },
  MissingTopic: {
    status: 400,
    code: 'config',
    retryable: false,
    apple:
      "The apns-topic header of the request isn't specified and is required. The apns-topic header is mandatory when the client is connected using a certificate that supports multiple topics.",
    hint: 'set the `topic` option (your app bundle id)',
  },
  // Broadcast push (channel management and /4/broadcasts). Apple's sample error response for
  // these APIs is `{ "reason" : "MissingChannelId" }` ("Handling error responses from Apple Push
  // Notification service"); the rest of that table could not be read (docs/APNS-BROADCAST.md),
  // so other reasons of these APIs map by status (`entryForStatus`).
  MissingChannelId: {
    status: 400,
    code: 'bad-request',
    retryable: false,
    apple: 'The apns-channel-id header is missing (the reason of Apple’s sample error response).',
  },
  PayloadEmpty: {
    status: 400,
    code: 'bad-request',
    retryable: false,
    apple: 'The message payload is empty.',
  },
  TopicDisallowed: {
    status: 400,
    code: 'config',
    retryable: false,
    apple: 'Pushing to this topic is not allowed.',
    hint: 'the key or certificate is not allowed to push to this `topic`',
  },

  // 403 — authentication.
  BadCertificate: {
    status: 403,
    code: 'auth',
    retryable: false,
    apple: 'The certificate is invalid.',
    hint: 'check the `cert`/`pfx` option',
  },
  BadCertificateEnvironment: {
    status: 403,
    code: 'auth',
    retryable: false,
    apple: 'The client certificate is for the wrong environment.',
    hint: 'a development certificate works only with `production: false`, a production one only with `production: true`',
  },
  ExpiredProviderToken: {
    status: 403,
    code: 'auth',
    retryable: false,
    action: 'refresh-token',
    apple: 'The provider token is stale and a new token should be generated.',
    hint: "a freshly minted token was still refused as expired: check this machine's clock",
  },
  Forbidden: {
    status: 403,
    code: 'auth',
    retryable: false,
    apple: 'The specified action is not allowed.',
  },
  InvalidProviderToken: {
    status: 403,
    code: 'auth',
    retryable: false,
    apple: "The provider token is not valid, or the token signature can't be verified.",
    hint: 'check `teamId`, `keyId` and `key` (the .p8 file of that key id, not revoked)',
  },
  MissingProviderToken: {
    status: 403,
    code: 'auth',
    retryable: false,
    apple:
      'No provider certificate was used to connect to APNs, and the authorization header is missing or no provider token is specified.',
  },
  UnrelatedKeyIdInToken: {
    status: 403,
    code: 'unavailable',
    retryable: true,
    action: 'new-connection',
    apple:
      "The key ID in the provider token isn't related to the key ID of the token used in the first push of this connection. To use this token, open a new connection.",
  },
  BadEnvironmentKeyIdInToken: {
    status: 403,
    code: 'auth',
    retryable: false,
    apple: "The key ID in the provider token doesn't match the environment.",
    hint: 'the key is restricted to the other environment: check `production`',
  },

  // 404 / 405 — a bug in pushline.
  BadPath: {
    status: 404,
    code: 'internal',
    retryable: false,
    apple: 'The request contained an invalid :path value.',
  },
  MethodNotAllowed: {
    status: 405,
    code: 'internal',
    retryable: false,
    apple: "The specified :method value isn't POST.",
  },

  // 410 — the token is dead.
  ExpiredToken: {
    status: 410,
    code: 'invalid-token',
    retryable: false,
    apple: 'The device token has expired.',
  },
  Unregistered: {
    status: 410,
    code: 'invalid-token',
    retryable: false,
    apple:
      'The device token is inactive for the specified topic. There is no need to send further pushes to the same device token, unless your application retrieves the same device token.',
  },

  // 413
  PayloadTooLarge: {
    status: 413,
    code: 'payload-too-large',
    retryable: false,
    apple: 'The message payload is too large.',
  },

  // 429 — slow down.
  TooManyProviderTokenUpdates: {
    status: 429,
    code: 'rate-limited',
    retryable: true,
    apple:
      "The provider's authentication token is being updated too often. Update the authentication token no more than once every 20 minutes.",
    hint: 'several processes sharing one key each minted their own token: share one, or space their start-ups',
  },
  TooManyRequests: {
    status: 429,
    code: 'rate-limited',
    retryable: true,
    apple: 'Too many requests were made consecutively to the same device token.',
  },

  // 5xx — Apple's side.
  InternalServerError: {
    status: 500,
    code: 'unavailable',
    retryable: true,
    apple: 'An internal server error occurred.',
  },
  ServiceUnavailable: {
    status: 503,
    code: 'unavailable',
    retryable: true,
    apple: 'The service is unavailable.',
  },
  Shutdown: {
    status: 503,
    code: 'unavailable',
    retryable: true,
    action: 'new-connection',
    apple: 'The APNs server is shutting down.',
  },
} as const satisfies Record<string, ReasonEntry>;

export type ApnsReason = keyof typeof REASONS;

/** For a reason Apple adds later: the outcome by HTTP status class. */
export function entryForStatus(status: number): Pick<ReasonEntry, 'code' | 'retryable'> {
  if (status === 403) return { code: 'auth', retryable: false };
  if (status === 404 || status === 405) return { code: 'internal', retryable: false };
  if (status === 410) return { code: 'invalid-token', retryable: false };
  if (status === 413) return { code: 'payload-too-large', retryable: false };
  if (status === 429) return { code: 'rate-limited', retryable: true };
  if (status >= 500) return { code: 'unavailable', retryable: true };
  if (status >= 400) return { code: 'bad-request', retryable: false };
  return { code: 'internal', retryable: false };
}

/** What one response means: the outcome to report, and what to do first. */
export interface Interpretation {
  outcome: Outcome;
  reason?: string;
  action?: ReasonAction;
}

export interface ResponseLike {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Maps one APNs response to an outcome (status 200 is success; `apns-id` becomes `messageId`). */
export function interpretResponse(response: ResponseLike, environment: string): Interpretation {
  const { status, headers } = response;
  if (status === 200) {
    const apnsId = headerValue(headers['apns-id']);
    return {
      outcome:
        apnsId === undefined
          ? { ok: true, httpStatus: status }
          : { ok: true, messageId: apnsId, httpStatus: status },
    };
  }
  const body = parseErrorBody(response.body);
  const known =
    body.reason !== undefined && Object.hasOwn(REASONS, body.reason)
      ? REASONS[body.reason as ApnsReason]
      : undefined;
  const entry: Pick<ReasonEntry, 'code' | 'retryable' | 'apple' | 'hint' | 'action'> = known ?? {
    ...entryForStatus(status),
    apple: body.reason === undefined ? 'no reason given' : 'a reason pushline does not know yet',
  };
  const retryAfterMs = parseRetryAfter(headers['retry-after']);
  const invalidatedAt =
    entry.code === 'invalid-token' && body.timestamp !== undefined ? new Date(body.timestamp) : undefined;
  const what = body.reason ?? `HTTP ${status}`;
  let message = `${what} (${status}) from APNs ${environment}: ${entry.apple}`;
  if (entry.hint !== undefined) message += ` (${entry.hint})`;
  const error = apnsError(entry.code, message, {
    httpStatus: status,
    retryable: entry.retryable,
    ...(body.reason === undefined ? {} : { reason: body.reason }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(invalidatedAt === undefined ? {} : { invalidatedAt }),
  });
  return {
    outcome: { ok: false, error, httpStatus: status },
    ...(body.reason === undefined ? {} : { reason: body.reason }),
    ...(entry.action === undefined ? {} : { action: entry.action }),
  };
}

/** `{"reason": "...", "timestamp": <ms>}`; anything else (a proxy's HTML page) yields nothing. */
export function parseErrorBody(body: Buffer): { reason?: string; timestamp?: number } {
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object') return {};
    const { reason, timestamp } = parsed as Record<string, unknown>;
    const out: { reason?: string; timestamp?: number } = {};
    if (typeof reason === 'string' && reason !== '') out.reason = reason;
    // Apple: "The time, in milliseconds since Epoch, at which APNs confirmed the token was no longer valid for the topic."
    if (typeof timestamp === 'number' && Number.isFinite(timestamp) && timestamp > 0)
      out.timestamp = timestamp;
    return out;
  } catch {
    return {};
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

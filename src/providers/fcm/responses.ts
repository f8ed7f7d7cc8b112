/**
 * FCM HTTP v1 answers → pushline outcomes: the whole protocol table in one place.
 *
 * An error body is a `google.rpc.Status`:
 * `{"error": {"code": 404, "message": "...", "status": "NOT_FOUND", "details": [
 *    {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"},
 *    {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field", "description"}]}]}}`
 * The FCM `errorCode` decides when present; otherwise the rpc `status`, then the HTTP status.
 * Source: https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode and
 * https://firebase.google.com/docs/cloud-messaging/error-codes (the quoted words below).
 *
 * Which answers mean "our credentials are wrong" (lane-stopping `auth` / `config`)? Only those
 * about the request's sender: a 401 UNAUTHENTICATED without an FcmError detail (our OAuth token,
 * after one refresh), PERMISSION_DENIED without one (the service account's IAM role), NOT_FOUND
 * without one (the project id). FCM's host is ours to configure, not chosen by a device row,
 * and the token is the only untrusted input: answers about it carry an FcmError detail
 * (UNREGISTERED, SENDER_ID_MISMATCH, INVALID_ARGUMENT on `message.token`,
 * THIRD_PARTY_AUTH_ERROR), and none of those stops the lane.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { PushError, type PushErrorCode } from '../../errors.js';
import type { Outcome } from '../../provider.js';
import { parseRetryAfter } from '../../transport/retry-after.js';

interface Rule {
  code: PushErrorCode;
  retryable?: boolean;
  /** Google's words for it. */
  meaning: string;
}

/** By FCM `errorCode` (the `FcmError` detail). */
export const FCM_ERROR_CODES: Readonly<Record<string, Rule>> = {
  UNREGISTERED: {
    code: 'invalid-token',
    meaning:
      'App instance was unregistered from FCM. This usually means that the token used is no longer valid and a new one must be used.',
  },
  SENDER_ID_MISMATCH: {
    code: 'invalid-token',
    meaning: 'The authenticated sender ID is different from the sender ID for the registration token.',
  },
  // Refined below: an invalid token only when the field at fault is `message.token`.
  INVALID_ARGUMENT: { code: 'bad-request', meaning: 'Request parameters were invalid.' },
  QUOTA_EXCEEDED: {
    code: 'rate-limited',
    retryable: true,
    meaning: 'Sending limit exceeded for the message target.',
  },
  UNAVAILABLE: { code: 'unavailable', retryable: true, meaning: 'The server is overloaded.' },
  INTERNAL: { code: 'unavailable', retryable: true, meaning: 'An unknown internal error occurred.' },
  // Not lane-stopping: it is about the APNs / web push credential of the platform *this token*
  // belongs to, not about our service account. Google's words name "APNs certificate or web push
  // auth key"; it comes back for some tokens while others (every Android one) are delivered
  // (firebase/firebase-admin-node#3215: "some tokens fail with … THIRD_PARTY_AUTH_ERROR";
  // beste/laravel-firebase#164: iOS tokens fail, Android ones work). Stopping the lane would
  // let one iOS token stored as `android`, or one app of the project without an APNs key, stop
  // every Android device.
  THIRD_PARTY_AUTH_ERROR: {
    code: 'bad-request',
    meaning: 'APNs certificate or web push auth key was invalid or missing.',
  },
  UNSPECIFIED_ERROR: {
    code: 'internal',
    retryable: false,
    meaning: 'No more information is available about this error.',
  },
};

/** By `google.rpc.Status.status`, when there is no FcmError detail. */
export const RPC_STATUSES: Readonly<Record<string, Rule>> = {
  // The access token is refreshed once and the request re-sent before this applies (see provider.ts).
  UNAUTHENTICATED: {
    code: 'auth',
    meaning:
      'Request had invalid authentication credentials (the OAuth access token is missing, expired or wrong).',
  },
  PERMISSION_DENIED: {
    code: 'auth',
    meaning:
      "The caller does not have permission (the service account lacks 'cloudmessaging.messages.create' on the project).",
  },
  NOT_FOUND: { code: 'config', meaning: 'Requested entity was not found (wrong project id?).' },
  INVALID_ARGUMENT: { code: 'bad-request', meaning: 'Request contains an invalid argument.' },
  RESOURCE_EXHAUSTED: { code: 'rate-limited', retryable: true, meaning: 'Quota exceeded.' },
  UNAVAILABLE: { code: 'unavailable', retryable: true, meaning: 'The service is currently unavailable.' },
  INTERNAL: { code: 'unavailable', retryable: true, meaning: 'Internal error.' },
};

/** The token field, as FCM names it in `fieldViolations`. */
const TOKEN_FIELD = 'message.token';

export interface FcmErrorBody {
  code?: number;
  message?: string;
  status?: string;
  details?: Array<{
    '@type'?: string;
    errorCode?: string;
    fieldViolations?: Array<{ field?: string; description?: string }>;
  }>;
}

/** Parses a `google.rpc.Status` error body; undefined when it is not one. */
export function parseErrorBody(body: Buffer | string): FcmErrorBody | undefined {
  try {
    const parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as { error?: unknown };
    const error = parsed?.error;
    return error && typeof error === 'object' ? (error as FcmErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

/** The FCM `errorCode` of an error body, if it has an FcmError detail. */
export function fcmErrorCode(error: FcmErrorBody | undefined): string | undefined {
  for (const d of error?.details ?? []) {
    if (typeof d?.errorCode === 'string' && (d['@type'] ?? '').endsWith('google.firebase.fcm.v1.FcmError')) {
      return d.errorCode;
    }
  }
  return undefined;
}

/**
 * True when an INVALID_ARGUMENT is about the registration token: a BadRequest field violation
 * on `message.token`, or (FCM's usual answer, which has no field violation) the message
 * "The registration token is not a valid FCM registration token".
 */
export function blamesToken(error: FcmErrorBody | undefined): boolean {
  for (const d of error?.details ?? []) {
    for (const v of d?.fieldViolations ?? []) if (v?.field === TOKEN_FIELD) return true;
  }
  return /registration token/i.test(error?.message ?? '');
}

/** True for the answer that means "get a new access token": HTTP 401 with status UNAUTHENTICATED. */
export function isUnauthenticated(status: number, error: FcmErrorBody | undefined): boolean {
  return (
    status === 401 &&
    fcmErrorCode(error) === undefined &&
    (error?.status ?? 'UNAUTHENTICATED') === 'UNAUTHENTICATED'
  );
}

/** Maps one FCM HTTP response to an outcome. */
export function outcomeFromResponse(
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer | string,
  provider = 'fcm',
): Outcome {
  if (status === 200) {
    let name: string | undefined;
    try {
      const parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as {
        name?: unknown;
      };
      if (typeof parsed?.name === 'string') name = parsed.name;
    } catch {
      // fall through: a 200 without a message name is still accepted by FCM
    }
    return name === undefined
      ? { ok: true, httpStatus: 200 }
      : { ok: true, messageId: name, httpStatus: 200 };
  }
  const error = parseErrorBody(body);
  const errorCode = fcmErrorCode(error);
  const rpcStatus = error?.status;
  let rule: Rule | undefined = errorCode ? FCM_ERROR_CODES[errorCode] : undefined;
  if (!rule && rpcStatus) rule = RPC_STATUSES[rpcStatus];
  if (!rule) {
    rule =
      status === 429
        ? { code: 'rate-limited', retryable: true, meaning: 'Too many requests.' }
        : status >= 500
          ? { code: 'unavailable', retryable: true, meaning: 'Server error.' }
          : status === 401 || status === 403
            ? { code: 'auth', meaning: 'Not authorised.' }
            : { code: 'bad-request', meaning: 'Unexpected answer.' };
  }
  let code = rule.code;
  if ((errorCode ?? rpcStatus) === 'INVALID_ARGUMENT' && blamesToken(error)) code = 'invalid-token';
  const reason = errorCode ?? rpcStatus ?? `HTTP ${status}`;
  const said = error?.message ? `: ${error.message}` : '';
  const message =
    `fcm: ${status} ${reason}${said}` +
    (errorCode === 'THIRD_PARTY_AUTH_ERROR'
      ? ' (upload a valid APNs key / web push credentials in the Firebase console → Cloud Messaging)'
      : code === 'auth' && rpcStatus === 'PERMISSION_DENIED'
        ? ' (give the service account the "Firebase Cloud Messaging API Admin" role, and check projectId)'
        : '');
  const retryable = rule.retryable ?? false;
  const after = retryable ? parseRetryAfter(headers['retry-after']) : undefined;
  return {
    ok: false,
    httpStatus: status,
    error: new PushError(code, message, {
      provider,
      reason,
      httpStatus: status,
      retryable,
      ...(after !== undefined ? { retryAfterMs: after } : {}),
    }),
  };
}

/*
 * Topic management: the Instance ID server API (`POST https://iid.googleapis.com/iid/v1:batchAdd`
 * and `:batchRemove`). A 200 answers every token of the request, in order:
 * `{"results": [{}, {"error": "NOT_FOUND"}, …]}` — `{}` is done. The per-token error words and
 * their meanings are firebase-admin's (src/utils/error.ts, TOPIC_MGT_SERVER_TO_CLIENT_CODE;
 * the IID reference documents only the shape). Any other status answers the whole request.
 * See docs/FCM-TOPICS.md.
 */

/** By the per-token `error` of a topic-management answer. */
export const TOPIC_ERRORS: Readonly<Record<string, Rule>> = {
  // firebase-admin: messaging/registration-token-not-registered.
  NOT_FOUND: {
    code: 'invalid-token',
    meaning: 'The registration token is not registered (the app was uninstalled or the token expired).',
  },
  // firebase-admin: messaging/invalid-registration-token.
  INVALID_ARGUMENT: { code: 'invalid-token', meaning: 'The registration token is not a valid one.' },
  // firebase-admin: messaging/too-many-topics. Retrying the same token cannot help.
  TOO_MANY_TOPICS: {
    code: 'bad-request',
    meaning: 'The registration token is subscribed to the most topics allowed (2,000).',
  },
  // firebase-admin maps it to too-many-topics (older) or topics-subscription-rate-exceeded
  // (newer); either way a later request may succeed, so it is retried with backoff.
  RESOURCE_EXHAUSTED: {
    code: 'rate-limited',
    retryable: true,
    meaning: 'Too many subscription requests, or too many topics for this token.',
  },
  // firebase-admin: messaging/authentication-error. About our credentials: stops the lane.
  PERMISSION_DENIED: {
    code: 'auth',
    meaning: "The credentials may not manage this project's topics (check the IAM role and project).",
  },
  DEADLINE_EXCEEDED: { code: 'unavailable', retryable: true, meaning: 'The server timed out.' },
  INTERNAL: { code: 'unavailable', retryable: true, meaning: 'An internal error occurred.' },
  UNKNOWN: { code: 'internal', meaning: 'An unknown error occurred.' },
};

/** A whole topic-management request's failure, by HTTP status (the body's words quoted). */
function topicRequestRule(status: number): Rule {
  if (status === 429) return { code: 'rate-limited', retryable: true, meaning: 'Too many requests.' };
  if (status >= 500) return { code: 'unavailable', retryable: true, meaning: 'Server error.' };
  if (status === 401 || status === 403) return { code: 'auth', meaning: 'Not authorised.' };
  if (status === 404) return { code: 'config', meaning: 'Not found (wrong topic endpoint?).' };
  return { code: 'bad-request', meaning: 'The request was refused.' };
}

/** The words of an error body in either shape: `{"error": "…"}` or a `google.rpc.Status`. */
function topicErrorWords(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown };
    const error = parsed?.error;
    if (typeof error === 'string') return error;
    const rpc = error as FcmErrorBody | undefined;
    if (rpc && typeof rpc === 'object')
      return [rpc.status, rpc.message].filter(Boolean).join(': ') || undefined;
  } catch {
    // Not JSON: reported by status.
  }
  return undefined;
}

/**
 * Maps one topic-management answer to one outcome per token (`count` of them, in request
 * order). A per-token error that stops the lane (PERMISSION_DENIED) is reported on its tokens.
 */
export function topicOutcomes(
  status: number,
  headers: IncomingHttpHeaders,
  body: Buffer,
  count: number,
  provider = 'fcm',
): Outcome[] {
  if (status !== 200) {
    const rule = topicRequestRule(status);
    const words = topicErrorWords(body);
    const after = rule.retryable ? parseRetryAfter(headers['retry-after']) : undefined;
    const error = new PushError(
      rule.code,
      `fcm: topic management answered ${status}${words ? ` (${words})` : ''}: ${rule.meaning}`,
      {
        provider,
        reason: words?.split(':')[0] ?? `HTTP ${status}`,
        httpStatus: status,
        retryable: rule.retryable ?? false,
        ...(after !== undefined ? { retryAfterMs: after } : {}),
      },
    );
    const outcome: Outcome = { ok: false, error, httpStatus: status };
    return new Array<Outcome>(count).fill(outcome);
  }
  let results: unknown;
  try {
    results = (JSON.parse(body.toString('utf8')) as { results?: unknown })?.results;
  } catch {
    results = undefined;
  }
  if (!Array.isArray(results) || results.length !== count) {
    const got = Array.isArray(results) ? `${results.length} results` : 'no results';
    const error = new PushError(
      'internal',
      `fcm: topic management answered 200 with ${got} for ${count} tokens; each token's result is unknown`,
      { provider, reason: 'BadResults', httpStatus: 200 },
    );
    return new Array<Outcome>(count).fill({ ok: false, error, httpStatus: 200 });
  }
  const done: Outcome = { ok: true, httpStatus: 200 };
  // One PushError per distinct error word, shared by its tokens (a dead-token heavy batch
  // makes one object, not hundreds).
  const byWord = new Map<string, Outcome>();
  return results.map((result: unknown) => {
    const word = (result as { error?: unknown } | null)?.error;
    if (word === undefined) return done;
    const key = typeof word === 'string' ? word : 'UNKNOWN';
    let outcome = byWord.get(key);
    if (outcome === undefined) {
      const rule = TOPIC_ERRORS[key] ?? TOPIC_ERRORS['UNKNOWN']!;
      outcome = {
        ok: false,
        httpStatus: 200,
        error: new PushError(rule.code, `fcm: topic management: ${key}: ${rule.meaning}`, {
          provider,
          reason: key,
          httpStatus: 200,
          retryable: rule.retryable ?? false,
        }),
      };
      byWord.set(key, outcome);
    }
    return outcome;
  });
}

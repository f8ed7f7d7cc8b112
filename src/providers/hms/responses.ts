/**
 * What Huawei Push Kit answers a send (v1), and what pushline makes of it: the whole protocol
 * table in one place, Huawei's words beside each entry. Sources: the HMS Core reference
 * "下行消息" (Sending Downlink Messages, CN edition, quotations translated; the English texts
 * come from Huawei's Java server demo, `ResponceCodeProcesser.java`), summarised in
 * ../shared/HMS.md §4.
 *
 * A response is `{"code":"80000000","msg":"Success","requestId":"…"}`: the business `code`
 * decides, for every token of the request at once — except partial success (80100000), whose
 * `msg` is a JSON object in a string naming the invalid tokens:
 *   v1: `{"success":3,"failure":1,"illegal_tokens":["xxx"]}`
 *   v3: `{"success":1,"failure":1,"illegalTokens":{"tokenFormatError":["xxx"]}}` (reason → tokens)
 * Both are accepted. The listed tokens fail; every other token of the request was delivered,
 * and is reported `sent` — never re-sent.
 *
 * HTTP 503 is Huawei's flow control (流量控制) and 502 a connection error: nothing of the
 * request was delivered, so the whole batch is retried with backoff (Huawei documents no
 * `Retry-After`). 80200001/80200003 (OAuth token rejected or expired) make the provider fetch a
 * new token and re-send once (provider.ts) before they count as `auth`.
 *
 * Who is blamed: only the codes about our credentials or the app's settings in AppGallery
 * Connect stop the lane (`auth`, `config`). 80300007 "all tokens invalid" is also what a wrong
 * app id or package name gives, so the provider trusts it only once this send has had a
 * success (provider.ts); before that it stops the lane as `config` instead of declaring every
 * token dead.
 */
import { PushError, type PushErrorCode } from '../../errors.js';
import type { Outcome } from '../../provider.js';

/** What a business code does to the devices of the request. */
export type HmsAction =
  /** Every device sent. */
  | 'sent'
  /** Listed tokens fail (`invalid-token`), the others are sent. */
  | 'partial'
  /** Every token invalid — or a configuration error (provider.ts decides). */
  | 'all-invalid'
  /** Get a new access token and re-send once; then `auth`. */
  | 'reauth'
  /** Every device fails with the rule's code (retried when retryable). */
  | 'fail';

export interface HmsRule {
  action: HmsAction;
  /** The PushError code for `fail` (and for `reauth` once the re-send did not help). */
  code?: PushErrorCode;
  retryable?: boolean;
  /** Huawei's words for it. */
  meaning: string;
}

/** By business `code` (v1/v2 send API). */
export const HMS_RESULT_CODES: Readonly<Record<string, HmsRule>> = {
  '80000000': { action: 'sent', meaning: 'Success.' },
  '80100000': {
    action: 'partial',
    meaning:
      'Some tokens are right, the others are illegal: the message was sent to some tokens; illegal_tokens in msg lists the invalid ones.',
  },
  '80100001': {
    action: 'fail',
    code: 'bad-request',
    meaning: 'Parameters check error: some request parameters failed checks (e.g. msg "UnSupported svc").',
  },
  '80100002': {
    action: 'fail',
    code: 'bad-request',
    meaning: 'Token number should be one when send sys message.',
  },
  '80100003': {
    action: 'fail',
    code: 'bad-request',
    meaning: 'Illegal payload: the message structure is wrong.',
  },
  '80100004': {
    action: 'fail',
    code: 'bad-request',
    meaning: 'The message expiry time (TTL) is earlier than the current time.',
  },
  '80100013': { action: 'fail', code: 'bad-request', meaning: 'collapse_key is illegal.' },
  '80100016': { action: 'fail', code: 'bad-request', meaning: 'The message contains sensitive content.' },
  '80100017': {
    action: 'fail',
    code: 'rate-limited',
    retryable: true,
    meaning: 'More than 100 topic tasks are running at once; retry later, spaced out.',
  },
  '80100018': {
    action: 'fail',
    code: 'bad-request',
    meaning: 'The message body failed signature verification (third-party content review mismatch).',
  },
  '80200001': {
    action: 'reauth',
    code: 'auth',
    meaning:
      "OAuth authentication error: the Authorization header is missing or empty, or the access token belongs to another app's client id.",
  },
  '80200003': { action: 'reauth', code: 'auth', meaning: 'OAuth token expired.' },
  '80200005': {
    action: 'fail',
    code: 'auth',
    meaning: 'The JWT (service-account authentication) has expired.',
  },
  '80300002': {
    action: 'fail',
    code: 'config',
    meaning:
      'The app is not allowed to send: Push Kit is not enabled in AppGallery Connect, the app lacks rights in this region, or the token does not belong to this app.',
  },
  '80300007': {
    action: 'all-invalid',
    code: 'invalid-token',
    meaning:
      'All the tokens are invalid (Java demo: "Invalid Token"). Causes listed by Huawei: the same value used for different apps, a package name or app id that does not match AppGallery Connect, a wrong send URL.',
  },
  '80300008': {
    action: 'fail',
    code: 'payload-too-large',
    meaning: 'The message body (tokens excluded) exceeds 4,096 bytes.',
  },
  '80300010': {
    action: 'fail',
    code: 'bad-request',
    meaning: 'The number of tokens exceeds the system default (1 to 1,000), or the token list is empty.',
  },
  '80300011': {
    action: 'fail',
    code: 'config',
    meaning: 'The app has no permission to send high-priority (important) notifications.',
  },
  '80300013': {
    action: 'fail',
    code: 'config',
    meaning: 'The receipt URL is wrong or the receipt certificate has expired.',
  },
  '80600003': {
    action: 'fail',
    code: 'auth',
    meaning: 'The request to the OAuth service failed: check the client id and client secret.',
  },
  '81000001': {
    action: 'fail',
    code: 'unavailable',
    retryable: true,
    meaning: 'System internal error.',
  },
};

/** By HTTP status, when it decides before the body (flow control) or there is no business code. */
export const HMS_HTTP_STATUSES: Readonly<Record<number, HmsRule>> = {
  503: {
    action: 'fail',
    code: 'rate-limited',
    retryable: true,
    meaning: 'Traffic control (流量控制): spread sends evenly and stay within the QPS quota.',
  },
  502: {
    action: 'fail',
    code: 'unavailable',
    retryable: true,
    meaning: 'Connection error ("network unstable"): retry later.',
  },
  500: { action: 'fail', code: 'unavailable', retryable: true, meaning: 'Internal error.' },
  401: { action: 'reauth', code: 'auth', meaning: 'Authentication failure: check Authorization.' },
  404: { action: 'fail', code: 'config', meaning: 'Service not found: check the URL (endpoint, appId).' },
};

/**
 * v3 `illegalTokens` reasons that say the token itself is unusable: those tokens are
 * `invalid-token`. Every other reason (noRight, countryNotSupport, appinfoError,
 * disableSendHuaweiMsgBecauseOfPenalty, …) is about the app's rights or settings, not the
 * device: that token fails `bad-request` under the reason's name and is kept.
 */
export const V3_DEAD_TOKEN_REASONS: ReadonlySet<string> = new Set(['tokenFormatError']);

/** How much of Huawei's `msg` is quoted in an error message. */
const MAX_QUOTED = 200;

/** What an answer does to the request's devices. */
export type BatchAnswer =
  | { kind: 'outcomes'; outcomes: Outcome[]; delivered: boolean }
  | { kind: 'reauth'; error: PushError }
  | {
      kind: 'all-invalid';
      /** The per-device outcomes if the answer is believed (every token dead, or v3 reasons). */
      outcomes: Outcome[];
      code: string;
      said: string;
      httpStatus: number;
    };

interface HmsBody {
  code: string | undefined;
  msg: string | undefined;
  requestId: string | undefined;
}

function parseBody(body: Buffer): HmsBody | undefined {
  try {
    const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    if (!json || typeof json !== 'object') return undefined;
    const code = json['code'];
    const msg = json['msg'];
    const requestId = json['requestId'];
    return {
      code: typeof code === 'string' ? code : typeof code === 'number' ? String(code) : undefined,
      msg: typeof msg === 'string' ? msg : msg === undefined ? undefined : JSON.stringify(msg),
      requestId: typeof requestId === 'string' && requestId !== '' ? requestId : undefined,
    };
  } catch {
    return undefined;
  }
}

/** The invalid tokens named by a partial answer's `msg`: token → its reason. Undefined when `msg` is unreadable. */
export function illegalTokens(msg: string | undefined): Map<string, string> | undefined {
  if (msg === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(msg);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const record = parsed as Record<string, unknown>;
  const out = new Map<string, string>();
  const v1 = record['illegal_tokens'];
  const v3 = record['illegalTokens'];
  if (v1 === undefined && v3 === undefined) return undefined;
  if (Array.isArray(v1))
    for (const token of v1) if (typeof token === 'string') out.set(token, 'illegal_tokens');
  if (v3 && typeof v3 === 'object' && !Array.isArray(v3)) {
    for (const [reason, tokens] of Object.entries(v3 as Record<string, unknown>)) {
      if (!Array.isArray(tokens)) continue;
      for (const token of tokens) if (typeof token === 'string') out.set(token, reason);
    }
  }
  return out;
}

function quote(text: string | undefined): string {
  if (text === undefined || text === '') return '';
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > MAX_QUOTED ? `${flat.slice(0, MAX_QUOTED)}…` : flat;
}

/** One PushError for a listed token, by its reason. */
function listedTokenError(reason: string, code: string, httpStatus: number, provider: string): PushError {
  const dead = reason === 'illegal_tokens' || V3_DEAD_TOKEN_REASONS.has(reason);
  return dead
    ? new PushError('invalid-token', `hms: ${code}: Huawei lists this token as invalid (${reason})`, {
        provider,
        reason: `${code} ${reason}`,
        httpStatus,
      })
    : new PushError(
        'bad-request',
        `hms: ${code}: Huawei refused this token for "${reason}" (about the app's rights or settings, not the device: the token is kept)`,
        { provider, reason: `${code} ${reason}`, httpStatus },
      );
}

/**
 * Per-device outcomes from a map of listed tokens: listed ones fail by their reason; the
 * others get `rest`. One PushError per reason, shared by its tokens.
 */
function perToken(
  tokens: readonly string[],
  listed: Map<string, string>,
  rest: (token: string) => Outcome,
  code: string,
  httpStatus: number,
  provider: string,
): Outcome[] {
  const byReason = new Map<string, Outcome>();
  return tokens.map((token) => {
    const reason = listed.get(token);
    if (reason === undefined) return rest(token);
    let outcome = byReason.get(reason);
    if (!outcome) {
      outcome = { ok: false, error: listedTokenError(reason, code, httpStatus, provider), httpStatus };
      byReason.set(reason, outcome);
    }
    return outcome;
  });
}

function everyDevice(tokens: readonly string[], outcome: Outcome): Outcome[] {
  return tokens.map(() => outcome);
}

/** Maps one answer to a request carrying `tokens` (in the request's order). */
export function answerBatch(
  status: number,
  rawBody: Buffer,
  tokens: readonly string[],
  provider = 'hms',
): BatchAnswer {
  const body = parseBody(rawBody);
  const code = body?.code;
  // Flow control and gateway errors come before any body (which may be an HTML page).
  let rule: HmsRule | undefined = status === 503 || status === 502 ? HMS_HTTP_STATUSES[status] : undefined;
  rule ??= code === undefined ? undefined : HMS_RESULT_CODES[code];
  rule ??= HMS_HTTP_STATUSES[status];
  const said = quote(body?.msg ?? (body ? undefined : rawBody.subarray(0, 400).toString('utf8')));
  const reason = code ?? `HTTP ${status}`;
  const describe = (meaning: string) => `hms: ${status} ${reason}${said ? ` "${said}"` : ''}: ${meaning}`;

  /** Every device of the batch failed with one error: nothing was delivered. */
  const failedBatch = (code: PushErrorCode, meaning: string, retryable: boolean) => {
    const error = new PushError(code, describe(meaning), { provider, reason, httpStatus: status, retryable });
    return {
      kind: 'outcomes' as const,
      outcomes: everyDevice(tokens, { ok: false, error, httpStatus: status }),
      delivered: false,
    };
  };

  if (!rule) {
    // A code not in the table: not retried, nothing deleted, Huawei's words kept.
    const retryable = status >= 500;
    return failedBatch(retryable ? 'unavailable' : 'bad-request', 'unknown answer', retryable);
  }

  switch (rule.action) {
    case 'sent': {
      const ok: Outcome = body?.requestId
        ? { ok: true, httpStatus: status, messageId: body.requestId }
        : { ok: true, httpStatus: status };
      return { kind: 'outcomes', outcomes: everyDevice(tokens, ok), delivered: tokens.length > 0 };
    }
    case 'partial': {
      const listed = illegalTokens(body?.msg);
      if (!listed) {
        // Some were delivered, which is unknown: not re-sent (most were), not deleted either.
        const error = new PushError(
          'internal',
          describe(
            'partial success, but msg does not say which tokens failed; not re-sent, since most were delivered',
          ),
          { provider, reason, httpStatus: status, retryable: false, maybeDelivered: true },
        );
        return {
          kind: 'outcomes',
          outcomes: everyDevice(tokens, { ok: false, error, httpStatus: status }),
          delivered: true,
        };
      }
      const ok: Outcome = body?.requestId
        ? { ok: true, httpStatus: status, messageId: body.requestId }
        : { ok: true, httpStatus: status };
      const outcomes = perToken(tokens, listed, () => ok, code ?? '80100000', status, provider);
      return { kind: 'outcomes', outcomes, delivered: outcomes.some((outcome) => outcome.ok) };
    }
    case 'all-invalid': {
      const listed = illegalTokens(body?.msg) ?? new Map<string, string>();
      const dead = new PushError('invalid-token', describe(rule.meaning), {
        provider,
        reason,
        httpStatus: status,
      });
      const outcomes = perToken(
        tokens,
        listed,
        () => ({ ok: false, error: dead, httpStatus: status }),
        reason,
        status,
        provider,
      );
      return { kind: 'all-invalid', outcomes, code: reason, said, httpStatus: status };
    }
    case 'reauth':
      return {
        kind: 'reauth',
        error: new PushError('auth', describe(rule.meaning), { provider, reason, httpStatus: status }),
      };
    default:
      return failedBatch(rule.code ?? 'bad-request', rule.meaning, rule.retryable ?? false);
  }
}

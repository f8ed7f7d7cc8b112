/**
 * Strict checking of a v1 send request, as Huawei checks it (HMS.md §3 and go-hms-push's
 * verifier): the one-target rule, the token count, the 4,096-byte limit (tokens excluded),
 * the `data` string, the Android fields' formats, and that a notification message has a
 * `click_action` and a title and body from somewhere. Every problem becomes the result code
 * Huawei gives for it, with a `msg` that says what is wrong.
 */

export type SendTarget =
  | { kind: 'token'; tokens: string[] }
  | { kind: 'topic'; value: string }
  | { kind: 'condition'; value: string };

export type Verdict =
  | { ok: true; message: Record<string, unknown>; target: SendTarget; validateOnly: boolean }
  | { ok: false; code: string; msg: string };

export const MAX_TOKENS = 1000;
export const MAX_BODY_BYTES_WITHOUT_TOKENS = 4096;
const MAX_TTL_S = 1_296_000;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const illegal = (what: string): Verdict => ({ ok: false, code: '80100003', msg: `Illegal payload, ${what}` });
const paramError = (what: string): Verdict => ({ ok: false, code: '80100001', msg: what });

function checkString(obj: Json, field: string, path: string): string | undefined {
  const v = obj[field];
  if (v !== undefined && typeof v !== 'string') return `${path}.${field} must be a string`;
  return undefined;
}

function checkAndroidNotification(n: Json, common: Json | undefined): string | undefined {
  for (const f of [
    'title',
    'body',
    'icon',
    'sound',
    'tag',
    'channel_id',
    'image',
    'group',
    'ticker',
    'when',
  ]) {
    const problem = checkString(n, f, 'android.notification');
    if (problem) return problem;
  }
  if (n['color'] !== undefined && !(typeof n['color'] === 'string' && /^#[0-9a-fA-F]{6}$/.test(n['color']))) {
    return 'android.notification.color must be #RRGGBB';
  }
  if (n['default_sound'] === false && typeof n['sound'] !== 'string') {
    return 'android.notification.sound is required when default_sound is false';
  }
  if (n['importance'] !== undefined && n['importance'] !== 'LOW' && n['importance'] !== 'NORMAL') {
    return 'android.notification.importance must be LOW or NORMAL';
  }
  const badge = n['badge'];
  if (
    badge !== undefined &&
    !(isObject(badge) && typeof badge['class'] === 'string' && badge['class'] !== '')
  ) {
    return 'android.notification.badge.class is mandatory';
  }
  const click = n['click_action'];
  if (!isObject(click)) return 'android.notification.click_action is mandatory for a notification message';
  const type = click['type'];
  if (type === 1) {
    if (typeof click['intent'] !== 'string' && typeof click['action'] !== 'string') {
      return 'click_action type 1 needs intent or action';
    }
  } else if (type === 2) {
    if (typeof click['url'] !== 'string' || !click['url'].startsWith('https://')) {
      return 'click_action type 2 needs an https url';
    }
  } else if (type !== 3) {
    return 'click_action.type must be 1, 2 or 3';
  }
  // "Before a message is sent, you must set at least one of title and message.notification.title" (body alike).
  for (const field of ['title', 'body']) {
    const given =
      typeof common?.[field] === 'string' ||
      typeof n[field] === 'string' ||
      typeof n[`${field}_loc_key`] === 'string';
    if (!given)
      return `${field} is mandatory for a notification message (message.notification or android.notification)`;
  }
  return undefined;
}

/** Checks a parsed request; `bodyBytes` is the request body's size in bytes. */
export function validateSendRequest(parsed: unknown, bodyBytes: number): Verdict {
  if (!isObject(parsed)) return illegal('the body is not a JSON object');
  const validateOnly = parsed['validate_only'];
  if (validateOnly !== undefined && typeof validateOnly !== 'boolean') {
    return paramError('validate_only must be a boolean');
  }
  const message = parsed['message'];
  // Huawei answers a missing (or misspelt) `message` with the token-count code.
  if (!isObject(message))
    return { ok: false, code: '80300010', msg: 'the message is missing, so is its token list' };

  const targets = (['token', 'topic', 'condition'] as const).filter((key) => message[key] !== undefined);
  if (targets.length !== 1) return paramError('token, topic or condition must be choice one');
  let target: SendTarget;
  let tokenBytes = 0;
  if (targets[0] === 'token') {
    const tokens = message['token'];
    if (!Array.isArray(tokens) || tokens.length === 0 || tokens.length > MAX_TOKENS) {
      return {
        ok: false,
        code: '80300010',
        msg: `the number of tokens must be 1 to ${MAX_TOKENS}, got ${Array.isArray(tokens) ? tokens.length : 'no list'}`,
      };
    }
    if (!tokens.every((t) => typeof t === 'string' && t !== ''))
      return paramError('every token must be a non-empty string');
    target = { kind: 'token', tokens: tokens as string[] };
    tokenBytes = Buffer.byteLength(JSON.stringify(tokens));
  } else {
    const value = message[targets[0]!];
    if (typeof value !== 'string' || value === '')
      return paramError(`${targets[0]} must be a non-empty string`);
    target = { kind: targets[0] as 'topic' | 'condition', value };
  }
  if (bodyBytes - tokenBytes > MAX_BODY_BYTES_WITHOUT_TOKENS) {
    return {
      ok: false,
      code: '80300008',
      msg: `the message body is ${bodyBytes - tokenBytes} bytes without its tokens; at most ${MAX_BODY_BYTES_WITHOUT_TOKENS}`,
    };
  }

  if (message['data'] !== undefined && typeof message['data'] !== 'string')
    return illegal('message.data must be a string');
  const common = message['notification'];
  if (common !== undefined) {
    if (!isObject(common)) return illegal('message.notification must be an object');
    for (const f of ['title', 'body', 'image']) {
      const problem = checkString(common, f, 'message.notification');
      if (problem) return illegal(problem);
    }
    if (typeof common['image'] === 'string' && !common['image'].startsWith('https://')) {
      return illegal('message.notification.image must be an https URL');
    }
  }
  const android = message['android'];
  if (android !== undefined && !isObject(android)) return illegal('message.android must be an object');
  const a = (android ?? {}) as Json;
  const collapse = a['collapse_key'];
  if (
    collapse !== undefined &&
    !(Number.isInteger(collapse) && (collapse as number) >= -1 && (collapse as number) <= 100)
  ) {
    return { ok: false, code: '80100013', msg: 'collapse_key is illegal' };
  }
  if (a['urgency'] !== undefined && a['urgency'] !== 'HIGH' && a['urgency'] !== 'NORMAL') {
    return illegal('android.urgency must be HIGH or NORMAL');
  }
  if (a['ttl'] !== undefined) {
    const m = typeof a['ttl'] === 'string' ? /^(\d+)(\.\d+)?s$/.exec(a['ttl']) : null;
    if (!m || Number(m[1]) > MAX_TTL_S)
      return illegal(`android.ttl must be like "86400s", at most ${MAX_TTL_S}s`);
  }
  if (a['data'] !== undefined && typeof a['data'] !== 'string')
    return illegal('android.data must be a string');
  const androidNotification = a['notification'];
  const isNotification = common !== undefined || androidNotification !== undefined;
  if (isNotification) {
    if (!isObject(androidNotification)) {
      return illegal('android.notification with a click_action is mandatory for a notification message');
    }
    const problem = checkAndroidNotification(androidNotification, isObject(common) ? common : undefined);
    if (problem) return illegal(problem);
  } else if (typeof message['data'] !== 'string' && typeof a['data'] !== 'string') {
    return illegal('a message needs a notification or data');
  }
  return { ok: true, message, target, validateOnly: validateOnly === true };
}

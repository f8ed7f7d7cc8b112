/**
 * gorush's answers to `POST /api/push`, in gorush's exact shape and bytes where clients can
 * see them: the key order of Go's map encoding (sorted), Go's HTML-safe escaping, its three
 * 400 messages, and its failure log entries with tokens masked as gorush masks them.
 */
import type { FeedbackRecord } from '../../queue/dispatch.js';
import type { GorushPlatform } from './mapping.js';

/** The one message gorush answers for every bind error (missing body, bad JSON, a wrong type). */
export const MISSING_NOTIFICATIONS = 'Missing notifications field.';
export const EMPTY_NOTIFICATIONS = 'Notifications field is empty.';
export const overLimit = (count: number, limit: number): string =>
  `Number of notifications(${count}) over limit(${limit})`;

/** gin's `c.JSON` content type. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** One entry of `logs` (gorush's `logx.LogPushEntry`, fields in its order). */
export interface LogPushEntry {
  /** Left out when empty (`omitempty`). */
  notif_id?: string;
  type: 'failed-push' | 'succeeded-push';
  platform: GorushPlatform;
  token: string;
  message: string;
  error: string;
}

/** How log entries are written (gorush's `log.hide_token` / `log.hide_messages`). */
export interface LogSettings {
  /** Mask tokens (default true, as gorush). */
  maskTokens: boolean;
  /** Replace `message` with `(message redacted)` (default false, as gorush). */
  hideMessages?: boolean;
}

/**
 * gorush's `hideToken(token, 10)`: a token shorter than 20 characters becomes all `*`;
 * otherwise every occurrence of its last 10 characters, then of its first 10, becomes
 * `**********` (Go's `strings.ReplaceAll`, so a repeat inside the token is masked too).
 */
export function hideToken(token: string, markLen = 10): string {
  if (token === '') return '';
  if (token.length < markLen * 2) return '*'.repeat(token.length);
  const stars = '*'.repeat(markLen);
  const last = token.slice(token.length - markLen);
  const first = token.slice(0, markLen);
  return token.split(last).join(stars).split(first).join(stars);
}

/** Builds one failure entry as gorush's `GetLogPushEntry` does. */
export function failedEntry(
  input: { notifId?: string; platform: GorushPlatform; token: string; message?: string; error: string },
  settings: LogSettings,
): LogPushEntry {
  const entry: LogPushEntry = {
    type: 'failed-push',
    platform: input.platform,
    token: settings.maskTokens ? hideToken(input.token) : input.token,
    message: settings.hideMessages ? '(message redacted)' : (input.message ?? ''),
    error: input.error,
  };
  return input.notifId ? { notif_id: input.notifId, ...entry } : entry;
}

/**
 * The `error` of a failure entry: the provider's own reason where it gave one (APNs
 * `BadDeviceToken`, as gorush shows it), else pushline's message.
 */
export function errorText(record: FeedbackRecord): string {
  return record.error?.reason ?? record.error?.message ?? record.status;
}

/** The token a feedback record was for, as gorush logs it (a topic message logs the topic). */
export function recordToken(record: FeedbackRecord): string {
  const token = record.device.token;
  return typeof token === 'string' ? token : JSON.stringify(token);
}

/**
 * Go's `json.Marshal`: keys of a map sorted (gin's `gin.H`), `<`, `>`, `&`, U+2028 and U+2029
 * escaped. Struct fields (log entries) keep their declared order, which the caller builds.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** `{"counts":N,"logs":[…],"success":"ok"}`. */
export function successBody(counts: number, logs: readonly LogPushEntry[]): string {
  return goJson({ counts, logs, success: 'ok' });
}

/** `{"code":400,"message":"…"}` (gorush's `abortWithError`). */
export function errorBody(code: number, message: string): string {
  return goJson({ code, message });
}

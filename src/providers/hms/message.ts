/**
 * The v1 request body, built once per send from the common notification plus the `hms`
 * override block, and serialised around the target so that each batch costs one
 * `JSON.stringify` of its token list and two concatenations.
 *
 * Mapping (HMS.md §3):
 *  - title, body, image → `message.notification`; data → `message.data`, a string: the JSON
 *    of the data object with every value a string (what `RemoteMessage.getDataOfMap()` reads);
 *  - a notification with no title, body, image or localisation key, or `silent`, is a data
 *    message ("transparent"): no notification block; `priority: 'high'` → `urgency: HIGH`
 *    (Huawei grants HIGH on request), otherwise NORMAL; its data is `message.data`, or only
 *    `android.data` when the `hms` block gives it (`"{}"` when there is neither);
 *  - a notification message gets `android.notification.click_action`, which Huawei requires:
 *    `{type: 3}` (open the app) by default — not gorush's `{type: 1, action: "Action"}`, which
 *    matches no intent filter —, or `{type: 1, action: category}` when `category` is set;
 *  - `collapseKey` → `tag` (a newer notification with the same tag replaces the older),
 *    `threadId` → `group`, `sound` → `/raw/<name>` (`'default'` → `default_sound`),
 *    `badge` → `badge.set_num` with the provider's `badgeClass` (Huawei requires the class),
 *    `priority: 'low'` → `importance: LOW`, `ttl`/`expiresAt` → `ttl` (at most 15 days).
 */
import type { PushError } from '../../errors.js';
import { stringValues, ttlSeconds } from '../../message-values.js';
import type { Notification } from '../../notification.js';
import { badRequest } from './errors.js';
import type { HmsOverrides } from './overrides.js';

/** "The message body, tokens excluded, is at most 4096 bytes." */
export const MAX_MESSAGE_BYTES = 4096;
/** Huawei keeps undelivered messages at most 15 days. */
export const MAX_TTL_SECONDS = 1_296_000;

export type HmsTarget =
  | { kind: 'token' }
  | { kind: 'topic'; topic: string }
  | { kind: 'condition'; condition: string };

type Json = Record<string, unknown>;

/** The shared checks' refusals, with this provider's prefix. */
const hmsBadRequest = (message: string): PushError => badRequest(`hms: ${message}`);

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compact(obj: Json): Json | undefined {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Data values as strings: strings as they are, others JSON-encoded; `undefined` left out. */
export function stringifyData(data: Record<string, unknown>, where = 'data'): Record<string, string> {
  return stringValues(data, where, hmsBadRequest);
}

// A longer wish than Huawei keeps (15 days) means "as long as you can".
const TTL_RULES = { maxSeconds: MAX_TTL_SECONDS, whole: true, refuse: hmsBadRequest };

function resolveTarget(o: HmsOverrides | undefined): HmsTarget {
  const { topic, condition } = o ?? {};
  if (topic !== undefined && condition !== undefined) {
    throw badRequest('hms: set either `hms.topic` or `hms.condition`, not both');
  }
  if (topic !== undefined) {
    if (typeof topic !== 'string' || !/^[a-zA-Z0-9\-_.~%]{1,900}$/.test(topic)) {
      throw badRequest(
        `hms: \`hms.topic\` ${JSON.stringify(topic)} is not a topic name (letters, digits, -_.~%)`,
      );
    }
    return { kind: 'topic', topic };
  }
  if (condition !== undefined) {
    if (typeof condition !== 'string' || condition.trim() === '') {
      throw badRequest('hms: `hms.condition` must be a condition such as "\'news\' in topics"');
    }
    return { kind: 'condition', condition };
  }
  return { kind: 'token' };
}

/** A sound name as Huawei wants it: a file of the app's `/res/raw`. */
function soundPath(sound: string): string {
  return sound.startsWith('/raw/') ? sound : `/raw/${sound.replace(/\.[a-z0-9]+$/i, '')}`;
}

export interface BuildOptions {
  /** The app's entry activity, needed for a badge. */
  badgeClass?: string | undefined;
  now?: number;
}

export interface BuiltMessage {
  /** The v1 `message` without its target. */
  message: Json;
  target: HmsTarget;
  /** True for a data ("transparent") message. */
  dataMessage: boolean;
}

/** Builds the v1 message (without target). Throws `bad-request` PushErrors. */
export function buildMessage(n: Notification, options: BuildOptions = {}): BuiltMessage {
  const o = n.hms;
  if (o !== undefined && !isPlainObject(o)) throw badRequest('hms: the `hms` override must be an object');
  if (o?.android !== undefined && !isPlainObject(o.android))
    throw badRequest('hms: `hms.android` must be an object');
  const target = resolveTarget(o);
  const now = options.now ?? Date.now();
  const loc = n.localization;
  const ttl = ttlSeconds(n, now, TTL_RULES);

  const dataObject =
    n.data !== undefined || o?.data !== undefined
      ? stringifyData({ ...(n.data ?? {}), ...(o?.data ?? {}) })
      : undefined;
  let data = dataObject === undefined ? undefined : JSON.stringify(dataObject);

  const builtNotification = compact({ title: n.title, body: n.body, image: n.image });
  const hasContent =
    builtNotification !== undefined ||
    o?.notification !== undefined ||
    loc?.titleKey !== undefined ||
    loc?.bodyKey !== undefined ||
    isPlainObject(o?.android?.notification);
  const dataMessage = n.silent === true || !hasContent;

  let android: Json | undefined;
  let notification: Json | undefined;
  if (dataMessage) {
    // A data message must carry data (Huawei: "data only, no notification" is a data message).
    // `hms.android.data` is that data on Android, replacing message.data, so message.data is not
    // added beside it; without either, an empty object stands in.
    if (typeof o?.android?.data !== 'string') data ??= '{}';
    android = compact({
      urgency: n.priority === undefined ? undefined : n.priority === 'high' ? 'HIGH' : 'NORMAL',
      ttl: ttl === undefined ? undefined : `${ttl}s`,
    });
  } else {
    notification = builtNotification;
    const badge =
      n.badge !== undefined && options.badgeClass !== undefined
        ? { set_num: n.badge, class: options.badgeClass }
        : undefined;
    const androidNotification = compact({
      click_action: n.category !== undefined ? { type: 1, action: n.category } : { type: 3 },
      ...(n.sound === undefined
        ? {}
        : n.sound === 'default'
          ? { default_sound: true }
          : { default_sound: false, sound: soundPath(n.sound) }),
      tag: n.collapseKey,
      group: n.threadId,
      badge,
      importance: n.priority === 'low' ? 'LOW' : undefined,
      title_loc_key: loc?.titleKey,
      title_loc_args: loc?.titleArgs,
      body_loc_key: loc?.bodyKey,
      body_loc_args: loc?.bodyArgs,
    });
    android = compact({
      ttl: ttl === undefined ? undefined : `${ttl}s`,
      notification: androidNotification,
    });
  }
  if (o?.android) {
    const merged: Json = { ...(android ?? {}) };
    for (const [key, value] of Object.entries(o.android)) {
      if (value === undefined) continue;
      const mine = merged[key];
      merged[key] = isPlainObject(mine) && isPlainObject(value) ? { ...mine, ...value } : value;
    }
    android = merged;
  }
  if (o?.notification) {
    if (!isPlainObject(o.notification)) throw badRequest('hms: `hms.notification` must be an object');
    notification = { ...(notification ?? {}), ...o.notification };
  }
  if (!dataMessage) {
    // Huawei refuses a notification message without both (80100003): say so once, before any request.
    const an = isPlainObject(android?.['notification']) ? (android['notification'] as Json) : {};
    for (const field of ['title', 'body'] as const) {
      const given =
        typeof notification?.[field] === 'string' ||
        typeof an[field] === 'string' ||
        typeof an[`${field}_loc_key`] === 'string';
      if (!given) {
        throw badRequest(
          `hms: Huawei requires a ${field} for a notification message; set \`${field}\` (or \`localization.${field}Key\`), or send a data message (\`silent: true\`)`,
        );
      }
    }
  }
  const message = compact({ data, notification, android }) ?? {};
  return { message, target, dataMessage };
}

/**
 * The request body serialised around the target: `body(tokens)` is one JSON.stringify of the
 * token list between a prefix and a suffix made once per send.
 */
export class MessageTemplate {
  readonly #prefix: string;
  readonly #suffix: string;
  /** Bytes of the body without its target's value: what Huawei's 4,096-byte limit counts. */
  readonly messageBytes: number;

  constructor(message: Json, targetField: 'token' | 'topic' | 'condition', validateOnly: boolean) {
    const json = JSON.stringify(message);
    const open = json.slice(0, -1); // drop the closing brace
    this.#prefix = `{"message":${open}${open.length > 1 ? ',' : ''}"${targetField}":`;
    this.#suffix = validateOnly ? '},"validate_only":true}' : '}}';
    this.messageBytes = Buffer.byteLength(this.#prefix) + Buffer.byteLength(this.#suffix);
  }

  body(target: string | readonly string[]): string {
    return this.#prefix + JSON.stringify(target) + this.#suffix;
  }
}

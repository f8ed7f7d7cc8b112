/**
 * Building the v1 `Message` once per send from the common notification plus the `fcm`
 * override block, and serialising it around the target so each device costs one string
 * concatenation instead of a JSON.stringify.
 */
import type { Platform } from '../../device.js';
import { stringValues, ttlSeconds } from '../../message-values.js';
import type { Notification } from '../../notification.js';
import { badRequest } from './errors.js';
import type { FcmOverrides } from './overrides.js';

/** RFC 8030 §5.4: a Web Push `Topic` is 1–32 characters of the URL-safe base64 alphabet. */
const WEB_PUSH_TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/** FCM keeps undelivered messages at most four weeks. */
export const MAX_TTL_SECONDS = 2_419_200;
/** Message size limits: 4096 bytes, 2048 for topic and condition messages. */
export const MAX_MESSAGE_BYTES = 4096;
export const MAX_TOPIC_MESSAGE_BYTES = 2048;

/** The message's target, chosen per device (token) or once per send (topic, condition). */
export type FcmTarget =
  | { kind: 'token' }
  | { kind: 'topic'; topic: string }
  | { kind: 'condition'; condition: string };

type Json = Record<string, unknown>;

/** Data keys FCM uses itself and rejects in `data` ("from", "message_type", "google…", "gcm…"). */
export function isReservedDataKey(key: string): boolean {
  const lower = key.toLowerCase();
  return key === 'from' || key === 'message_type' || lower.startsWith('google') || lower.startsWith('gcm');
}

/**
 * FCM `data` is `map<string, string>`: strings pass as they are; every other value is
 * JSON-encoded (`123` → `"123"`, `true` → `"true"`, `{a:1}` → `'{"a":1}'`, `null` → `"null"`);
 * `undefined` values are left out. Reserved keys and values JSON cannot encode are refused.
 */
export function stringifyData(data: Record<string, unknown>, where = 'data'): Record<string, string> {
  return stringValues(data, where, badRequest, (key) => {
    if (isReservedDataKey(key)) {
      throw badRequest(
        `${where} key ${JSON.stringify(key)} is reserved by FCM ("from", "message_type" and keys starting with "google" or "gcm"); rename it.`,
      );
    }
  });
}

/** Seconds as a protobuf Duration string: `"86400s"`, `"3.5s"` (at most nine decimals). */
export function durationString(seconds: number): string {
  const fixed = seconds.toFixed(9).replace(/\.?0+$/, '');
  return `${fixed}s`;
}

// FCM stores a message four weeks at most: a longer wish means "as long as you can".
const TTL_RULES = { maxSeconds: MAX_TTL_SECONDS, refuse: badRequest };

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Override wins; nested `notification`, `headers`, `payload.aps` and `fcm_options` merge one level deeper. */
function mergeBlock(built: Json, override: Json | undefined): Json {
  if (!override) return built;
  const out: Json = { ...built };
  for (const [key, value] of Object.entries(override)) {
    if (value === undefined) continue;
    const mine = out[key];
    if (isPlainObject(mine) && isPlainObject(value)) {
      out[key] =
        key === 'payload' && isPlainObject(mine['aps']) && isPlainObject(value['aps'])
          ? { ...mine, ...value, aps: { ...mine['aps'], ...value['aps'] } }
          : { ...mine, ...value };
    } else {
      out[key] = value;
    }
  }
  return out;
}

function compact(obj: Json): Json | undefined {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

export interface BuildOptions {
  /** Platforms the provider serves: the `apns` / `webpush` blocks are only built when needed. */
  platforms: readonly Platform[];
  now?: number;
}

export interface BuiltMessage {
  /** The v1 Message without its target. */
  message: Json;
  target: FcmTarget;
}

function resolveTarget(o: FcmOverrides | undefined): FcmTarget {
  const topic = o?.topic;
  const condition = o?.condition;
  if (topic !== undefined && condition !== undefined) {
    throw badRequest('set either `fcm.topic` or `fcm.condition`, not both');
  }
  if (topic !== undefined) {
    const name = typeof topic === 'string' ? topic.replace(/^\/topics\//, '') : '';
    if (!/^[a-zA-Z0-9\-_.~%]+$/.test(name)) {
      throw badRequest(`\`fcm.topic\` ${JSON.stringify(topic)} is not a topic name (letters, digits, -_.~%)`);
    }
    return { kind: 'topic', topic: name };
  }
  if (condition !== undefined) {
    if (typeof condition !== 'string' || condition.trim() === '') {
      throw badRequest('`fcm.condition` must be a non-empty condition such as "\'news\' in topics"');
    }
    return { kind: 'condition', condition };
  }
  return { kind: 'token' };
}

/** Builds the v1 Message (without target) for a notification. Throws `bad-request` PushErrors. */
export function buildMessage(n: Notification, options: BuildOptions): BuiltMessage {
  const o = n.fcm;
  if (o !== undefined && !isPlainObject(o)) throw badRequest('the `fcm` override must be an object');
  const target = resolveTarget(o);
  const now = options.now ?? Date.now();
  const ios = options.platforms.includes('ios');
  const web = options.platforms.includes('web');
  const silent = n.silent === true;

  const data =
    n.data !== undefined || o?.data !== undefined
      ? stringifyData({ ...(n.data ?? {}), ...(o?.data ?? {}) })
      : undefined;

  const notification = silent ? undefined : compact({ title: n.title, body: n.body, image: n.image });

  const ttl = ttlSeconds(n, now, TTL_RULES);
  const loc = n.localization;
  const androidNotification = silent
    ? undefined
    : compact({
        sound: n.sound,
        tag: n.threadId,
        click_action: n.category,
        notification_count: n.badge,
        title_loc_key: loc?.titleKey,
        title_loc_args: loc?.titleArgs,
        body_loc_key: loc?.bodyKey,
        body_loc_args: loc?.bodyArgs,
      });
  const androidBuilt = compact({
    collapse_key: n.collapseKey,
    priority: n.priority === undefined ? undefined : n.priority === 'high' ? 'HIGH' : 'NORMAL',
    ttl: ttl === undefined ? undefined : durationString(ttl),
    notification: androidNotification,
  });
  let android = o?.android ? mergeBlock(androidBuilt ?? {}, o.android as Json) : androidBuilt;
  if (android && isPlainObject(android['data'])) {
    android = { ...android, data: stringifyData(android['data'], 'fcm.android.data') };
  }

  let apns: Json | undefined;
  if (ios || o?.apns) {
    const headers: Record<string, string> = {};
    if (silent) {
      headers['apns-push-type'] = 'background';
      headers['apns-priority'] = '5'; // Apple: background pushes must use 5.
    } else if (n.priority !== undefined) {
      headers['apns-priority'] = n.priority === 'high' ? '10' : n.priority === 'normal' ? '5' : '1';
    }
    if (ttl !== undefined) headers['apns-expiration'] = String(ttl === 0 ? 0 : Math.floor(now / 1000) + ttl);
    if (n.collapseKey !== undefined) headers['apns-collapse-id'] = n.collapseKey;
    const alert = silent
      ? undefined
      : compact({
          subtitle: n.subtitle,
          'title-loc-key': loc?.titleKey,
          'title-loc-args': loc?.titleArgs,
          'subtitle-loc-key': loc?.subtitleKey,
          'subtitle-loc-args': loc?.subtitleArgs,
          'loc-key': loc?.bodyKey,
          'loc-args': loc?.bodyArgs,
        });
    const aps = compact(
      silent
        ? { 'content-available': 1 }
        : {
            alert,
            badge: n.badge,
            sound: n.sound,
            category: n.category,
            'thread-id': n.threadId,
            'mutable-content': n.mutableContent ? 1 : undefined,
          },
    );
    const built = compact({
      headers: compact(headers),
      payload: aps ? { aps } : undefined,
    });
    apns = o?.apns ? mergeBlock(built ?? {}, o.apns as Json) : ios ? built : undefined;
  }

  let webpush: Json | undefined;
  if (web || o?.webpush) {
    const headers: Record<string, string> = {};
    if (ttl !== undefined) headers['TTL'] = String(Math.floor(ttl));
    if (n.priority !== undefined) headers['Urgency'] = n.priority === 'high' ? 'high' : n.priority;
    // RFC 8030 §5.4: a Topic replaces the push service's pending message with the same topic,
    // so a re-send (or an update) does not arrive twice while the browser is away. Only a key of
    // Topic's form (≤ 32 base64url characters) can be one; Android's collapse_key takes any.
    if (n.collapseKey !== undefined && WEB_PUSH_TOPIC.test(n.collapseKey)) headers['Topic'] = n.collapseKey;
    const built = compact({ headers: compact(headers) });
    webpush = o?.webpush ? mergeBlock(built ?? {}, o.webpush as Json) : web ? built : undefined;
    if (webpush && isPlainObject(webpush['data'])) {
      webpush = { ...webpush, data: stringifyData(webpush['data'], 'fcm.webpush.data') };
    }
  }

  const message = compact({
    data,
    notification,
    android,
    apns,
    webpush,
    fcm_options: o?.fcm_options,
  });
  return { message: message ?? {}, target };
}

/**
 * The request body serialised around the target. For token sends, `body(token)` is one
 * concatenation: `prefix + JSON.stringify(token) + suffix`.
 */
export class MessageTemplate {
  readonly #prefix: string;
  readonly #suffix: string;
  /** Bytes of the message JSON without its target: what the FCM size limit is checked against. */
  readonly messageBytes: number;

  constructor(message: Json, targetField: 'token' | 'topic' | 'condition', validateOnly: boolean) {
    const json = JSON.stringify(message);
    this.messageBytes = Buffer.byteLength(json);
    const open = json.slice(0, -1); // drop the closing brace
    this.#prefix = `{"message":${open}${open.length > 1 ? ',' : ''}"${targetField}":`;
    this.#suffix = validateOnly ? '},"validate_only":true}' : '}}';
  }

  body(targetValue: string): string {
    return this.#prefix + JSON.stringify(targetValue) + this.#suffix;
  }
}

/**
 * gorush's `POST /api/push` request body, decoded the way gorush (Go's `encoding/json` into
 * `notify.RequestPush`) decodes it, so a body gorush accepts is accepted here and one it
 * refuses is refused here:
 *
 * - unknown fields are ignored, at every level (Go drops them);
 * - a field name matches case-insensitively when no field has the exact name (Go does so);
 * - `null` is accepted for any field and means "absent" (Go leaves the zero value);
 * - a value of the wrong JSON type (`"platform": "1"`, `"mutable_content": 1`) refuses the
 *   whole body — gorush answers its one bind-error message for it. No type coercion, which is
 *   why this module validates by itself instead of through Fastify's coercing ajv.
 *
 * One field table drives both the validation and the JSON schema published in the OpenAPI
 * document, so the two cannot drift apart.
 */

/** The JSON types a gorush field can have (Go's type in brackets). */
type FieldKind =
  | 'string' // string
  | 'int' // int, int64, *int64
  | 'number' // float32, *float64
  | 'bool' // bool
  | 'strings' // []string
  | 'object' // map[string]any, or a struct passed through
  | 'stringMap' // map[string]string
  | 'any'; // any (gorush's `sound`)

interface FieldSpec {
  kind: FieldKind;
  /** For `object`: the sub-fields Go decodes (others are dropped when `closed`). */
  fields?: Readonly<Record<string, FieldSpec>>;
  /** The struct has a fixed field set: unknown keys are dropped (Go structs drop them). */
  closed?: boolean;
  /** A pattern a string must match (e.g. the FCM duration the Go SDK parses). */
  pattern?: RegExp;
  description?: string;
}

const str = (description?: string): FieldSpec => ({ kind: 'string', description });
const int = (description?: string): FieldSpec => ({ kind: 'int', description });

/** gorush's `Alert` struct (`notify/notification.go`): the iOS alert dictionary. */
const ALERT_FIELDS: Readonly<Record<string, FieldSpec>> = {
  action: str(),
  'action-loc-key': str(),
  body: str(),
  'launch-image': str(),
  'loc-args': { kind: 'strings' },
  'loc-key': str(),
  title: str(),
  subtitle: str(),
  'title-loc-args': { kind: 'strings' },
  'title-loc-key': str(),
  'summary-arg': str(),
  'summary-arg-count': int(),
};

/** firebase-admin-go's `messaging.Notification`: only these three reach FCM. */
const FCM_NOTIFICATION_FIELDS: Readonly<Record<string, FieldSpec>> = {
  title: str(),
  body: str(),
  image: str(),
};

/**
 * firebase-admin-go's `messaging.AndroidConfig`. `ttl` is a duration string the SDK parses
 * (`"3.5s"`, `"86400"`); `priority` is validated later, when the message is built.
 */
const FCM_ANDROID_FIELDS: Readonly<Record<string, FieldSpec>> = {
  collapse_key: str(),
  priority: str(),
  ttl: { kind: 'string', pattern: /^\d+(\.\d{1,9})?s?$/ },
  restricted_package_name: str(),
  data: { kind: 'stringMap' },
  notification: { kind: 'object' },
  fcm_options: { kind: 'object' },
  direct_boot_ok: { kind: 'bool' },
  bandwidth_constrained_ok: { kind: 'bool' },
  restricted_satellite_ok: { kind: 'bool' },
};

/** firebase-admin-go's `messaging.FCMOptions`. */
const FCM_OPTIONS_FIELDS: Readonly<Record<string, FieldSpec>> = { analytics_label: str() };

/** gorush's `PushNotification` (`notify/notification.go`), every field, by JSON name. */
export const NOTIFICATION_FIELDS: Readonly<Record<string, FieldSpec>> = {
  notif_id: str('Echoed as `notif_id` in failure log entries.'),
  to: str('Android and Huawei: appended to `tokens` (not counted in `counts`).'),
  topic: str('iOS: the APNs topic (selects the app). Android/Huawei: the topic to send to.'),
  tokens: { kind: 'strings', description: 'Device tokens.' },
  platform: int('1 iOS, 2 Android (FCM), 3 Huawei (HMS); any other value is ignored.'),
  message: str(),
  title: str(),
  image: str(),
  priority: str('`normal` or `high`.'),
  content_available: { kind: 'bool' },
  mutable_content: { kind: 'bool' },
  sound: { kind: 'any', description: 'A sound name, or iOS `{critical, name, volume}`.' },
  data: { kind: 'object' },
  retry: int('Accepted and ignored: pushline retries by its own policy.'),
  notification: { kind: 'object', fields: FCM_NOTIFICATION_FIELDS, closed: true },
  android: { kind: 'object', fields: FCM_ANDROID_FIELDS, closed: true },
  webpush: { kind: 'object' },
  apns: { kind: 'object' },
  fcm_options: { kind: 'object', fields: FCM_OPTIONS_FIELDS, closed: true },
  condition: str(),
  app_id: str('Accepted and ignored (gorush ignores it too).'),
  app_secret: str('Accepted and ignored (gorush ignores it too).'),
  huawei_notification: { kind: 'object' },
  huawei_data: str(),
  huawei_collapse_key: int(),
  huawei_ttl: str(),
  bi_tag: str(),
  fast_app_target: int(),
  expiration: int('iOS: UNIX seconds.'),
  apns_id: str('Accepted and ignored: Apple assigns the apns-id.'),
  collapse_id: str(),
  push_type: str(),
  badge: int(),
  category: str(),
  'thread-id': str(),
  'url-args': { kind: 'strings' },
  alert: { kind: 'object', fields: ALERT_FIELDS, closed: true },
  production: { kind: 'bool' },
  development: { kind: 'bool' },
  name: str(),
  volume: { kind: 'number' },
  interruption_level: str(),
  'content-state': { kind: 'object' },
  'stale-date': int(),
  'dismissal-date': int(),
  event: str(),
  timestamp: int(),
  'attributes-type': str(),
  attributes: { kind: 'object' },
  'relevance-score': { kind: 'number' },
};

/** gorush's `Alert`. */
export interface GorushAlert {
  action?: string;
  'action-loc-key'?: string;
  body?: string;
  'launch-image'?: string;
  'loc-args'?: string[];
  'loc-key'?: string;
  title?: string;
  subtitle?: string;
  'title-loc-args'?: string[];
  'title-loc-key'?: string;
  'summary-arg'?: string;
  'summary-arg-count'?: number;
}

type Json = Record<string, unknown>;

/** One element of `notifications`, as decoded (null fields removed, names canonical). */
export interface GorushPushNotification {
  notif_id?: string;
  to?: string;
  topic?: string;
  tokens?: string[];
  platform?: number;
  message?: string;
  title?: string;
  image?: string;
  priority?: string;
  content_available?: boolean;
  mutable_content?: boolean;
  sound?: unknown;
  data?: Json;
  retry?: number;
  notification?: { title?: string; body?: string; image?: string };
  android?: Json;
  webpush?: Json;
  apns?: Json;
  fcm_options?: { analytics_label?: string };
  condition?: string;
  app_id?: string;
  app_secret?: string;
  huawei_notification?: Json;
  huawei_data?: string;
  huawei_collapse_key?: number;
  huawei_ttl?: string;
  bi_tag?: string;
  fast_app_target?: number;
  expiration?: number;
  apns_id?: string;
  collapse_id?: string;
  push_type?: string;
  badge?: number;
  category?: string;
  'thread-id'?: string;
  'url-args'?: string[];
  alert?: GorushAlert;
  production?: boolean;
  development?: boolean;
  name?: string;
  volume?: number;
  interruption_level?: string;
  'content-state'?: Json;
  'stale-date'?: number;
  'dismissal-date'?: number;
  event?: string;
  timestamp?: number;
  'attributes-type'?: string;
  attributes?: Json;
  'relevance-score'?: number;
}

export interface GorushPushRequest {
  notifications: GorushPushNotification[];
}

/** The result of decoding a body: the notifications, or why gorush's bind would fail. */
export type DecodedBody =
  | { ok: true; notifications: GorushPushNotification[] }
  | {
      ok: false;
      /** Where and what, e.g. `notifications[0].badge: expected an integer` (for logs, never for the body). */
      problem: string;
    };

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Go's field matching: an exact name first, else a case-insensitive one. Keys matching no
 * field are dropped when `closed` and kept (as they are) otherwise. Later keys win, as in Go.
 */
function canonicalKeys(
  obj: Json,
  fields: Readonly<Record<string, FieldSpec>>,
  closed: boolean,
): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(obj)) {
    let name: string | undefined = Object.hasOwn(fields, key) ? key : undefined;
    if (name === undefined) {
      const lower = key.toLowerCase();
      name = Object.keys(fields).find((f) => f.toLowerCase() === lower);
    }
    if (name !== undefined) out.set(name, value);
    else if (!closed) out.set(key, value);
  }
  return out;
}

function checkValue(value: unknown, spec: FieldSpec, where: string): string | undefined {
  switch (spec.kind) {
    case 'string':
      if (typeof value !== 'string') return `${where}: expected a string`;
      if (spec.pattern && !spec.pattern.test(value))
        return `${where}: not of the form ${spec.pattern.source}`;
      return undefined;
    case 'int':
      return Number.isInteger(value) ? undefined : `${where}: expected an integer`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `${where}: expected a number`;
    case 'bool':
      return typeof value === 'boolean' ? undefined : `${where}: expected true or false`;
    case 'strings':
      if (!Array.isArray(value)) return `${where}: expected an array of strings`;
      // Go decodes a null element of []string as "".
      return value.every((v) => typeof v === 'string' || v === null)
        ? undefined
        : `${where}: expected an array of strings`;
    case 'stringMap':
      if (!isObject(value)) return `${where}: expected an object`;
      return Object.values(value).every((v) => typeof v === 'string' || v === null)
        ? undefined
        : `${where}: expected an object of strings`;
    case 'object':
      return isObject(value) ? undefined : `${where}: expected an object`;
    case 'any':
      return undefined;
  }
}

/** Decodes one object against its field table; returns the decoded object or a problem. */
function decodeObject(
  obj: Json,
  fields: Readonly<Record<string, FieldSpec>>,
  closed: boolean,
  where: string,
): Json | string {
  const out: Json = {};
  for (const [name, raw] of canonicalKeys(obj, fields, closed)) {
    if (raw === null) continue;
    const spec = fields[name];
    if (spec === undefined) {
      out[name] = raw;
      continue;
    }
    const problem = checkValue(raw, spec, `${where}.${name}`);
    if (problem !== undefined) return problem;
    let value: unknown = raw;
    if (spec.kind === 'strings') value = (raw as unknown[]).map((v) => (v === null ? '' : v));
    if (spec.kind === 'object' && spec.fields) {
      const sub = decodeObject(raw as Json, spec.fields, spec.closed === true, `${where}.${name}`);
      if (typeof sub === 'string') return sub;
      value = sub;
    }
    out[name] = value;
  }
  return out;
}

/**
 * Decodes a parsed JSON body (or `undefined` for none) as gorush binds it. A body gorush
 * accepts comes back `ok` — including `notifications: []`, which the route answers with its
 * own message; everything gorush's bind refuses comes back with a `problem`.
 */
export function decodePushBody(body: unknown): DecodedBody {
  if (body === null) return { ok: false, problem: 'notifications: required' };
  if (!isObject(body)) return { ok: false, problem: 'the body must be a JSON object' };
  const top = canonicalKeys(body, { notifications: { kind: 'any' } }, true);
  const list = top.get('notifications');
  // `binding:"required"` refuses a missing or null slice, not an empty one.
  if (list === undefined || list === null) return { ok: false, problem: 'notifications: required' };
  if (!Array.isArray(list)) return { ok: false, problem: 'notifications: expected an array' };
  const notifications: GorushPushNotification[] = [];
  for (const [i, item] of list.entries()) {
    const where = `notifications[${i}]`;
    // A null element decodes as a zero PushNotification (platform 0: ignored later).
    if (item === null) {
      notifications.push({});
      continue;
    }
    if (!isObject(item)) return { ok: false, problem: `${where}: expected an object` };
    const decoded = decodeObject(item, NOTIFICATION_FIELDS, true, where);
    if (typeof decoded === 'string') return { ok: false, problem: decoded };
    notifications.push(decoded as GorushPushNotification);
  }
  return { ok: true, notifications };
}

function schemaOf(spec: FieldSpec): Json {
  const nullable = (type: string): Json => ({ type: [type, 'null'] });
  let schema: Json;
  switch (spec.kind) {
    case 'string':
      schema = nullable('string');
      if (spec.pattern) schema.pattern = spec.pattern.source;
      break;
    case 'int':
      schema = nullable('integer');
      break;
    case 'number':
      schema = nullable('number');
      break;
    case 'bool':
      schema = nullable('boolean');
      break;
    case 'strings':
      schema = { type: ['array', 'null'], items: { type: ['string', 'null'] } };
      break;
    case 'stringMap':
      schema = { type: ['object', 'null'], additionalProperties: { type: ['string', 'null'] } };
      break;
    case 'object':
      schema = { type: ['object', 'null'] };
      if (spec.fields) {
        schema.properties = Object.fromEntries(Object.entries(spec.fields).map(([k, v]) => [k, schemaOf(v)]));
      }
      break;
    case 'any':
      schema = {};
      break;
  }
  if (spec.description) schema.description = spec.description;
  return schema;
}

/**
 * The JSON schema of the body, for the OpenAPI document. Unknown properties are allowed (and
 * ignored), as gorush allows them. Validation itself is {@link decodePushBody}'s, which
 * follows this schema plus Go's case-insensitive names and without type coercion.
 */
export const pushBodySchema: Json = {
  type: 'object',
  required: ['notifications'],
  properties: {
    notifications: {
      type: 'array',
      items: schemaOf({ kind: 'object', fields: NOTIFICATION_FIELDS }),
    },
  },
};

/**
 * Strict checking of an FCM v1 send request, as the real endpoint checks it: unknown fields,
 * wrong types, `data` values that are not strings, reserved data keys, the one-target rule,
 * Duration / enum / colour formats, and the size limit. Every problem becomes a
 * `google.rpc.BadRequest` field violation with Google's field path (`message.android.ttl`).
 *
 * Field names are accepted in snake_case and lowerCamelCase, as proto3 JSON parsing does.
 */
import { type FieldViolation, invalidArgument, type RpcError, rpcError } from './responses.js';

type Spec =
  | 'string'
  | 'bool'
  | 'int'
  | 'stringMap'
  | 'stringArray'
  | 'object'
  | 'duration'
  | 'color'
  | { enum: readonly string[]; type: string }
  | { schema: Schema };
type Schema = Readonly<Record<string, Spec>>;

const NOTIFICATION: Schema = { title: 'string', body: 'string', image: 'string' };
const ANDROID_NOTIFICATION: Schema = {
  title: 'string',
  body: 'string',
  icon: 'string',
  color: 'color',
  sound: 'string',
  tag: 'string',
  click_action: 'string',
  body_loc_key: 'string',
  body_loc_args: 'stringArray',
  title_loc_key: 'string',
  title_loc_args: 'stringArray',
  channel_id: 'string',
  ticker: 'string',
  sticky: 'bool',
  event_time: 'string',
  local_only: 'bool',
  notification_priority: {
    type: 'NotificationPriority',
    enum: [
      'PRIORITY_UNSPECIFIED',
      'PRIORITY_MIN',
      'PRIORITY_LOW',
      'PRIORITY_DEFAULT',
      'PRIORITY_HIGH',
      'PRIORITY_MAX',
    ],
  },
  default_sound: 'bool',
  default_vibrate_timings: 'bool',
  default_light_settings: 'bool',
  vibrate_timings: 'stringArray',
  visibility: { type: 'Visibility', enum: ['VISIBILITY_UNSPECIFIED', 'PRIVATE', 'PUBLIC', 'SECRET'] },
  notification_count: 'int',
  light_settings: 'object',
  image: 'string',
  bypass_proxy_notification: 'bool',
  proxy: { type: 'Proxy', enum: ['PROXY_UNSPECIFIED', 'ALLOW', 'DENY', 'IF_PRIORITY_LOWERED'] },
};
const ANDROID: Schema = {
  collapse_key: 'string',
  priority: { type: 'AndroidMessagePriority', enum: ['NORMAL', 'HIGH'] },
  ttl: 'duration',
  restricted_package_name: 'string',
  data: 'stringMap',
  notification: { schema: ANDROID_NOTIFICATION },
  fcm_options: { schema: { analytics_label: 'string' } },
  direct_boot_ok: 'bool',
  bandwidth_constrained_ok: 'bool',
  restricted_satellite_ok: 'bool',
};
const APNS: Schema = {
  headers: 'stringMap',
  payload: 'object',
  fcm_options: { schema: { analytics_label: 'string', image: 'string' } },
  live_activity_token: 'string',
};
const WEBPUSH: Schema = {
  headers: 'stringMap',
  data: 'stringMap',
  notification: 'object',
  fcm_options: { schema: { link: 'string', analytics_label: 'string' } },
};
const MESSAGE: Schema = {
  name: 'string',
  data: 'stringMap',
  notification: { schema: NOTIFICATION },
  android: { schema: ANDROID },
  webpush: { schema: WEBPUSH },
  apns: { schema: APNS },
  fcm_options: { schema: { analytics_label: 'string' } },
  token: 'string',
  topic: 'string',
  condition: 'string',
};

/** FCM keeps messages at most four weeks. */
const MAX_TTL_SECONDS = 2_419_200;
export const MAX_MESSAGE_BYTES = 4096;
export const MAX_TOPIC_MESSAGE_BYTES = 2048;
/** What an FCM registration token looks like here: base64url-ish characters and colons. */
const TOKEN_SHAPE = /^[A-Za-z0-9_\-:.]{1,4096}$/;
const TOPIC_SHAPE = /^[a-zA-Z0-9\-_.~%]+$/;

const toCamel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function lookup(schema: Schema, key: string): [string, Spec] | undefined {
  if (Object.hasOwn(schema, key)) return [key, schema[key]!];
  for (const name of Object.keys(schema)) if (toCamel(name) === key) return [name, schema[name]!];
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const shown = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));

function walk(value: Record<string, unknown>, schema: Schema, path: string, out: FieldViolation[]): void {
  for (const [key, v] of Object.entries(value)) {
    const found = lookup(schema, key);
    if (!found) {
      const description = `Invalid JSON payload received. Unknown name ${JSON.stringify(key)} at '${path}': Cannot find field.`;
      out.push({ field: path, description });
      continue;
    }
    const [name, spec] = found;
    const field = `${path}.${name}`;
    if (v === null) continue; // proto3 JSON: null means "not set"
    const wrong = (type: string): void => {
      out.push({ field, description: `Invalid value at '${field}' (${type}), ${shown(v)}` });
    };
    if (typeof spec === 'object' && 'schema' in spec) {
      if (isObject(v)) walk(v, spec.schema, field, out);
      else wrong('object');
    } else if (typeof spec === 'object') {
      if (typeof v !== 'string' || !spec.enum.includes(v))
        wrong(`type.googleapis.com/google.firebase.fcm.v1.${spec.type}`);
    } else if (spec === 'string') {
      if (typeof v !== 'string') wrong('TYPE_STRING');
    } else if (spec === 'bool') {
      if (typeof v !== 'boolean') wrong('TYPE_BOOL');
    } else if (spec === 'int') {
      if (typeof v !== 'number' || !Number.isInteger(v)) wrong('TYPE_INT32');
    } else if (spec === 'object') {
      if (!isObject(v)) wrong('type.googleapis.com/google.protobuf.Struct');
    } else if (spec === 'stringArray') {
      if (!Array.isArray(v)) wrong('TYPE_STRING');
      else
        v.forEach((item, i) => {
          if (typeof item !== 'string') {
            out.push({
              field: `${field}[${i}]`,
              description: `Invalid value at '${field}[${i}]' (TYPE_STRING), ${shown(item)}`,
            });
          }
        });
    } else if (spec === 'stringMap') {
      if (!isObject(v)) wrong('map<string, string>');
      else
        Object.values(v).forEach((item, i) => {
          if (typeof item !== 'string') {
            const at = `${field}[${i}].value`;
            out.push({ field: at, description: `Invalid value at '${at}' (TYPE_STRING), ${shown(item)}` });
          }
        });
    } else if (spec === 'duration') {
      const m = typeof v === 'string' ? /^(\d+)(\.\d{1,9})?s$/.exec(v) : null;
      if (!m) wrong('type.googleapis.com/google.protobuf.Duration');
      else if (Number(m[1]) + Number(m[2] ?? 0) > MAX_TTL_SECONDS) {
        out.push({
          field,
          description: `The ttl exceeds the maximum of ${MAX_TTL_SECONDS}s (4 weeks): ${v}`,
        });
      }
    } else if (spec === 'color') {
      if (typeof v !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(v)) {
        out.push({ field, description: `Invalid color format: ${shown(v)}; expected #rrggbb` });
      }
    }
  }
}

function reservedKeys(data: unknown, field: string, out: FieldViolation[]): void {
  if (!isObject(data)) return;
  for (const key of Object.keys(data)) {
    const lower = key.toLowerCase();
    if (key === 'from' || key === 'message_type' || lower.startsWith('google') || lower.startsWith('gcm')) {
      out.push({
        field,
        description: `Invalid data payload key: ${JSON.stringify(key)} is reserved by FCM.`,
      });
    }
  }
}

export type SendTarget = { kind: 'token' | 'topic' | 'condition'; value: string };

export type Verdict =
  | { ok: true; message: Record<string, unknown>; target: SendTarget; validateOnly: boolean }
  | { ok: false; error: RpcError };

/** Checks a parsed send-request body. */
export function validateSendRequest(body: unknown): Verdict {
  const bad = (violations: FieldViolation[]): Verdict => ({ ok: false, error: invalidArgument(violations) });
  if (!isObject(body)) {
    return bad([{ field: '', description: 'Invalid JSON payload received. Expected an object.' }]);
  }
  const top: FieldViolation[] = [];
  for (const key of Object.keys(body)) {
    if (key !== 'message' && key !== 'validate_only' && key !== 'validateOnly') {
      top.push({
        field: '',
        description: `Invalid JSON payload received. Unknown name ${JSON.stringify(key)}: Cannot find field.`,
      });
    }
  }
  const validateOnly = body['validate_only'] ?? body['validateOnly'] ?? false;
  if (typeof validateOnly !== 'boolean') {
    top.push({
      field: 'validate_only',
      description: `Invalid value at 'validate_only' (TYPE_BOOL), ${shown(validateOnly)}`,
    });
  }
  const message = body['message'];
  if (!isObject(message)) {
    top.push({ field: 'message', description: 'Request contains an invalid argument: message is required.' });
    return bad(top);
  }
  if (top.length > 0) return bad(top);

  const violations: FieldViolation[] = [];
  walk(message, MESSAGE, 'message', violations);
  reservedKeys(message['data'], 'message.data', violations);
  const android = message['android'];
  if (isObject(android)) reservedKeys(android['data'], 'message.android.data', violations);
  if (violations.length > 0) return bad(violations);

  const targets = (['token', 'topic', 'condition'] as const).filter(
    (t) => message[t] !== undefined && message[t] !== null,
  );
  if (targets.length === 0) {
    return {
      ok: false,
      error: rpcError(400, 'INVALID_ARGUMENT', 'Recipient of the message is not set.', 'INVALID_ARGUMENT', [
        {
          field: 'message',
          description: 'Recipient of the message is not set: set exactly one of token, topic, condition.',
        },
      ]),
    };
  }
  if (targets.length > 1) {
    return bad([
      {
        field: 'message',
        description: `Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set '${targets[1]}'`,
      },
    ]);
  }
  const kind = targets[0]!;
  const value = message[kind] as string;
  if (kind === 'token' && !TOKEN_SHAPE.test(value)) {
    // FCM's own answer for a malformed token carries no field violation, only this message.
    return {
      ok: false,
      error: rpcError(
        400,
        'INVALID_ARGUMENT',
        'The registration token is not a valid FCM registration token',
        'INVALID_ARGUMENT',
      ),
    };
  }
  if (kind === 'topic' && !TOPIC_SHAPE.test(value)) {
    return bad([
      {
        field: 'message.topic',
        description: `Invalid topic name ${shown(value)} (no "/topics/" prefix; letters, digits, -_.~%).`,
      },
    ]);
  }
  if (kind === 'condition' && value.trim() === '') {
    return bad([{ field: 'message.condition', description: 'Invalid condition expression.' }]);
  }
  const { [kind]: _target, ...rest } = message;
  const size = Buffer.byteLength(JSON.stringify(rest));
  const limit = kind === 'token' ? MAX_MESSAGE_BYTES : MAX_TOPIC_MESSAGE_BYTES;
  if (size > limit) {
    return bad([
      { field: 'message', description: `Message is too big: ${size} bytes, the limit is ${limit} bytes.` },
    ]);
  }
  return { ok: true, message, target: { kind, value }, validateOnly: validateOnly as boolean };
}

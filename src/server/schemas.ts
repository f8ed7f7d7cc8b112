/**
 * JSON schemas of the native API: what Fastify validates requests against (a 400 names the
 * field at fault) and what the OpenAPI document shows, from one definition each.
 *
 * The notification's own fields are listed exactly (an unknown field is a 400, not a push
 * sent without it); the provider override blocks (`apns`, `fcm`, `webpush`) are objects whose
 * content each provider checks when the send is prepared. A device carries whatever the
 * caller attaches (it comes back on its feedback), so only its platform and token are checked.
 */
import { PLATFORMS } from '../device.js';
import type { Notification } from '../notification.js';

const stringArray = { type: 'array', items: { type: 'string' } } as const;

// `satisfies` keeps this list and the Notification type in step: a field added to the type
// (a new provider's override block) fails to compile here until the schema has it.
const notificationProperties = {
  title: { type: 'string' },
  subtitle: { type: 'string' },
  body: { type: 'string' },
  data: { type: 'object', additionalProperties: true },
  badge: { type: 'integer', minimum: 0 },
  sound: { type: 'string' },
  image: { type: 'string' },
  category: { type: 'string' },
  threadId: { type: 'string' },
  collapseKey: { type: 'string' },
  priority: { type: 'string', enum: ['high', 'normal', 'low'] },
  ttl: { type: 'integer', minimum: 0 },
  expiresAt: { type: 'string', format: 'date-time' },
  silent: { type: 'boolean' },
  mutableContent: { type: 'boolean' },
  localization: {
    type: 'object',
    additionalProperties: false,
    properties: {
      titleKey: { type: 'string' },
      titleArgs: stringArray,
      subtitleKey: { type: 'string' },
      subtitleArgs: stringArray,
      bodyKey: { type: 'string' },
      bodyArgs: stringArray,
    },
  },
  apns: { type: 'object', additionalProperties: true, description: 'APNs overrides (see the README)' },
  fcm: { type: 'object', additionalProperties: true, description: 'FCM overrides (see the README)' },
  webpush: { type: 'object', additionalProperties: true, description: 'Web Push overrides (see the README)' },
  hms: {
    type: 'object',
    additionalProperties: true,
    description: 'Huawei Push Kit overrides (see the README)',
  },
} as const satisfies Record<keyof Notification, unknown>;

export const notificationSchema = {
  type: 'object',
  additionalProperties: false,
  properties: notificationProperties,
} as const;

export const webPushSubscriptionSchema = {
  type: 'object',
  required: ['endpoint', 'keys'],
  properties: {
    endpoint: { type: 'string', minLength: 1 },
    keys: {
      type: 'object',
      required: ['p256dh', 'auth'],
      properties: { p256dh: { type: 'string' }, auth: { type: 'string' } },
    },
  },
} as const;

export const deviceSchema = {
  type: 'object',
  required: ['platform', 'token'],
  additionalProperties: true,
  properties: {
    platform: { type: 'string', enum: [...PLATFORMS] },
    token: {
      description: 'the device token; for web, the subscription (object or its JSON text)',
      anyOf: [{ type: 'string', minLength: 1 }, webPushSubscriptionSchema],
    },
  },
} as const;

export const sourceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['database', 'query'],
  properties: {
    database: { type: 'string', description: 'a database named in the config (databases.<name>)' },
    query: { type: 'string', minLength: 1, description: 'the SELECT returning token and platform columns' },
    keyColumn: { type: 'string', description: 'orders the rows (keyset pagination by workers)' },
  },
} as const;

/** The fields a send has besides its devices: the JSON body, and the first line of an NDJSON body. */
const sendHeaderProperties = {
  app: { type: 'string', description: "the app (apps.<name>); default: the key's default app" },
  notification: notificationSchema,
  dryRun: { type: 'boolean', description: 'validate without delivering' },
  delivery: { type: 'string', enum: ['at-least-once', 'at-most-once'] },
} as const;

/** The first line of an `application/x-ndjson` body: the send without its devices. */
export const ndjsonHeaderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['notification'],
  properties: sendHeaderProperties,
} as const;

/** `POST /v1/sends` with a JSON body: devices inline, or a source; exactly one of them. */
export function sendBodySchema(maxInlineDevices: number) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['notification'],
    properties: {
      ...sendHeaderProperties,
      devices: { type: 'array', minItems: 1, maxItems: maxInlineDevices, items: deviceSchema },
      source: sourceSchema,
    },
    oneOf: [{ required: ['devices'] }, { required: ['source'] }],
  } as const;
}

const countsSchema = {
  type: 'object',
  properties: {
    total: { type: 'integer' },
    sent: { type: 'integer' },
    validated: { type: 'integer' },
    invalidToken: { type: 'integer' },
    failed: { type: 'integer' },
    errors: { type: 'object', additionalProperties: { type: 'integer' } },
    providers: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          sent: { type: 'integer' },
          validated: { type: 'integer' },
          invalidToken: { type: 'integer' },
          failed: { type: 'integer' },
        },
      },
    },
    retries: { type: 'integer' },
    maybeDelivered: { type: 'integer' },
    maybeDuplicates: { type: 'integer' },
  },
} as const;

const stateSchema = { type: 'string', enum: ['queued', 'running', 'done', 'aborted', 'failed'] } as const;

/** `GET /v1/sends/:id`: a `SendStatus`. */
export const sendStatusSchema = {
  type: 'object',
  required: ['id', 'app', 'state', 'accepted', 'counts', 'createdAt'],
  properties: {
    id: { type: 'string' },
    app: { type: 'string' },
    state: stateSchema,
    accepted: { type: 'integer' },
    counts: countsSchema,
    createdAt: { type: 'string' },
    startedAt: { type: 'string' },
    finishedAt: { type: 'string' },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
} as const;

/** The 202 of `POST /v1/sends`. */
export const sendAcceptedSchema = {
  type: 'object',
  required: ['id', 'status', 'accepted'],
  properties: {
    id: { type: 'string' },
    status: stateSchema,
    accepted: { type: 'integer', description: 'devices accepted (final for inline and NDJSON bodies)' },
  },
} as const;

export const feedbackQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: {
      type: 'string',
      pattern: '^(sent|validated|invalid-token|failed)(,(sent|validated|invalid-token|failed))*$',
      description: 'only these statuses, comma-separated (default: all)',
    },
    follow: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'keep the stream open until the send ends (default true)',
    },
  },
} as const;

export const sendIdParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

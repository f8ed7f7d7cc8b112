/** Web Push provider: `webPush(options)`, VAPID key helper, and the `webpush` override block. */
export { MAX_PLAINTEXT_LENGTH } from './encrypt.js';
export type { LookupFunction } from './endpoint-guard.js';
export { DEFAULT_TTL_SECONDS } from './headers.js';
export type { WebPushMessage } from './message.js';
export type { WebPushOptions } from './options.js';
export type { WebPushAction, WebPushOverrides, WebPushUrgency } from './overrides.js';
export { webPush } from './provider.js';
export { WEB_PUSH_STATUSES, type WebPushAnswer } from './responses.js';
export { generateVapidKeys, type VapidKeys, type VapidOptions } from './vapid.js';

/** Firebase Cloud Messaging (HTTP v1): `fcm(options)` and its types. */

export { stringifyData } from './message.js';
export type { FcmOptions } from './options.js';
export type {
  FcmAndroidConfig,
  FcmAndroidNotification,
  FcmApnsConfig,
  FcmOverrides,
  FcmWebpushConfig,
} from './overrides.js';
export { type FcmProvider, fcm } from './provider.js';
export { FCM_ERROR_CODES, RPC_STATUSES } from './responses.js';
export type { ServiceAccount } from './service-account.js';

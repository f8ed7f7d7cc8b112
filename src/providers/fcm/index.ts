/** Firebase Cloud Messaging (HTTP v1): `fcm(options)` and its types. */
export { FCM_ERROR_CODES, RPC_STATUSES } from './errors.js';
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
export type { ServiceAccount } from './service-account.js';

/** Huawei Push Kit (HMS): `hms(options)` and its types. */
export type { HmsOptions } from './options.js';
export type { HmsAndroidConfig, HmsAndroidNotification, HmsClickAction, HmsOverrides } from './overrides.js';
export { type HmsProvider, hms } from './provider.js';
export { HMS_HTTP_STATUSES, HMS_RESULT_CODES } from './responses.js';

/** Apple Push Notification service (HTTP/2 provider API): `apns(options)` and its types. */
export {
  type ApnsBroadcast,
  type ApnsBroadcastOptions,
  type ApnsChannel,
  apnsBroadcast,
  type ChannelFailure,
  type ChannelOutcome,
  type ChannelRequestOptions,
  type ChannelSuccess,
  type MessageStoragePolicy,
} from './channels.js';
export type { ApnsOptions } from './options.js';
export type {
  ApnsAlert,
  ApnsInterruptionLevel,
  ApnsLiveActivity,
  ApnsOverrides,
  ApnsPushType,
  ApnsSound,
} from './overrides.js';
export { type ApnsProvider, apns, CERT_EXPIRING_WARNING } from './provider.js';
export { type ApnsReason, REASONS as APNS_REASONS } from './responses.js';

export { PushClient, type PushClientOptions, type SendOptions, type TopicOptions } from './client.js';
export type { Device, Platform, WebPushSubscription } from './device.js';
export type { Delivery } from './engine/delivery.js';
export type { Personalise } from './engine/personalise.js';
export type { DeliverySemantics, RetryOptions } from './engine/retry.js';
export type { Session } from './engine/session.js';
export type { DeviceSource } from './engine/source.js';
export type { ProviderCounts, Summary } from './engine/summary.js';
export { PushError, type PushErrorCode, type PushErrorOptions } from './errors.js';
export type { Feedback, FeedbackStatus } from './feedback.js';
export type { Localization, Notification, Priority, ProviderOverrides } from './notification.js';
export type {
  DryRun,
  Outcome,
  PreparedSend,
  PrepareOptions,
  Provider,
  SendContext,
  TopicManagement,
  TopicOperation,
} from './provider.js';

// Providers
export {
  type ApnsAlert,
  type ApnsBroadcast,
  type ApnsBroadcastOptions,
  type ApnsChannel,
  type ApnsInterruptionLevel,
  type ApnsLiveActivity,
  type ApnsOptions,
  type ApnsOverrides,
  type ApnsProvider,
  type ApnsPushType,
  type ApnsSound,
  apns,
  apnsBroadcast,
  type ChannelOutcome,
  type MessageStoragePolicy,
} from './providers/apns/index.js';
export {
  type FcmAndroidConfig,
  type FcmAndroidNotification,
  type FcmApnsConfig,
  type FcmOptions,
  type FcmOverrides,
  type FcmProvider,
  type FcmWebpushConfig,
  fcm,
  type ServiceAccount,
} from './providers/fcm/index.js';
export {
  type HmsAndroidConfig,
  type HmsAndroidNotification,
  type HmsClickAction,
  type HmsOptions,
  type HmsOverrides,
  type HmsProvider,
  hms,
} from './providers/hms/index.js';
export {
  generateVapidKeys,
  type VapidKeys,
  type VapidOptions,
  type WebPushOptions,
  type WebPushOverrides,
  webPush,
} from './providers/webpush/index.js';

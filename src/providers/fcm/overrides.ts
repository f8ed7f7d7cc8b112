/**
 * The `fcm` override block of a {@link Notification}: what the common model cannot say,
 * written in FCM HTTP v1's own field names (snake_case, as in the REST reference). Each
 * block is merged over what pushline builds from the common fields, the override winning.
 */

/** `AndroidNotification` of the v1 API (the fields pushline knows; FCM checks the rest). */
export interface FcmAndroidNotification {
  title?: string;
  body?: string;
  icon?: string;
  /** `#rrggbb`. */
  color?: string;
  sound?: string;
  tag?: string;
  click_action?: string;
  body_loc_key?: string;
  body_loc_args?: string[];
  title_loc_key?: string;
  title_loc_args?: string[];
  channel_id?: string;
  ticker?: string;
  sticky?: boolean;
  event_time?: string;
  local_only?: boolean;
  notification_priority?:
    | 'PRIORITY_UNSPECIFIED'
    | 'PRIORITY_MIN'
    | 'PRIORITY_LOW'
    | 'PRIORITY_DEFAULT'
    | 'PRIORITY_HIGH'
    | 'PRIORITY_MAX';
  default_sound?: boolean;
  default_vibrate_timings?: boolean;
  default_light_settings?: boolean;
  vibrate_timings?: string[];
  visibility?: 'VISIBILITY_UNSPECIFIED' | 'PRIVATE' | 'PUBLIC' | 'SECRET';
  notification_count?: number;
  image?: string;
  [field: string]: unknown;
}

/** `AndroidConfig` of the v1 API. */
export interface FcmAndroidConfig {
  collapse_key?: string;
  priority?: 'NORMAL' | 'HIGH';
  /** Duration string: seconds with up to nine decimals and an `s`, e.g. `"3.5s"`; at most `"2419200s"`. */
  ttl?: string;
  restricted_package_name?: string;
  /** Replaces `message.data` on Android; values must be strings (pushline encodes others as JSON). */
  data?: Record<string, unknown>;
  notification?: FcmAndroidNotification;
  fcm_options?: { analytics_label?: string };
  direct_boot_ok?: boolean;
  [field: string]: unknown;
}

/** `ApnsConfig` of the v1 API: APNs headers and the raw APNs payload (`aps` plus custom keys). */
export interface FcmApnsConfig {
  headers?: Record<string, string>;
  payload?: { aps?: Record<string, unknown>; [key: string]: unknown };
  fcm_options?: { analytics_label?: string; image?: string };
  [field: string]: unknown;
}

/** `WebpushConfig` of the v1 API. */
export interface FcmWebpushConfig {
  headers?: Record<string, string>;
  data?: Record<string, unknown>;
  notification?: Record<string, unknown>;
  fcm_options?: { link?: string; analytics_label?: string };
  [field: string]: unknown;
}

/**
 * FCM-only settings for one notification.
 *
 * Targets: by default each device is sent its own message (`token`). With `topic` or
 * `condition` the send addresses a topic instead: ONE message per attempt goes to the topic,
 * and every device routed to FCM in that send shares its outcome (pass a single device that
 * stands for the topic, e.g. `{ platform: 'android', token: 'topic:news' }`; its token is not
 * used). Topic messages are limited to 2048 bytes instead of 4096.
 */
export interface FcmOverrides {
  /** Topic name without the `/topics/` prefix (a leading `/topics/` is accepted and removed). */
  topic?: string;
  /** Topic condition, e.g. `"'stock' in topics && 'news' in topics"`. */
  condition?: string;
  /** Merged over the notification's `data` (same string encoding). */
  data?: Record<string, unknown>;
  android?: FcmAndroidConfig;
  apns?: FcmApnsConfig;
  webpush?: FcmWebpushConfig;
  fcm_options?: { analytics_label?: string };
}

declare module '../../notification.js' {
  interface ProviderOverrides {
    /** Firebase Cloud Messaging (HTTP v1) settings; see {@link FcmOverrides}. */
    fcm?: FcmOverrides;
  }
}

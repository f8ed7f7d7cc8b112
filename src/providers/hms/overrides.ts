/**
 * The `hms` override block of a {@link Notification}: what the common model cannot say,
 * in Push Kit's own field names (snake_case, as in the v1 reference). Each block is merged
 * over what pushline builds from the common fields, the override winning.
 */

/** `ClickAction` of an Android notification: 1 = a custom page (intent or action), 2 = a URL, 3 = open the app. */
export interface HmsClickAction {
  type: 1 | 2 | 3;
  intent?: string;
  action?: string;
  /** `https://` URL, for type 2. */
  url?: string;
  [field: string]: unknown;
}

/** `AndroidNotification` of the v1 API (the fields pushline knows; Huawei checks the rest). */
export interface HmsAndroidNotification {
  title?: string;
  body?: string;
  icon?: string;
  /** `#RRGGBB`. */
  color?: string;
  /** A file in the app's `/res/raw`, e.g. `/raw/shake`. */
  sound?: string;
  default_sound?: boolean;
  tag?: string;
  click_action?: HmsClickAction;
  body_loc_key?: string;
  body_loc_args?: string[];
  title_loc_key?: string;
  title_loc_args?: string[];
  channel_id?: string;
  notify_summary?: string;
  image?: string;
  /** 0 default, 1 big text, 3 inbox. */
  style?: 0 | 1 | 3;
  big_title?: string;
  big_body?: string;
  notify_id?: number;
  group?: string;
  badge?: { add_num?: number; set_num?: number; class: string };
  ticker?: string;
  when?: string;
  importance?: 'LOW' | 'NORMAL';
  use_default_vibrate?: boolean;
  use_default_light?: boolean;
  visibility?: 'VISIBILITY_UNSPECIFIED' | 'PUBLIC' | 'SECRET' | 'PRIVATE';
  foreground_show?: boolean;
  inbox_content?: string[];
  buttons?: Array<{
    name: string;
    action_type: number;
    intent_type?: number;
    intent?: string;
    data?: string;
  }>;
  [field: string]: unknown;
}

/** `AndroidConfig` of the v1 API. */
export interface HmsAndroidConfig {
  /** 0 = keep only the latest offline message, -1 = keep all (default), 1–100 = a group id. */
  collapse_key?: number;
  /** Data messages only; `HIGH` needs a permission from Huawei. */
  urgency?: 'HIGH' | 'NORMAL';
  /** Self-classification: IM, VOIP, SUBSCRIPTION, TRAVEL, HEALTH, WORK, ACCOUNT, EXPRESS, FINANCE, DEVICE_REMINDER, MAIL, MARKETING, … */
  category?: string;
  /** Offline cache time, e.g. `"86400s"`; at most `"1296000s"` (15 days). */
  ttl?: string;
  bi_tag?: string;
  fast_app_target?: 1 | 2;
  /** Replaces `message.data` on Android. */
  data?: string;
  receipt_id?: string;
  /** 1 = a test message (500 a day per app, not counted against the per-device cap). */
  target_user_type?: 0 | 1;
  notification?: HmsAndroidNotification;
  [field: string]: unknown;
}

/**
 * HMS-only settings for one notification.
 *
 * Targets: by default the devices' tokens, up to 1,000 per request. With `topic` or
 * `condition` the send addresses a topic instead: ONE message per attempt, and every device
 * routed to HMS in that send shares its outcome (pass one device that stands for the topic,
 * e.g. `{ platform: 'huawei', token: 'topic:news' }`; its token is not used).
 */
export interface HmsOverrides {
  topic?: string;
  /** e.g. `"'TopicA' in topics && ('TopicB' in topics || 'TopicC' in topics)"` (at most 5 topics). */
  condition?: string;
  /** Merged over the notification's `data` (values that are not strings are JSON-encoded). */
  data?: Record<string, unknown>;
  /** Merged over what pushline builds; `notification` merges one level deeper. */
  android?: HmsAndroidConfig;
  /** `message.notification` (title, body, image), merged over the built one. */
  notification?: { title?: string; body?: string; image?: string };
}

declare module '../../notification.js' {
  interface ProviderOverrides {
    /** Huawei Push Kit settings; see {@link HmsOverrides}. */
    hms?: HmsOverrides;
  }
}

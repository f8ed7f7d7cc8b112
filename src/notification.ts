/**
 * The provider-agnostic notification. It is validated and encoded once per provider per
 * send, and must stay plain data (JSON-serialisable but for `expiresAt`) so that a later
 * server mode can queue it.
 *
 * Each provider adds its own override block (`apns`, `fcm`, `webpush`, `hms`) to
 * {@link ProviderOverrides} by declaration merging, for what the common model cannot say:
 * the core never depends on a provider's types.
 */

/** How urgently to deliver. Mapped per provider (APNs 10/5/1, FCM HIGH/NORMAL, Web Push Urgency). */
export type Priority = 'high' | 'normal' | 'low';

/** Localisation keys for alerts rendered on the device from the app's string tables. */
export interface Localization {
  titleKey?: string;
  titleArgs?: string[];
  subtitleKey?: string;
  subtitleArgs?: string[];
  bodyKey?: string;
  bodyArgs?: string[];
}

/** Override blocks, one per provider, added by each provider module. */
// biome-ignore lint/suspicious/noEmptyInterface: extended by declaration merging in each provider.
export interface ProviderOverrides {}

export interface Notification extends ProviderOverrides {
  title?: string;
  subtitle?: string;
  body?: string;
  /**
   * Custom key/value data for the app. APNs puts it beside `aps`; FCM and HMS need string
   * values, so other values are JSON-encoded there; Web Push puts it in the JSON payload.
   */
  data?: Record<string, unknown>;
  /** App icon badge count; 0 clears it. */
  badge?: number;
  /** Sound name (`'default'` for the system sound). */
  sound?: string;
  /** Image URL shown with the notification where the platform supports it. */
  image?: string;
  /** APNs `category`, FCM `click_action`, Web Push action. */
  category?: string;
  /** Groups notifications on the device (APNs `thread-id`, Android `tag`). */
  threadId?: string;
  /** Later notifications with the same key replace earlier undelivered ones. */
  collapseKey?: string;
  priority?: Priority;
  /** Seconds the provider may keep trying to deliver; 0 = now or never. Exclusive with `expiresAt`. */
  ttl?: number;
  /** Absolute expiry; exclusive with `ttl`. */
  expiresAt?: Date;
  /** Silent / background notification: wakes the app, shows nothing. */
  silent?: boolean;
  /** Lets an iOS notification service extension modify the content. */
  mutableContent?: boolean;
  localization?: Localization;
}

/**
 * The `webpush` block of a {@link Notification}: what the common model cannot say for Web Push.
 * Added to `ProviderOverrides` by declaration merging, so the core never imports this file.
 */

/** RFC 8030 §5.3 `Urgency` values. */
export type WebPushUrgency = 'very-low' | 'low' | 'normal' | 'high';

/** A notification action button (Notifications API `NotificationAction`). */
export interface WebPushAction {
  action: string;
  title: string;
  icon?: string;
}

export interface WebPushOverrides {
  /**
   * Raw plaintext sent instead of the default JSON message (for apps with their own format).
   * At most 3993 bytes. When set, the other content fields below and in the notification are
   * not sent (headers still apply).
   */
  payload?: string | Buffer;
  /** `Topic` header (≤ 32 base64url characters); defaults to the notification's `collapseKey`. */
  topic?: string;
  /** `Urgency` header; defaults from `priority` (high/normal/low). Only here can it be `very-low`. */
  urgency?: WebPushUrgency;
  /** `TTL` header in seconds; defaults from `ttl` / `expiresAt`, else four weeks. */
  ttl?: number;
  /** Notification icon URL (`icon` in the message). */
  icon?: string;
  /** Monochrome badge image URL (`badge` in the message, as `showNotification` takes it). */
  badge?: string;
  /** Page to open when the notification is clicked (`url` in the message). */
  url?: string;
  actions?: WebPushAction[];
  requireInteraction?: boolean;
  renotify?: boolean;
  /** Notification language tag and text direction. */
  lang?: string;
  dir?: 'auto' | 'ltr' | 'rtl';
}

declare module '../../notification.js' {
  interface ProviderOverrides {
    /** Web Push specifics (see {@link WebPushOverrides}). */
    webpush?: WebPushOverrides;
  }
}

/**
 * The default Web Push plaintext: one JSON object built once per send. It is shaped so a
 * service worker can show it directly:
 *
 * ```js
 * self.addEventListener('push', (event) => {
 *   const msg = event.data.json();
 *   event.waitUntil(self.registration.showNotification(msg.title ?? '', msg));
 * });
 * ```
 */

import type { Notification } from '../../notification.js';
import { MAX_PLAINTEXT_LENGTH } from './encrypt.js';
import { badRequest, payloadTooLarge } from './errors.js';
import type { WebPushAction } from './overrides.js';
import './overrides.js';

/**
 * The JSON message pushline sends by default. Each field is present only when its source is set.
 *
 * | field | from |
 * |---|---|
 * | `title` | `notification.title` |
 * | `subtitle` | `notification.subtitle` (no Notifications API field; for the service worker) |
 * | `body` | `notification.body` |
 * | `icon` | `webpush.icon` |
 * | `image` | `notification.image` |
 * | `badge` | `webpush.badge` (an image URL, as the Notifications API means it) |
 * | `badgeCount` | `notification.badge` (the app badge number, for `navigator.setAppBadge`) |
 * | `tag` | `notification.threadId` |
 * | `data` | `notification.data` |
 * | `url` | `webpush.url` |
 * | `category` | `notification.category` |
 * | `actions`, `requireInteraction`, `renotify`, `lang`, `dir` | the `webpush` block |
 * | `silent` | `notification.silent` (browsers have no background push; the worker decides) |
 * | `sound` | `notification.sound` |
 */
export interface WebPushMessage {
  title?: string;
  subtitle?: string;
  body?: string;
  icon?: string;
  image?: string;
  badge?: string;
  badgeCount?: number;
  tag?: string;
  data?: Record<string, unknown>;
  url?: string;
  category?: string;
  actions?: WebPushAction[];
  requireInteraction?: boolean;
  renotify?: boolean;
  lang?: string;
  dir?: 'auto' | 'ltr' | 'rtl';
  silent?: boolean;
  sound?: string;
}

/** Builds the default message object (undefined fields are left out by JSON). */
export function buildMessage(notification: Notification): WebPushMessage {
  const web = notification.webpush ?? {};
  return {
    title: notification.title,
    subtitle: notification.subtitle,
    body: notification.body,
    icon: web.icon,
    image: notification.image,
    badge: web.badge,
    badgeCount: notification.badge,
    tag: notification.threadId,
    data: notification.data,
    url: web.url,
    category: notification.category,
    actions: web.actions,
    requireInteraction: web.requireInteraction,
    renotify: web.renotify,
    lang: web.lang,
    dir: web.dir,
    silent: notification.silent,
    sound: notification.sound,
  };
}

/** The plaintext for a notification: `webpush.payload` as given, else the JSON message. */
export function buildPlaintext(notification: Notification): Buffer {
  const raw = notification.webpush?.payload;
  let plaintext: Buffer;
  if (raw !== undefined) {
    if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) {
      throw badRequest('webpush.payload must be a string or a Buffer');
    }
    plaintext = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  } else {
    plaintext = Buffer.from(JSON.stringify(buildMessage(notification)), 'utf8');
  }
  if (plaintext.length > MAX_PLAINTEXT_LENGTH) {
    throw payloadTooLarge(
      `Web Push payload is ${plaintext.length} bytes; at most ${MAX_PLAINTEXT_LENGTH} fit one 4096-byte record`,
    );
  }
  return plaintext;
}

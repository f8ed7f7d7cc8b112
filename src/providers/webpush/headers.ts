/**
 * Request headers of a Web Push message (RFC 8030 §5), decided once per send.
 *
 * | header | rule |
 * |---|---|
 * | `TTL` | always: `webpush.ttl`, else `ttl`, else seconds left until `expiresAt`, else {@link DEFAULT_TTL_SECONDS} |
 * | `Urgency` | `webpush.urgency`, else `priority` high→`high`, normal→`normal`, low→`low`; absent = the service's default (normal) |
 * | `Topic` | `webpush.topic`, else `collapseKey`; ≤ 32 characters of the base64url alphabet |
 * | `Content-Encoding` | `aes128gcm` (RFC 8291) |
 * | `Content-Type` | `application/octet-stream` |
 *
 * `Topic` is also what makes a re-send after a lost answer harmless while the browser is away:
 * the push service replaces its pending message with the same topic (RFC 8030 §5.4). One it
 * already delivered is not replaced; the service worker's `tag` (from `threadId`) then decides
 * whether the second notification replaces the first on screen.
 */

import type { Notification, Priority } from '../../notification.js';
import { badRequest } from './errors.js';
import type { WebPushUrgency } from './overrides.js';
import './overrides.js';

/** Four weeks, the longest most push services keep a message (and `web-push`'s default). */
export const DEFAULT_TTL_SECONDS = 28 * 24 * 3600;

const URGENCY_BY_PRIORITY: Record<Priority, WebPushUrgency> = { high: 'high', normal: 'normal', low: 'low' };
const URGENCIES: ReadonlySet<string> = new Set(['very-low', 'low', 'normal', 'high']);
/** RFC 8030 §5.4: a topic is at most 32 characters from the URL- and filename-safe base64 alphabet. */
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

export interface PreparedHeaders {
  /** Headers without `TTL` and `Authorization`. */
  readonly fixed: Readonly<Record<string, string>>;
  /** `TTL` at the time of the request (an `expiresAt` shrinks it across retries). */
  ttl(): string;
}

function checkSeconds(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badRequest(`${what} must be a whole number of seconds ≥ 0, got ${String(value)}`);
  }
  return value;
}

export function prepareHeaders(notification: Notification, now: () => number = Date.now): PreparedHeaders {
  const web = notification.webpush ?? {};
  const fixed: Record<string, string> = {
    'content-encoding': 'aes128gcm',
    'content-type': 'application/octet-stream',
  };

  const urgency = web.urgency ?? (notification.priority && URGENCY_BY_PRIORITY[notification.priority]);
  if (urgency !== undefined) {
    if (!URGENCIES.has(urgency)) {
      throw badRequest(`Web Push urgency must be very-low, low, normal or high, got ${urgency}`);
    }
    fixed['urgency'] = urgency;
  }

  const topic = web.topic ?? notification.collapseKey;
  if (topic !== undefined) {
    if (typeof topic !== 'string' || !TOPIC.test(topic)) {
      throw badRequest(
        `Web Push Topic (webpush.topic or collapseKey) must be 1–32 characters of A–Z a–z 0–9 - _, got ${JSON.stringify(topic)}`,
      );
    }
    fixed['topic'] = topic;
  }

  if (notification.ttl !== undefined && notification.expiresAt !== undefined) {
    throw badRequest('notification.ttl and notification.expiresAt are exclusive');
  }
  let ttl: () => string;
  if (web.ttl !== undefined) {
    const value = String(checkSeconds(web.ttl, 'webpush.ttl'));
    ttl = () => value;
  } else if (notification.ttl !== undefined) {
    const value = String(checkSeconds(notification.ttl, 'notification.ttl'));
    ttl = () => value;
  } else if (notification.expiresAt !== undefined) {
    const expiresAt = notification.expiresAt;
    if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
      throw badRequest('notification.expiresAt must be a valid Date');
    }
    // A message already past its expiry still goes out with TTL 0: "deliver now or drop".
    ttl = () => String(Math.max(0, Math.ceil((expiresAt.getTime() - now()) / 1000)));
  } else {
    const value = String(DEFAULT_TTL_SECONDS);
    ttl = () => value;
  }
  return { fixed, ttl };
}

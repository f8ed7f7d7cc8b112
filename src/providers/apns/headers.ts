/**
 * The APNs request headers (PROTOCOLS.md §1 "Request headers"), worked out once per
 * `prepare`: push type, topic with its push-type suffix, priority, expiration, collapse id.
 *
 * `apns-id` is not sent: Apple generates a canonical UUID for each request and returns it
 * in the response, which pushline reports as the feedback's `messageId`. A per-notification
 * id would be wrong anyway (every device's request is a notification of its own). A per-device
 * id kept across retries would not make a re-send harmless either: Apple uses it to name the
 * notification in its answers, and documents no de-duplication by it. What does is the
 * collapse id: notifications with the same `apns-collapse-id` are shown as one, so a re-send
 * after a lost answer (at-least-once delivery) replaces the first on the device instead of
 * adding a second. It comes only from the notification (`collapseKey` / `apns.collapseId`):
 * pushline never invents one, since it would also make unrelated pushes replace each other.
 */
import type { Notification, Priority } from '../../notification.js';
import { badRequest } from './errors.js';
import type { ApnsPushType } from './overrides.js';
import { APNS_PUSH_TYPES } from './overrides.js';

/** Topic suffix per push type (Apple: the `apns-topic` for these pushes is the bundle id plus this). */
export const TOPIC_SUFFIX: Readonly<Record<ApnsPushType, string>> = {
  alert: '',
  background: '',
  mdm: '',
  voip: '.voip',
  complication: '.complication',
  fileprovider: '.pushkit.fileprovider',
  liveactivity: '.push-type.liveactivity',
  location: '.location-query',
  pushtotalk: '.voip-ptt',
  widgets: '.push-type.widgets',
  controls: '.push-type.controls',
};

/** Common priority → `apns-priority`. */
export const PRIORITY_VALUE: Readonly<Record<Priority, 10 | 5 | 1>> = { high: 10, normal: 5, low: 1 };

/** Most bytes in `apns-collapse-id`. */
export const MAX_COLLAPSE_ID_BYTES = 64;

/**
 * The push type for a notification: `apns.pushType` when given, else `liveactivity` for a
 * Live Activity, `background` for a silent notification, `alert` otherwise.
 */
export function inferPushType(notification: Notification): ApnsPushType {
  const explicit = notification.apns?.pushType;
  if (explicit !== undefined) {
    if (!APNS_PUSH_TYPES.includes(explicit)) {
      throw badRequest(`apns.pushType '${String(explicit)}' is not one of ${APNS_PUSH_TYPES.join(', ')}`);
    }
    return explicit;
  }
  if (notification.apns?.liveActivity !== undefined) return 'liveactivity';
  if (notification.silent === true) return 'background';
  return 'alert';
}

/** The bundle id with the push type's suffix (not doubled when the caller already added it). */
export function topicFor(bundleId: string, pushType: ApnsPushType): string {
  const suffix = TOPIC_SUFFIX[pushType];
  return suffix === '' || bundleId.endsWith(suffix) ? bundleId : bundleId + suffix;
}

/**
 * `apns-priority`. Apple: background pushes must use 5 ("It is an error to specify 10 for a
 * background push"), so 5 is forced there and any other explicit priority is refused.
 */
export function priorityFor(notification: Notification, pushType: ApnsPushType): 10 | 5 | 1 {
  const override = notification.apns?.priority;
  if (override !== undefined && override !== 10 && override !== 5 && override !== 1) {
    throw badRequest(`apns.priority must be 10, 5 or 1; got ${String(override)}`);
  }
  const common = notification.priority;
  if (common !== undefined && !(common in PRIORITY_VALUE)) {
    throw badRequest(`priority must be 'high', 'normal' or 'low'; got ${String(common)}`);
  }
  const explicit = override ?? (common === undefined ? undefined : PRIORITY_VALUE[common]);
  if (pushType === 'background') {
    if (explicit !== undefined && explicit !== 5) {
      const said =
        override !== undefined ? `apns.priority ${override}` : `priority '${common}' (${explicit})`;
      throw badRequest(
        `a background (silent) push must use priority 5 (Apple rejects 10 for background pushes); got ${said}: drop it or use 'normal'`,
      );
    }
    return 5;
  }
  return explicit ?? 10;
}

/**
 * `apns-expiration` in UNIX seconds, or undefined to leave storage to Apple's default.
 * `ttl: 0` becomes `0` (Apple: "treats the notification as if it expires immediately and
 * does not store the notification or attempt to redeliver it").
 */
export function expirationFor(notification: Notification, nowMs: number): number | undefined {
  const { ttl, expiresAt } = notification;
  if (ttl !== undefined && expiresAt !== undefined) {
    throw badRequest('ttl and expiresAt are exclusive: give one of them');
  }
  if (ttl !== undefined) {
    if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) {
      throw badRequest(`ttl must be a number of seconds ≥ 0; got ${String(ttl)}`);
    }
    return ttl === 0 ? 0 : Math.floor(nowMs / 1000 + ttl);
  }
  if (expiresAt !== undefined) {
    const ms = expiresAt instanceof Date ? expiresAt.getTime() : Number.NaN;
    if (!Number.isFinite(ms)) throw badRequest('expiresAt must be a valid Date');
    // 0 means "try once"; an absolute date in 1970 would mean the same, so never send 0 by accident.
    return Math.max(1, Math.floor(ms / 1000));
  }
  return undefined;
}

/** `apns-collapse-id`: `apns.collapseId`, else the common `collapseKey`; at most 64 bytes. */
export function collapseIdFor(notification: Notification): string | undefined {
  const id = notification.apns?.collapseId ?? notification.collapseKey;
  if (id === undefined) return undefined;
  if (typeof id !== 'string' || id === '') throw badRequest('the collapse id must be a non-empty string');
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > MAX_COLLAPSE_ID_BYTES) {
    throw badRequest(`the collapse id is ${bytes} bytes; APNs allows at most ${MAX_COLLAPSE_ID_BYTES}`);
  }
  return id;
}

/**
 * The headers every request of this send carries (no `authorization`: token auth adds it
 * per request from the shared token cache).
 */
export function buildHeaders(
  notification: Notification,
  pushType: ApnsPushType,
  bundleId: string,
  nowMs: number,
): Record<string, string> {
  const headers: Record<string, string> = {
    'apns-push-type': pushType,
    'apns-topic': topicFor(bundleId, pushType),
    'apns-priority': String(priorityFor(notification, pushType)),
  };
  const expiration = expirationFor(notification, nowMs);
  if (expiration !== undefined) headers['apns-expiration'] = String(expiration);
  const collapseId = collapseIdFor(notification);
  if (collapseId !== undefined) headers['apns-collapse-id'] = collapseId;
  return headers;
}

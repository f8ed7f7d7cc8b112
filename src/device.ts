/** The platforms pushline routes by. */
export type Platform = 'ios' | 'android' | 'web' | 'huawei';

export const PLATFORMS: readonly Platform[] = ['ios', 'android', 'web', 'huawei'];

/** A browser's push subscription, as `PushSubscription.toJSON()` gives it (keys in base64url). */
export interface WebPushSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/**
 * One device to send to. `token` is the provider's device token; for `web` it is the
 * subscription object (or that object as a JSON string, the way databases usually store it).
 *
 * Anything else the caller attaches (a row id, a user id) is carried through untouched and
 * comes back on the device's {@link Feedback}, so the caller knows which row to update.
 */
export interface Device {
  platform: Platform;
  token: string | WebPushSubscription;
  /** Which app the token belongs to, when one client serves several apps (see provider `app`). */
  app?: string;
  /**
   * Set by a device source on a placeholder for an input it could not parse (e.g.
   * `line 7 of devices.ndjson: not valid JSON`): the device fails as `invalid-device` with this text.
   */
  malformed?: string;
  [extra: string]: unknown;
}

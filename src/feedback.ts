import type { Device } from './device.js';
import type { PushError } from './errors.js';

/**
 * What happened to one device: exactly one per device handed in. `validated` is the success
 * of a dry run (or of FCM's `validateOnly`): the provider's checks passed and nothing was
 * delivered; a dry run never says `sent`.
 */
export type FeedbackStatus = 'sent' | 'validated' | 'invalid-token' | 'failed';

export interface Feedback<D extends Device = Device> {
  /** The caller's own device object, untouched (with whatever it carried). */
  device: D;
  status: FeedbackStatus;
  /**
   * Name of the provider that handled it (`Provider.name`: `apns`, `fcm`, …, `apns:<app>` for a
   * provider serving an app, or the provider's `name` option); absent for `no-provider`.
   */
  provider?: string;
  /** The provider's id for the message (APNs `apns-id`, FCM message name), when sent or validated remotely. */
  messageId?: string;
  /** Status of the last HTTP response, when there was one. */
  httpStatus?: number;
  /**
   * Requests made for this device: 0 when it was decided without one (failed before any
   * request, a malformed token, a dry run checked locally).
   */
  attempts: number;
  /** Why it was not sent; present exactly when `status` is `invalid-token` or `failed`. */
  error?: PushError;
  /**
   * Not `'sent'`, yet the push may have been delivered: at least one attempt's request reached
   * the provider and no answer came back (connection lost after sending, timeout, abort in
   * flight). Kept even when a later attempt got a definitive answer (an `invalid-token`, say):
   * the earlier request may have been delivered before that. `error.maybeDelivered` says the
   * same. Re-sending such a device may deliver it twice. Absent when not so.
   */
  maybeDelivered?: true;
  /**
   * `'sent'`, after an earlier attempt that may have been delivered too (see `maybeDelivered`):
   * the device may have received this push twice. Only at-least-once delivery re-sends such an
   * attempt. Absent when not so.
   */
  maybeDuplicate?: true;
}

/**
 * The contract between the engine and a provider. A provider is one folder under
 * `src/providers/<name>/` exporting a factory (`apns(options)`) that returns a `Provider`.
 *
 * The engine owns routing, windows, retries, the configuration-error circuit and feedback;
 * a provider owns its protocol: validate and encode a notification once (`prepare`), send it
 * to a device (or a batch of them), and map each answer to an {@link Outcome}.
 */
import type { Device, Platform } from './device.js';
import type { PushError } from './errors.js';
import type { Notification } from './notification.js';

/** What a provider reports for one device after one attempt. */
export type Outcome =
  | { ok: true; messageId?: string; httpStatus?: number }
  | { ok: false; error: PushError; httpStatus?: number };

export interface SendContext {
  /** Aborted when the delivery is aborted or the client destroyed: cancel the request. */
  signal: AbortSignal;
  /** 1 for the first attempt at this device, 2 for the first retry, … */
  attempt: number;
}

export interface PrepareOptions {
  /** Validate with the provider without delivering (FCM `validate_only`), where supported. */
  dryRun?: boolean;
}

/**
 * A notification encoded for one provider, made once per send. Implement `send` for
 * one-request-per-token protocols (APNs, FCM, Web Push) or `sendBatch` for protocols that
 * take many tokens per request (HMS, up to `batchSize`).
 *
 * Both must resolve (never reject) with one outcome per device: a rejection is reported as
 * an `internal` failure for each device involved. Validation that needs no request (a token
 * that is not hex) resolves at once with `{ ok: false }`.
 */
export interface PreparedSend {
  send?(device: Device, ctx: SendContext): Promise<Outcome>;
  /** Outcomes in the same order as `devices`. */
  sendBatch?(devices: readonly Device[], ctx: SendContext): Promise<Outcome[]>;
}

export interface Provider {
  /** Short name used in feedback and summaries: `apns`, `fcm`, `webpush`, `hms`, … */
  readonly name: string;
  /** The device platforms this provider sends to. */
  readonly platforms: readonly Platform[];
  /**
   * The app this provider serves, when one client serves several apps. Devices with
   * `app` set go only to the provider registered for that app.
   */
  readonly app?: string;
  /** Most devices per request (`sendBatch`); 1 (the default) means one request per device. */
  readonly batchSize?: number;
  /** Requests this provider keeps in flight at once; the engine's per-lane limit. */
  readonly concurrency?: number;
  /**
   * Validates and encodes the notification once. Throwing a PushError (payload too large,
   * bad override) fails every device routed to this provider in this send with that error,
   * without a request.
   */
  prepare(notification: Notification, options: PrepareOptions): PreparedSend;
  /** Finishes in-flight requests, then releases connections and timers. */
  close(): Promise<void>;
  /** Drops everything now. */
  destroy?(): void;
}

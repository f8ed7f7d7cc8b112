/**
 * The one error type pushline reports. Callers branch on `code`, never on `message`.
 *
 * A `PushError` travels inside a {@link Feedback} (it is never thrown out of a delivery);
 * it is thrown only for programmer errors at the call site (bad options, send after close).
 */

/** Stable error codes. Adding one is a minor change; renaming one is a breaking change. */
export type PushErrorCode =
  /** The provider says the token (or subscription) is dead or malformed: delete it. */
  | 'invalid-token'
  /** The encoded payload is over the provider's limit; nothing was sent. */
  | 'payload-too-large'
  /** The request or notification is wrong in a way that will not change on retry. */
  | 'bad-request'
  /** Authentication failed (bad key, revoked certificate, rejected JWT). Stops the provider's lane. */
  | 'auth'
  /** The provider is misconfigured (wrong topic, bad options). Stops the provider's lane. */
  | 'config'
  /** The provider asked us to slow down. Retryable. */
  | 'rate-limited'
  /** The provider or the connection is unavailable. Retryable. */
  | 'unavailable'
  /** No answer in time. Retryable. */
  | 'timeout'
  /** The send was aborted (AbortSignal, close or destroy) before an outcome was known. */
  | 'aborted'
  /** No registered provider serves this device's platform (and app). */
  | 'no-provider'
  /** The device object itself is unusable (not an object, no platform). */
  | 'invalid-device'
  /** The client was closed; no more sends are accepted. */
  | 'closed'
  /** A bug: a provider threw, or answered something it should not have. */
  | 'internal';

export interface PushErrorOptions {
  /** The provider's own reason string (e.g. APNs `BadDeviceToken`, FCM `UNREGISTERED`). */
  reason?: string;
  httpStatus?: number;
  /** Whether trying again later may succeed. Defaults by code (see {@link RETRYABLE_BY_DEFAULT}). */
  retryable?: boolean;
  /** The provider's `Retry-After`, in milliseconds, when it gave one. */
  retryAfterMs?: number;
  /** When the provider says the token stopped being valid (APNs 410 `timestamp`). */
  invalidatedAt?: Date;
  /** Name of the provider that reported it (`apns`, `fcm`, …). */
  provider?: string;
  /**
   * The request may have reached the provider although no answer came back (the connection
   * was lost, the request timed out or was aborted after it was written). Default false.
   */
  maybeDelivered?: boolean;
  cause?: unknown;
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<PushErrorCode> = new Set(['rate-limited', 'unavailable', 'timeout']);

/** Codes that will repeat for every device of a provider: the engine stops that lane on them. */
const LANE_FATAL: ReadonlySet<PushErrorCode> = new Set(['auth', 'config']);

/**
 * The brand every PushError carries, registered globally (`Symbol.for`), so that `instanceof`
 * holds across two installed copies of pushline (a library and the app both depending on it, at
 * different versions or paths): each copy has its own class, the brand is the same.
 */
const kPushError = Symbol.for('pushline.error');

export class PushError extends Error {
  /** `instanceof PushError` is true for a PushError of any installed copy of pushline. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kPushError] === true
    );
  }

  override readonly name = 'PushError';
  readonly [kPushError] = true;
  readonly code: PushErrorCode;
  readonly reason: string | undefined;
  readonly httpStatus: number | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly invalidatedAt: Date | undefined;
  readonly provider: string | undefined;
  /**
   * True when this attempt's request may have reached the provider without an answer coming
   * back (connection lost after the request was written, timeout or abort in flight): the push
   * may have been delivered. False when the request provably never left, or was answered.
   */
  readonly maybeDelivered: boolean;

  constructor(code: PushErrorCode, message: string, options: PushErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = options.reason;
    this.httpStatus = options.httpStatus;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.retryAfterMs = options.retryAfterMs;
    this.invalidatedAt = options.invalidatedAt;
    this.provider = options.provider;
    this.maybeDelivered = options.maybeDelivered === true;
  }

  /** A copy with some fields changed (a PushError is immutable); `cause` and the rest are kept. */
  with(changes: PushErrorOptions & { message?: string }): PushError {
    const { message, ...options } = changes;
    return new PushError(this.code, message ?? this.message, {
      reason: this.reason,
      httpStatus: this.httpStatus,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      invalidatedAt: this.invalidatedAt,
      provider: this.provider,
      maybeDelivered: this.maybeDelivered,
      cause: this.cause,
      ...options,
    });
  }

  /** True when this error will repeat for every device of the same provider (bad key, wrong topic…). */
  get stopsLane(): boolean {
    return LANE_FATAL.has(this.code);
  }

  /** A plain object for logs and NDJSON (Error's own fields are not enumerable). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      reason: this.reason,
      httpStatus: this.httpStatus,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      invalidatedAt: this.invalidatedAt?.toISOString(),
      provider: this.provider,
      // Only when set, so the lines of the usual case stay as they were.
      maybeDelivered: this.maybeDelivered ? true : undefined,
    };
  }
}

/** Wraps anything thrown into a PushError, keeping PushErrors as they are. */
export function toPushError(thrown: unknown, fallbackCode: PushErrorCode = 'internal'): PushError {
  if (thrown instanceof PushError) return thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return new PushError(fallbackCode, message, { cause: thrown });
}

/**
 * A thrown value as a PushError carrying `provider`'s name: a PushError without one (the
 * transport's, which serves every provider) gets it, its code and fields kept and the original
 * as its cause; one already named stays as it is; anything else is `internal`.
 */
export function namedAfter(thrown: unknown, provider: string): PushError {
  const error = toPushError(thrown);
  return error.provider === undefined ? error.with({ provider, cause: thrown }) : error;
}

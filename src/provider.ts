/**
 * The contract between the engine and a provider. A provider is one folder under
 * `src/providers/<name>/` exporting a factory (`apns(options)`) that returns a `Provider`.
 *
 * The engine owns routing, windows, retries, the configuration-error circuit and feedback;
 * a provider owns its protocol: validate and encode a notification once (`prepare`), send it
 * to a device (or a batch of them), and map each answer to an {@link Outcome}.
 */
import type { Device, Platform } from './device.js';
import { PushError } from './errors.js';
import type { Notification } from './notification.js';

/**
 * What a provider reports for one device after one attempt.
 *
 * `requested: false` says the provider decided without making a request (a token that is not
 * hex, a subscription that does not parse, a dry run checked locally): the engine leaves that
 * attempt out of the feedback's `attempts`. `validated: true` says the provider's service
 * checked the message without delivering it (FCM `validate_only`): the feedback says
 * `validated`, never `sent`.
 */
export type Outcome =
  | { ok: true; messageId?: string; httpStatus?: number; requested?: boolean; validated?: boolean }
  | { ok: false; error: PushError; httpStatus?: number; requested?: boolean };

export interface SendContext {
  /** Aborted when the delivery is aborted or the client destroyed: cancel the request. */
  signal: AbortSignal;
  /** 1 for the first attempt at this device, 2 for the first retry, … */
  attempt: number;
}

/**
 * Per-send options for `prepare`. A dry run is not one of them: the engine never calls
 * `prepare` in a dry run, it calls {@link Provider.dryRun} (see {@link DryRun}).
 */
// biome-ignore lint/suspicious/noEmptyInterface: kept so providers' signatures stay stable as per-send options are added.
export interface PrepareOptions {}

/**
 * How a provider checks a notification without delivering it. A dry run delivers nothing on
 * any provider, by construction: in a dry run the engine calls `dryRun.prepare` and never the
 * provider's `prepare`, and the devices of a provider without `dryRun` fail with a `config`
 * error ("cannot dry-run") without a request. Every `ok` outcome of a dry run is reported as
 * `validated`.
 */
export interface DryRun {
  /**
   * `remote`: each device's request goes to the provider's service marked validate-only, which
   * checks it and delivers nothing (FCM `validate_only`). `local`: everything a send checks
   * before its request is checked here (token, payload, headers, credentials, encryption), and
   * no request is made (its outcomes say `requested: false`).
   */
  readonly mode: 'remote' | 'local';
  /** What is checked, in a few words for people (logs, the CLI's dry-run report). */
  readonly checks: string;
  /** As {@link Provider.prepare}; the sends it returns validate and never deliver. */
  prepare(notification: Notification): PreparedSend;
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
  /**
   * Outcomes in the same order as `devices`, one per device — a device the service accepted is
   * `ok` even when others of the same request failed. The engine retries only the devices whose
   * own outcome is a retryable failure, so a device already delivered is never in a later batch;
   * a batch's retries wait together (one backoff) and go back as one batch. `ctx.attempt` is the
   * highest attempt number among the devices (a batch may mix first tries and retries).
   */
  sendBatch?(devices: readonly Device[], ctx: SendContext): Promise<Outcome[]>;
}

/**
 * `send` without a promise, for pushline's own providers: the engine calls it instead of
 * `send` when a prepared send has it. The outcome goes to `sink.outcome(outcome, job)` exactly
 * once and never during the call. At 10,000 requests in flight a `send`'s chain — its promise,
 * the pool's, their closures, contexts and reactions — was half of what a request in flight
 * held (bench/latency-memory.ts), and all of it lives through a round trip into V8's old
 * generation. Not part of the public interface: a symbol no custom provider can meet by chance.
 */
export const SEND_TO: unique symbol = Symbol('pushline.sendTo');

/** Where a {@link SEND_TO} send hands its outcome; `job` is what the caller passed along. */
export interface OutcomeSink<J> {
  outcome(outcome: Outcome, job: J): void;
}

export interface CallbackSend {
  [SEND_TO]<J>(device: Device, ctx: SendContext, sink: OutcomeSink<J>, job: J): void;
}

/** Whether a prepared send has the callback form. */
export function hasSendTo(prepared: PreparedSend): prepared is PreparedSend & CallbackSend {
  return typeof (prepared as Partial<CallbackSend>)[SEND_TO] === 'function';
}

/** The sink behind {@link sendThroughSink}: the token is the promise's resolve. */
const RESOLVE: OutcomeSink<(outcome: Outcome) => void> = { outcome: (outcome, resolve) => resolve(outcome) };

/**
 * `send` made of a callback send: one implementation behind both forms, so that what is tested
 * through `send` is what the engine runs. A throw in `sendTo` rejects, as a throwing `send` would.
 */
export function sendThroughSink(prepared: CallbackSend, device: Device, ctx: SendContext): Promise<Outcome> {
  return new Promise((resolve) => prepared[SEND_TO](device, ctx, RESOLVE, resolve));
}

/** Hands an outcome to the sink: at once, or when a promise of it settles (it must not reject). */
export function handOutcome<J>(sink: OutcomeSink<J>, outcome: Outcome | Promise<Outcome>, job: J): void {
  if (outcome instanceof Promise) void outcome.then((settled) => sink.outcome(settled, job));
  else sink.outcome(outcome, job);
}

/** Hands `outcome` to the sink in a microtask: a {@link SEND_TO} send never answers during its call. */
export function answerLater<J>(sink: OutcomeSink<J>, outcome: Outcome, job: J): void {
  queueMicrotask(() => sink.outcome(outcome, job));
}

export interface Provider {
  /**
   * Short name used in feedback (`Feedback.provider`), summaries and metrics: by default the
   * provider's kind (`apns`, `fcm`, `webpush`, `hms`), `<kind>:<app>` for a provider serving an
   * `app`, or the `name` option. Unique within a client: the client refuses two providers of one
   * name (their counts would merge).
   */
  readonly name: string;
  /** The device platforms this provider sends to. */
  readonly platforms: readonly Platform[];
  /**
   * The app this provider serves, when one client serves several apps. Devices with
   * `app` set go only to the provider registered for that app.
   */
  readonly app?: string;
  /**
   * Most devices per request (`sendBatch`); 1 (the default) means one request per device. A
   * batching provider's lane holds at least two full batches whatever the send's `window`, so
   * one batch fills while another is in flight.
   */
  readonly batchSize?: number;
  /** Requests this provider keeps in flight at once; the engine's per-lane limit. */
  readonly concurrency?: number;
  /**
   * Validates and encodes the notification once. Throwing a PushError (payload too large,
   * bad override) fails every device routed to this provider in this send with that error,
   * without a request.
   */
  prepare(notification: Notification, options: PrepareOptions): PreparedSend;
  /** The dry-run path, when the provider can check without delivering (see {@link DryRun}). */
  readonly dryRun?: DryRun;
  /** Topic subscriptions of its devices, when the service has them (FCM); see {@link TopicManagement}. */
  readonly topics?: TopicManagement;
  /** Finishes in-flight requests, then releases connections and timers. */
  close(): Promise<void>;
  /**
   * Drops everything now: fails every request in flight (`closed`) and resolves when the
   * provider holds no connection, timer or worker any more (sockets closed, workers exited).
   * Calling it again returns a promise that settles the same way.
   */
  destroy(): Promise<void>;
}

/**
 * A provider's {@link Provider.name} from its options: `name` when given, else the provider's
 * kind (`apns`), or `<kind>:<app>` for a provider serving an `app` — so two apps' providers of
 * one client are told apart in feedback and summaries, and never share a name by default.
 * Throws a `config` PushError for a name that is not a short printable string.
 */
export function providerName(kind: string, name: unknown, app: string | undefined): string {
  if (name === undefined) return app === undefined ? kind : `${kind}:${app}`;
  if (typeof name !== 'string' || name.trim() === '' || name.length > 64 || hasControl(name)) {
    throw new PushError(
      'config',
      `${kind}: name must be a non-empty string of at most 64 printable characters, e.g. '${kind}-pro'; got ${typeof name === 'string' ? JSON.stringify(name.slice(0, 80)) : typeof name}`,
      { provider: kind },
    );
  }
  return name;
}

/** Control characters would garble terminal tables and log lines that show the name. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** Subscribing devices to a topic, or unsubscribing them from it. */
export type TopicOperation = 'subscribe' | 'unsubscribe';

/**
 * A provider's topic subscriptions (FCM's Instance ID `batchAdd` / `batchRemove`), run by the
 * engine like a send (`client.subscribe(topic, devices)`): devices are batched up to
 * `batchSize` per request, retried and answered one feedback each, `sent` meaning done.
 */
export interface TopicManagement {
  /** Most devices per request. */
  readonly batchSize: number;
  /**
   * The requests for one operation on one topic. Throws a PushError (`bad-request`) at once
   * for a topic name the service would refuse, before any request. The returned
   * `sendBatch` resolves with one outcome per device, in order, like a send's.
   */
  prepare(operation: TopicOperation, topic: string): PreparedSend;
}

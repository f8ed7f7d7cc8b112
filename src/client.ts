/**
 * The long-lived entry point: build one PushClient per process from your providers, send
 * many notifications through it, close it on shutdown.
 */
import type { Duplex } from 'node:stream';
import type { Device } from './device.js';
import { type Delivery, DeliveryRun, type EngineSettings } from './engine/delivery.js';
import { sessionDuplex } from './engine/duplex.js';
import type { LaneOverflow } from './engine/lane-bounds.js';
import type { Personalise } from './engine/personalise.js';
import { PushSource } from './engine/push-source.js';
import { type DeliverySemantics, deliverySemantics, type RetryOptions, retryPolicy } from './engine/retry.js';
import { Router } from './engine/router.js';
import { type Session, SessionHandle } from './engine/session.js';
import type { DeviceSource } from './engine/source.js';
import { PushError } from './errors.js';
import type { Notification } from './notification.js';
import type { PreparedSend, Provider, TopicOperation } from './provider.js';

export interface PushClientOptions {
  providers: Provider[];
  /**
   * Devices each provider lane holds at once (queued + in flight). The source is read only
   * as fast as this window frees: memory depends on it, not on the number of devices.
   * Default 1000, raised to the provider's concurrency when that is higher (an adaptive
   * transport raises it at a distance); a window you set is kept as given.
   */
  window?: number;
  /**
   * Devices each provider lane may hold waiting for a retry (they don't take window slots).
   * A lane that reaches it takes no new devices until some finish. Default 10,000.
   */
  maxWaitingRetries?: number;
  /**
   * A provider lane counts as slow when its answers take this much longer on average than the
   * fastest other lane's of the same send (or it answers nothing for that long), ms, and 3× as
   * long, for 1 s in a row — so a sender short of CPU, which makes every lane late, is not
   * taken for a slow provider (nor is anybody judged slow while the event loop is saturated).
   * Slow, or failing (most recent answers retryable failures: a 503 or 429 storm),
   * is the trouble that lets a mixed send fail a full lane's further devices fast (see
   * `laneOverflow`). Default 500.
   */
  slowAnswerMs?: number;
  /**
   * When a lane is full (`window` queued or in flight, or `maxWaitingRetries` waiting) and in
   * trouble (failing or slow) while another lane of the same send has room and waits for
   * reading: `'fail'` (default) fails that lane's further devices at once with a retryable
   * `unavailable` naming the trouble, so the other providers keep their pace; `'wait'` holds
   * reading for it, as a single-provider send always does.
   */
  laneOverflow?: LaneOverflow;
  retry?: RetryOptions;
  /**
   * Whether an attempt that may have been delivered (its request reached the provider, no
   * answer came back) is sent again: `'at-least-once'` (default) re-sends it, risking a
   * duplicate; `'at-most-once'` never does, and the device fails `maybeDelivered`, not
   * retryable. See README, "How a send behaves".
   */
  delivery?: DeliverySemantics;
}

export interface SendOptions {
  /** Aborting stops reading devices; every device not yet answered gets an `aborted` feedback. */
  signal?: AbortSignal;
  /**
   * Validate without delivering anything, on every provider: FCM checks each message with
   * `validate_only`; APNs and Web Push check locally and make no request; a provider without
   * a dry-run path fails its devices with `config`. Successes are `validated`, never `sent`.
   */
  dryRun?: boolean;
  window?: number;
  /** Overrides the client's `laneOverflow` for this send. */
  laneOverflow?: LaneOverflow;
  retry?: RetryOptions;
  /** This send's delivery semantics; default: the client's (see {@link PushClientOptions.delivery}). */
  delivery?: DeliverySemantics;
}

/** Options of {@link PushClient.subscribe} / {@link PushClient.unsubscribe}. */
export interface TopicOptions {
  /** Aborting stops reading devices; every device not yet answered gets an `aborted` feedback. */
  signal?: AbortSignal;
  /**
   * Devices each provider lane holds at once; a topic lane always holds at least two requests'
   * worth (2,000 tokens). More lets more requests of 1,000 tokens run at once.
   */
  window?: number;
  /** Overrides the client's `laneOverflow`. */
  laneOverflow?: LaneOverflow;
  retry?: RetryOptions;
}

/** What the engine is handed as the notification of a topic operation: never encoded. */
const TOPIC_OPERATION: Notification = Object.freeze({});

/**
 * A provider as a topic operation sees it: the same name, platforms, app and concurrency (so
 * devices route as in a send), sending through its topic management, or failing every device
 * it gets when it has none. Closing it closes nothing: it owns no connection.
 */
function topicStandIn(provider: Provider, operation: TopicOperation, topic: string): Provider {
  const topics = provider.topics;
  // The topic name is checked here, once, before any device is read: a bad one throws.
  const prepared = topics?.prepare(operation, topic);
  const standIn: Provider = {
    name: provider.name,
    platforms: provider.platforms,
    batchSize: topics?.batchSize ?? 1,
    prepare(): PreparedSend {
      if (prepared !== undefined) return prepared;
      throw new PushError(
        'bad-request',
        `${provider.name} has no topics: ${operation}() serves devices of an FCM provider only`,
        { provider: provider.name, reason: 'NoTopics' },
      );
    },
    close: () => Promise.resolve(),
    destroy: () => Promise.resolve(),
  };
  if (provider.app !== undefined) Object.assign(standIn, { app: provider.app });
  if (provider.concurrency !== undefined) Object.assign(standIn, { concurrency: provider.concurrency });
  return standIn;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new PushError('config', `${name} must be a whole number ≥ 1, got ${String(value)}`);
  }
  return value;
}

function laneOverflow(value: LaneOverflow | undefined, fallback: LaneOverflow): LaneOverflow {
  if (value === undefined) return fallback;
  if (value !== 'fail' && value !== 'wait') {
    throw new PushError('config', `laneOverflow must be 'fail' or 'wait', got ${JSON.stringify(value)}`);
  }
  return value;
}

export class PushClient {
  private readonly router: Router;
  private readonly base: EngineSettings;
  private readonly active = new Set<DeliveryRun<Device>>();
  private closing: Promise<void> | undefined;
  private destroying: Promise<void> | undefined;

  constructor(options: PushClientOptions) {
    if (!options || typeof options !== 'object') {
      throw new PushError('config', 'new PushClient({ providers: [...] }): options are missing');
    }
    this.router = new Router(options.providers);
    this.base = {
      window: positiveInteger('window', options.window, 1000),
      windowFixed: options.window !== undefined,
      maxWaitingRetries: positiveInteger('maxWaitingRetries', options.maxWaitingRetries, 10_000),
      slowAnswerMs: positiveInteger('slowAnswerMs', options.slowAnswerMs, 500),
      laneOverflow: laneOverflow(options.laneOverflow, 'fail'),
      retry: retryPolicy(options.retry),
      delivery: deliverySemantics(options.delivery),
      prepare: {},
      dryRun: false,
    };
  }

  /**
   * Sends one notification to every device of `devices` (an Iterable, AsyncIterable or
   * object-mode Readable, read only as fast as the window allows). Never throws for a bad
   * device: each device gets exactly one feedback on the returned delivery.
   *
   * `notification` may be a function of the device (a personalised send): it is called once
   * per device, and what it returns is encoded once per provider per distinct notification
   * (the same object, or an equal one, reuses its encoding; up to 1,000 remembered per
   * provider). Return shared objects for repeats (one per locale) to keep it cheap. A function
   * that throws or returns no object fails that device (`bad-request`); a notification the
   * provider rejects fails the devices that got it.
   */
  send<D extends Device>(
    notification: Notification | Personalise<D>,
    devices: DeviceSource<D>,
    options: SendOptions = {},
  ): Delivery<D> {
    return this.start(notification, devices, options);
  }

  /** A push-style send: `await session.push(device)` for each device, then `session.end()`. */
  session<D extends Device = Device>(
    notification: Notification | Personalise<D>,
    options: SendOptions = {},
  ): Session<D> {
    const source = new PushSource<D>();
    return new SessionHandle(source, this.start(notification, source, options));
  }

  /** A send as an object-mode Duplex for `stream.pipeline()`: write devices, read feedback. */
  stream<D extends Device = Device>(
    notification: Notification | Personalise<D>,
    options: SendOptions = {},
  ): Duplex {
    return sessionDuplex(this.session<D>(notification, options));
  }

  /**
   * Subscribes every device of `devices` to an FCM topic (firebase-admin's `subscribeToTopic`),
   * streamed like a send: read only as fast as the window allows, up to 1,000 tokens per
   * request, retried as a send is, exactly one feedback per device. `sent` means subscribed;
   * `invalid-token` means FCM does not know the token (delete it). Devices routed to a provider
   * without topics (APNs, Web Push, HMS) fail `bad-request` without a request.
   *
   * Throws a `bad-request` PushError at once for a topic name FCM would refuse
   * (`[a-zA-Z0-9-_.~%]+`, optionally after `/topics/`), and `config` when no provider manages topics.
   */
  subscribe<D extends Device>(
    topic: string,
    devices: DeviceSource<D>,
    options: TopicOptions = {},
  ): Delivery<D> {
    return this.topicOperation('subscribe', topic, devices, options);
  }

  /** Unsubscribes every device of `devices` from an FCM topic; as {@link subscribe}. */
  unsubscribe<D extends Device>(
    topic: string,
    devices: DeviceSource<D>,
    options: TopicOptions = {},
  ): Delivery<D> {
    return this.topicOperation('unsubscribe', topic, devices, options);
  }

  /**
   * Stops reading devices, lets every device already handed in finish (no new retries),
   * then closes the providers' connections. Sends after close throw a `closed` PushError.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const finishing = [...this.active].map((run) => {
        const done = run.done.catch(() => undefined);
        run.close();
        return done;
      });
      await Promise.all(finishing);
      await Promise.all(this.router.providers.map((provider) => provider.close()));
    })();
    return this.closing;
  }

  /**
   * Aborts every send now (each unanswered device gets `aborted`) and destroys every provider
   * (see {@link Provider.destroy}); resolves when all of them hold no connection, timer or
   * worker any more. Every provider's destroy runs to the end even when another's fails; then
   * the promise rejects with an `AggregateError` of those failures. Calling it again returns
   * the same promise.
   */
  destroy(): Promise<void> {
    if (this.destroying !== undefined) return this.destroying;
    this.closing ??= Promise.resolve();
    for (const run of this.active) run.abort('the client was destroyed');
    const destroyed = this.router.providers.map((provider) => {
      // A destroy that throws instead of rejecting must not stop the others.
      try {
        return provider.destroy();
      } catch (error) {
        return Promise.reject(error);
      }
    });
    this.destroying = Promise.allSettled(destroyed).then((results) => {
      const errors = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
      if (errors.length > 0) {
        throw new AggregateError(errors, `${errors.length} provider(s) failed to destroy`);
      }
    });
    return this.destroying;
  }

  /**
   * A topic operation runs through the engine as a send whose providers are stand-ins: each
   * provider with topic management lends its batched request (`TopicManagement.prepare`), each
   * other one fails its devices. They share the real providers' connections and never close
   * them (the client's close does).
   */
  private topicOperation<D extends Device>(
    operation: TopicOperation,
    topic: string,
    source: DeviceSource<D>,
    options: TopicOptions,
  ): Delivery<D> {
    if (this.closing)
      throw new PushError('closed', 'this PushClient is closed; create a new one to send again');
    const providers = this.router.providers;
    if (!providers.some((provider) => provider.topics !== undefined)) {
      throw new PushError(
        'config',
        `${operation}(): no provider of this client manages topics; topics are FCM's (add an fcm() provider)`,
      );
    }
    const standIns = providers.map((provider) => topicStandIn(provider, operation, topic));
    return this.start(TOPIC_OPERATION, source, { ...options }, new Router(standIns));
  }

  private start<D extends Device>(
    notification: Notification | Personalise<D>,
    source: DeviceSource<D> | PushSource<D>,
    options: SendOptions,
    router: Router = this.router,
  ): DeliveryRun<D> {
    if (this.closing)
      throw new PushError('closed', 'this PushClient is closed; create a new one to send again');
    if (!notification || (typeof notification !== 'object' && typeof notification !== 'function')) {
      throw new PushError(
        'bad-request',
        'send(notification, devices): notification must be an object or a function of the device',
      );
    }
    const settings: EngineSettings = {
      window: positiveInteger('window', options.window, this.base.window),
      windowFixed: options.window !== undefined || this.base.windowFixed === true,
      maxWaitingRetries: this.base.maxWaitingRetries,
      slowAnswerMs: this.base.slowAnswerMs,
      laneOverflow: laneOverflow(options.laneOverflow, this.base.laneOverflow),
      retry: options.retry ? retryPolicy(this.base.retry, options.retry) : this.base.retry,
      delivery: options.delivery === undefined ? this.base.delivery : deliverySemantics(options.delivery),
      prepare: {},
      dryRun: options.dryRun === true,
    };
    const run = new DeliveryRun<D>(
      router,
      notification,
      source,
      settings,
      (finished) => this.active.delete(finished as unknown as DeliveryRun<Device>),
      options.signal,
    );
    this.active.add(run as unknown as DeliveryRun<Device>);
    return run;
  }
}

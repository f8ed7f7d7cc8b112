/**
 * One `send()`: pulls devices from the source as the lanes free room, routes each to its
 * provider's lane, schedules retries, and emits exactly one final feedback per device handed
 * in (design contract 1). "Handed in" means pulled from the source: after an abort the rest
 * of a source is not read (a 10-million-row cursor is closed, not drained).
 *
 * Reading and lanes (design contract 4, lane-bounds.ts): the source is one stream for every
 * provider, read while the lanes have room. Each lane holds at most `window` devices queued
 * or in flight and `maxWaitingRetries` waiting for a retry, so memory is bounded by the lanes'
 * bounds (plus a window of unread feedback) whatever the source's length. A device read for a
 * full lane is held and reading waits for that lane (backpressure) — unless the lane is in
 * trouble (most recent answers retryable failures, or answers slow next to the others') while
 * another lane has room and was fed recently: then reading goes on, and that lane's further
 * devices fail fast as a retryable `unavailable` naming the trouble, without a request (a
 * failing lane keeps only `window` devices in all, so its retries probe the provider without
 * hammering it). A single-provider send, a merely busy lane and `laneOverflow: 'wait'` only
 * ever wait.
 */
import { setMaxListeners } from 'node:events';
import type { Device } from '../device.js';
import { PushError } from '../errors.js';
import type { Feedback, FeedbackStatus } from '../feedback.js';
import type { Notification } from '../notification.js';
import type { Outcome, PreparedSend, PrepareOptions, Provider } from '../provider.js';
import { Channel } from './channel.js';
import { checkDryRun, prepareDryRun } from './dry-run.js';
import { type Job, Lane, type LaneHost } from './lane.js';
import { LaneBounds, type LaneOverflow } from './lane-bounds.js';
import { type Personalise, PreparedCache, personalised } from './personalise.js';
import { PushSource } from './push-source.js';
import { type DeliverySemantics, mayResend, nextRetryDelay, type RetryPolicy } from './retry.js';
import type { Router } from './router.js';
import type { DeviceSource, Pulled, Puller } from './source.js';
import { isPromise, pullerFor } from './source.js';
import { type Summary, SummaryCounter } from './summary.js';
import { TimerQueue } from './timer-queue.js';

export interface EngineSettings {
  /** Devices one lane may hold at once (queued + in flight). */
  window: number;
  /**
   * `window` was set by the caller: it bounds each lane as given. Otherwise a lane's window is
   * at least its provider's concurrency (which an adaptive transport raises at a distance), so
   * raising one never requires raising the other.
   */
  windowFixed?: boolean;
  /** Devices one lane may hold waiting for a retry. */
  maxWaitingRetries: number;
  /** How much longer than the others' a slow lane's answers take, ms (lane-bounds.ts). */
  slowAnswerMs: number;
  /** What happens to devices for a full lane in trouble while others wait for reading. */
  laneOverflow: LaneOverflow;
  retry: RetryPolicy;
  /** Whether an attempt that may have been delivered is re-sent (see {@link DeliverySemantics}). */
  delivery: DeliverySemantics;
  prepare: PrepareOptions;
  /** Validate without delivering: lanes are prepared through each provider's `dryRun` (dry-run.ts). */
  dryRun: boolean;
}

/** Results of a `send()`: iterate it for feedback; read `summary` at any time. */
export interface Delivery<D extends Device = Device> extends AsyncIterable<Feedback<D>> {
  /** Live counts; final once `done` resolves. */
  readonly summary: Summary;
  /**
   * Resolves with the final summary once every device has its feedback; rejects with the
   * source's error when the device source failed (after the devices read before it got
   * their feedback). Awaiting `done` without iterating lets the feedback be counted and dropped.
   */
  readonly done: Promise<Summary>;
  /** Stops reading devices; every device not yet answered gets an `aborted` feedback. */
  abort(reason?: string): void;
  /**
   * Stops reading devices and lets every device already read finish as it would have: its
   * request completes, its retries run. Returns how many devices read are still without
   * their feedback. Nothing is cut short; call `abort()` afterwards to bound the wait (the
   * CLI's grace period after a SIGINT does exactly that).
   */
  stop(): number;
}

export class DeliveryRun<D extends Device> implements Delivery<D>, LaneHost<D> {
  private readonly controller = new AbortController();
  /** Shared by every request of this delivery: one listener per in-flight request is expected. */
  readonly signal = DeliveryRun.sharedSignal(this.controller);
  private readonly counter = new SummaryCounter();
  private readonly channel: Channel<Feedback<D>>;
  private readonly lanes = new Map<Provider, Lane<D>>();
  /** A personalised send's encodings, per lane (personalise.ts); empty for a shared one. */
  private readonly caches = new Map<Lane<D>, PreparedCache>();
  private readonly bounds: LaneBounds<D>;
  /** Devices waiting for their retry; a batch's retries wait as one entry. */
  private readonly waiting: TimerQueue<Job<D> | Job<D>[]>;
  private puller: Puller<D> | undefined;
  /** Devices handed in without a final feedback yet. */
  private pending = 0;
  private started = false;
  private reading = false;
  private sourceDone = false;
  private sourceError: { error: unknown } | undefined;
  /** No more devices are read (abort, close); what is held still finishes. */
  private stopReading = false;
  /** No more retries or sends: abort and destroy. */
  private aborted: PushError | undefined;
  /** No more retries: a graceful close lets held devices finish once. */
  private closing = false;
  private blockedLane: Lane<D> | undefined;
  private iterated = false;
  private doneRequested = false;
  private finished = false;
  private donePromise: Promise<Summary> | undefined;
  private settleDone: { resolve(summary: Summary): void; reject(error: unknown): void } | undefined;

  constructor(
    private readonly router: Router,
    private readonly notification: Notification | Personalise<D>,
    source: DeviceSource<D> | PushSource<D>,
    private readonly settings: EngineSettings,
    private readonly onFinished: (run: DeliveryRun<D>) => void,
    signal?: AbortSignal,
  ) {
    this.channel = new Channel<Feedback<D>>(
      () => this.wake(),
      () => this.abort('the feedback loop was left early'),
    );
    this.waiting = new TimerQueue<Job<D> | Job<D>[]>((due) => this.retryDue(due));
    this.bounds = new LaneBounds<D>(settings, this.lanes, () => this.wake());
    try {
      this.puller = source instanceof PushSource ? source : pullerFor(source);
    } catch (error) {
      this.sourceDone = true;
      this.sourceError = { error };
    }
    // Start after send() has returned, so the caller can attach its loop first.
    queueMicrotask(() => {
      this.started = true;
      if (signal?.aborted) this.abort(String(signal.reason ?? 'aborted'));
      signal?.addEventListener('abort', () => this.abort(String(signal.reason ?? 'aborted')), { once: true });
      if (this.sourceDone) this.maybeFinish();
      else this.wake();
    });
  }

  private static sharedSignal(controller: AbortController): AbortSignal {
    setMaxListeners(0, controller.signal);
    return controller.signal;
  }

  // ── the public face ────────────────────────────────────────────────────────────────────

  get summary(): Summary {
    return this.counter.snapshot();
  }

  get done(): Promise<Summary> {
    this.doneRequested = true;
    if (!this.iterated) this.wake(); // a full unread backlog may now be dropped
    if (!this.donePromise) {
      this.donePromise = new Promise<Summary>((resolve, reject) => {
        this.settleDone = { resolve, reject };
      });
      if (this.finished) this.settle();
    }
    return this.donePromise;
  }

  [Symbol.asyncIterator](): AsyncIterator<Feedback<D>> {
    if (this.iterated)
      throw new PushError(
        'bad-request',
        'pushline: a delivery can be iterated only once (read its feedback in one loop; `await delivery.done` gives the summary)',
      );
    this.iterated = true;
    return this.channel;
  }

  abort(reason = 'aborted'): void {
    if (this.finished || this.aborted) return;
    this.aborted = new PushError('aborted', `send aborted: ${reason}`);
    this.controller.abort(this.aborted);
    this.stopSource();
    for (const lane of this.lanes.values()) for (const job of lane.takeQueued()) this.fail(job, this.aborted);
    for (const job of this.drainWaiting()) this.fail(job, this.aborted);
    this.maybeFinish();
  }

  stop(): number {
    if (!this.finished && !this.aborted) {
      this.stopSource();
      this.maybeFinish();
    }
    return this.pending;
  }

  /** Graceful stop (client.close()): read no more, retry nothing, let what is held finish. */
  close(): void {
    if (this.finished || this.closing) return;
    this.closing = true;
    this.stopSource();
    const closed = new PushError('aborted', 'the client was closed while this device waited to be retried');
    for (const job of this.drainWaiting()) this.fail(job, closed);
    this.maybeFinish();
  }

  // ── reading ────────────────────────────────────────────────────────────────────────────

  private stopSource(): void {
    if (this.stopReading) return;
    this.stopReading = true;
    this.puller?.close();
    if (!this.reading) this.sourceDone = true;
  }

  private hasRoom(): boolean {
    const blocked = this.blockedLane;
    if (blocked) {
      // A full lane holds reading up, unless it is in trouble and another lane waits for reading.
      if (!this.bounds.hasRoom(blocked) && !this.bounds.mayReadPast(blocked)) return false;
      this.blockedLane = undefined;
    }
    if (this.channel.backlog >= this.settings.window) {
      if (this.iterated || !this.doneRequested) return false;
      this.channel.discard(); // nobody iterates and `done` is awaited: counts are all that is wanted
    }
    return true;
  }

  private wake(): void {
    if (this.started && !this.reading && !this.sourceDone && this.hasRoom()) this.read();
  }

  /**
   * Pulls devices while there is room. A source that answers synchronously (an array, a
   * generator, a buffered cursor) is read without an async function: wake() runs once per
   * answered device, and an async call each time was a frame and a promise per device.
   */
  private read(): void {
    this.reading = true;
    const puller = this.puller!;
    try {
      while (!this.stopReading && this.hasRoom()) {
        const pulled = puller.next();
        if (isPromise(pulled)) {
          void this.readAsync(puller, pulled);
          return; // still reading: readAsync ends it
        }
        if (!this.take(pulled)) break;
      }
    } catch (error) {
      this.sourceFailed(error);
    }
    this.endRead();
  }

  private async readAsync(puller: Puller<D>, first: Promise<Pulled<D>>): Promise<void> {
    try {
      let pulled = await first;
      while (this.take(pulled) && !this.stopReading && this.hasRoom()) {
        const next = puller.next();
        pulled = isPromise(next) ? await next : next;
      }
    } catch (error) {
      this.sourceFailed(error);
    }
    this.endRead();
  }

  /** Hands one pulled device on; false when reading must stop (source done, abort or close). */
  private take(pulled: Pulled<D>): boolean {
    if (pulled.done) {
      this.sourceDone = true;
      return false;
    }
    if (this.stopReading) {
      // Read while an abort or close happened: it was handed in, so it gets its feedback.
      if (this.aborted || this.closing) {
        this.pending++;
        this.failDevice(pulled.value, this.aborted ?? this.closedError(), 0, undefined);
      } else this.accept(pulled.value); // stop(): a device already read is still sent
      return false;
    }
    this.accept(pulled.value);
    return true;
  }

  private sourceFailed(error: unknown): void {
    this.sourceError = { error };
    this.sourceDone = true;
    this.stopReading = true;
  }

  private endRead(): void {
    this.reading = false;
    if (this.stopReading) this.sourceDone = true;
    this.maybeFinish();
  }

  private closedError(): PushError {
    return new PushError('aborted', 'the client was closed before this device was sent');
  }

  private accept(device: D): void {
    this.pending++;
    const route = this.router.route(device);
    if (route instanceof PushError) {
      this.failDevice(device, route, 0, undefined);
      return;
    }
    const lane = this.laneFor(route);
    if (lane.tripped) {
      this.failDevice(device, lane.tripped, 0, route.name);
      return;
    }
    this.bounds.read(lane);
    if (this.bounds.overflows(lane)) {
      // Full and in trouble while another lane waits for reading: fail fast, keep reading.
      this.failDevice(device, this.bounds.overflowError(lane), 0, route.name);
      return;
    }
    const job: Job<D> = { device, lane, attempts: 0, unrequested: 0, waitedMs: 0 };
    if (typeof this.notification === 'function') {
      const prepared = this.personalise(this.notification, device, lane);
      if (prepared instanceof PushError) {
        this.failDevice(device, prepared, 0, route.name);
        return;
      }
      job.prepared = prepared;
    }
    lane.enqueue(job);
    if (!this.bounds.hasRoom(lane)) this.blockedLane = lane;
  }

  /**
   * This device's encoding in a personalised send, or the error that fails it alone: the
   * function threw or returned junk, or `prepare` rejected its notification. Only an error
   * that would repeat for every notification (bad credentials: `stopsLane`) stops the lane.
   */
  private personalise(fn: Personalise<D>, device: D, lane: Lane<D>): PreparedSend | PushError {
    const notification = personalised(fn, device);
    if (notification instanceof PushError) return notification.with({ provider: lane.provider.name });
    const prepared = this.caches.get(lane)!.get(notification);
    if (prepared instanceof PushError && prepared.stopsLane) this.trip(lane, prepared);
    return prepared;
  }

  private laneFor(provider: Provider): Lane<D> {
    let lane = this.lanes.get(provider);
    if (lane) return lane;
    let prepared: PreparedSend | undefined;
    let failure: PushError | undefined;
    const personalisedSend = typeof this.notification === 'function';
    try {
      if (personalisedSend) {
        // Encodings come per device; only a provider that cannot dry-run fails its lane now.
        if (this.settings.dryRun) checkDryRun(provider);
      } else {
        prepared = this.prepareFor(provider, this.notification as Notification);
      }
    } catch (thrown) {
      failure = this.prepareError(provider, thrown);
    }
    lane = new Lane<D>(provider, prepared, this, this.settings.window, !this.settings.windowFixed);
    if (failure) lane.tripped = failure;
    if (personalisedSend) {
      const method = Math.max(1, provider.batchSize ?? 1) > 1 ? 'sendBatch' : 'send';
      this.caches.set(
        lane,
        new PreparedCache((notification) => {
          try {
            const made = this.prepareFor(provider, notification);
            if (made && typeof made[method] === 'function') return made;
            return new PushError('internal', `provider ${provider.name}: prepare() returned no ${method}()`, {
              provider: provider.name,
            });
          } catch (thrown) {
            return this.prepareError(provider, thrown);
          }
        }),
      );
    }
    this.lanes.set(provider, lane);
    this.bounds.laneAdded();
    return lane;
  }

  /** The provider's encoding of a notification: its dry-run path in a dry run (dry-run.ts). */
  private prepareFor(provider: Provider, notification: Notification): PreparedSend {
    return this.settings.dryRun
      ? prepareDryRun(provider, notification)
      : provider.prepare(notification, this.settings.prepare);
  }

  private prepareError(provider: Provider, thrown: unknown): PushError {
    return thrown instanceof PushError
      ? thrown
      : new PushError('internal', `provider ${provider.name}: prepare() threw: ${String(thrown)}`, {
          provider: provider.name,
          cause: thrown,
        });
  }

  // ── outcomes ───────────────────────────────────────────────────────────────────────────

  countRetry(): void {
    this.counter.retries++;
  }

  complete(job: Job<D>, outcome: Outcome): void {
    const delay = this.handleOutcome(job, outcome, Math.random);
    if (delay !== undefined) {
      job.lane.waiting++;
      this.waiting.schedule(job, delay);
    }
    job.lane.dispatch();
    this.wake();
  }

  /**
   * One batch request's outcomes. Its devices to be retried wait with ONE draw of jitter and go
   * back together, so a batch refused as a whole (HMS 503) returns as one request, not as
   * hundreds of small ones spread over the backoff (which a provider counting requests would
   * throttle again). Only the devices whose own outcome was a retryable failure go back: a
   * device the provider accepted is never in a retried batch.
   */
  completeBatch(jobs: readonly Job<D>[], outcomes: readonly Outcome[]): void {
    const draw = Math.random();
    const random = () => draw;
    let groups: Map<number, Job<D>[]> | undefined;
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const delay = this.handleOutcome(job, outcomes[i]!, random);
      if (delay === undefined) continue;
      groups ??= new Map();
      const group = groups.get(delay);
      if (group) group.push(job);
      else groups.set(delay, [job]);
    }
    if (groups) {
      for (const [delay, group] of groups) {
        group[0]!.lane.waiting += group.length;
        this.waiting.schedule(group.length === 1 ? group[0]! : group, delay);
      }
    }
    const lane = jobs[0]?.lane;
    lane?.dispatch();
    this.wake();
  }

  /**
   * Takes one device's outcome: emits its final feedback, or returns the delay before its
   * retry (the caller schedules it). `random` is the jitter's source.
   */
  private handleOutcome(job: Job<D>, outcome: Outcome, random: () => number): number | undefined {
    const lane = job.lane;
    lane.release();
    lane.health.answered(outcome);
    if (outcome.requested === false) {
      // Decided without a request: not a request made, nor (after the first) a retry made.
      job.unrequested++;
      if (job.attempts > 1) this.counter.retries--;
    }
    if (outcome.ok) {
      this.emit(
        job.device,
        this.settings.dryRun || outcome.validated === true ? 'validated' : 'sent',
        job.attempts - job.unrequested,
        lane.provider.name,
        undefined,
        outcome.httpStatus,
        outcome.messageId,
        job.maybeDelivered === true,
      );
      return undefined;
    }
    const error = outcome.error;
    if (error.maybeDelivered) job.maybeDelivered = true;
    if (error.stopsLane && !lane.tripped) this.trip(lane, error);
    const resendable = mayResend(this.settings.delivery, error);
    const delay =
      this.aborted || this.closing || lane.tripped || !resendable
        ? undefined
        : nextRetryDelay(this.settings.retry, error, job.attempts, job.waitedMs, random);
    if (delay === undefined) {
      // A retryable failure cut short by an abort is reported as the abort, its cause kept.
      let final = error;
      if (this.aborted && error.retryable) {
        final = new PushError('aborted', `${this.aborted.message} (last error: ${error.message})`, {
          cause: error,
          provider: lane.provider.name,
        });
      } else if (!resendable && error.retryable) {
        // At-most-once: retrying could deliver it twice, so it is not retryable any more.
        final = error.with({
          message: `${error.message} (not re-sent: delivery is at-most-once)`,
          retryable: false,
        });
      }
      this.fail(job, final, outcome.httpStatus);
      return undefined;
    }
    job.waitedMs += delay;
    return delay;
  }

  /** Stops a lane: what it still queues fails now with the same error, without a request. */
  private trip(lane: Lane<D>, error: PushError): void {
    lane.tripped = error;
    for (const job of lane.takeQueued()) this.fail(job, error);
  }

  /** A device's retry time has come, or a batch's (its devices go back together). */
  private retryDue(due: Job<D> | Job<D>[]): void {
    const jobs = Array.isArray(due) ? due : [due];
    const lane = jobs[0]!.lane;
    lane.waiting -= jobs.length;
    if (lane.tripped) for (const job of jobs) this.fail(job, lane.tripped);
    else lane.enqueueAll(jobs);
    this.wake();
  }

  /** Takes every device out of the retry queue (abort, close, finish). */
  private drainWaiting(): Job<D>[] {
    const jobs = this.waiting.drain().flat();
    for (const job of jobs) job.lane.waiting--;
    return jobs;
  }

  private fail(job: Job<D>, error: PushError, httpStatus?: number): void {
    // An earlier attempt may have been delivered: the final error says so, whatever ended it.
    const final = job.maybeDelivered && !error.maybeDelivered ? error.with({ maybeDelivered: true }) : error;
    this.failDevice(job.device, final, job.attempts - job.unrequested, job.lane.provider.name, httpStatus);
  }

  private failDevice(
    device: D,
    error: PushError,
    attempts: number,
    provider: string | undefined,
    httpStatus?: number,
  ): void {
    const status = error.code === 'invalid-token' ? 'invalid-token' : 'failed';
    this.emit(device, status, attempts, provider, error, httpStatus ?? error.httpStatus);
  }

  /** Builds a feedback, leaving out what is unknown (so it serialises cleanly). */
  private emit(
    device: D,
    status: FeedbackStatus,
    attempts: number,
    provider: string | undefined,
    error?: PushError,
    httpStatus?: number,
    messageId?: string,
    maybeDuplicate = false,
  ): void {
    const feedback: Feedback<D> = { device, status, attempts };
    if (provider !== undefined) feedback.provider = provider;
    if (messageId !== undefined) feedback.messageId = messageId;
    if (httpStatus !== undefined) feedback.httpStatus = httpStatus;
    if (error !== undefined) feedback.error = error;
    if (error?.maybeDelivered) feedback.maybeDelivered = true;
    if (maybeDuplicate) feedback.maybeDuplicate = true;
    this.counter.count(feedback);
    this.pending--;
    if (!(this.doneRequested && !this.iterated && this.channel.backlog >= this.settings.window)) {
      this.channel.push(feedback);
    }
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.finished || !this.sourceDone || this.reading || this.pending > 0) return;
    this.finished = true;
    this.counter.finish();
    this.drainWaiting();
    this.bounds.stop();
    this.channel.end(this.sourceError?.error);
    this.settle();
    this.onFinished(this);
  }

  private settle(): void {
    if (!this.settleDone) return;
    if (this.sourceError) this.settleDone.reject(this.sourceError.error);
    else this.settleDone.resolve(this.counter.snapshot());
    this.settleDone = undefined;
  }
}

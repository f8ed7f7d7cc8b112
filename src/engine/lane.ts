/**
 * One provider's lane inside one delivery: its queue of devices, its own limit of requests
 * in flight, and its configuration-error circuit. Lanes never share slots, so a slow or
 * failing provider fills its own lane while the others keep sending (design contract 4).
 */
import type { Device } from '../device.js';
import { PushError, toPushError } from '../errors.js';
import {
  answerLater,
  hasSendTo,
  type Outcome,
  type OutcomeSink,
  type PreparedSend,
  type Provider,
  SEND_TO,
  type SendContext,
} from '../provider.js';
import { LaneHealth } from './lane-bounds.js';
import { byPrepared } from './personalise.js';

/** A device on its way: the engine's bookkeeping around the caller's object. */
export interface Job<D extends Device> {
  device: D;
  lane: Lane<D>;
  /** Attempts started so far (the retry budget counts these). */
  attempts: number;
  /** Of those, the ones the provider decided without a request (`requested: false`). */
  unrequested: number;
  /** Backoff waited so far, in ms. */
  waitedMs: number;
  /** Set once an attempt's request may have reached the provider without an answer. */
  maybeDelivered?: boolean;
  /** A personalised send's encoding for this device (personalise.ts); else the lane's shared one. */
  prepared?: PreparedSend;
}

export interface LaneHost<D extends Device> {
  readonly signal: AbortSignal;
  complete(job: Job<D>, outcome: Outcome): void;
  /**
   * The outcomes of one batch request, in the order of `jobs`. Its devices to be retried go
   * back as a group (see DeliveryRun.completeBatch), so a refused batch returns as one request.
   */
  completeBatch(jobs: readonly Job<D>[], outcomes: readonly Outcome[]): void;
  /** A request is about to go out again after a retryable failure. */
  countRetry(): void;
}

export class Lane<D extends Device> implements OutcomeSink<Job<D>> {
  /** Set when the lane stops: every device still routed here fails with this error, no request. */
  tripped: PushError | undefined;
  inFlightDevices = 0;
  /** Devices of this lane waiting in the delivery's retry queue (kept by the delivery). */
  waiting = 0;
  /** Recent answers and answer times: whether this lane is in trouble (see lane-bounds.ts). */
  readonly health = new LaneHealth();
  private queue: Job<D>[] = [];
  private head = 0;
  private inFlightRequests = 0;
  private readonly batchSize: number;
  /**
   * The send's `window`, and for a batching provider at least two full batches, so that one
   * fills while the other is in flight (with one batch's worth, reading would stop for every
   * request's round trip).
   */
  private readonly baseWindow: number;
  /** Requests in flight for a provider that states no `concurrency`: the send's `window`. */
  private readonly defaultConcurrency: number;
  /** Whether requests go through `sendBatch`. */
  /** Many devices per request (`sendBatch`): its per-device answer times are not comparable to a one-per-request lane's. */
  readonly batched: boolean;
  private flushScheduled = false;
  /** Set while a scheduled flush runs: send a partial batch rather than wait for more. */
  private flushNow = false;

  constructor(
    readonly provider: Provider,
    private readonly prepared: PreparedSend | undefined,
    private readonly host: LaneHost<D>,
    window: number,
    /** The window grows to the provider's concurrency (the caller did not fix it). */
    private readonly windowFollowsConcurrency = true,
  ) {
    this.batchSize = Math.max(1, Math.floor(provider.batchSize ?? 1) || 1);
    this.defaultConcurrency = window;
    this.baseWindow = this.batchSize > 1 ? Math.max(window, 2 * this.batchSize) : window;
    // A batching provider set to one device per request may offer only sendBatch: batches of one.
    this.batched = this.batchSize > 1 || (prepared?.send === undefined && prepared?.sendBatch !== undefined);
    if (prepared && !(this.batched ? prepared.sendBatch : prepared.send)) {
      const method = this.batched ? 'sendBatch' : 'send';
      this.tripped = new PushError(
        'internal',
        `provider ${provider.name}: prepare() returned no ${method}()`,
        {
          provider: provider.name,
        },
      );
    }
  }

  /**
   * Requests this lane keeps in flight: the provider's `concurrency`, read as it is now — an
   * adaptive transport's limit moves with the round trip and the server's answers.
   */
  get concurrency(): number {
    return Math.max(1, this.provider.concurrency ?? this.defaultConcurrency);
  }

  /**
   * Devices this lane may hold queued or in flight: the send's `window`, or the provider's
   * concurrency when that is larger — raising one must not require raising the other — unless
   * the caller set `window` (a memory bound it chose).
   */
  get window(): number {
    if (this.batchSize > 1 || !this.windowFollowsConcurrency) return this.baseWindow;
    return Math.max(this.concurrency, this.baseWindow);
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Devices this lane holds: queued, in flight, and waiting for a retry. */
  get held(): number {
    return this.queued + this.inFlightDevices + this.waiting;
  }

  enqueue(job: Job<D>): void {
    this.queue.push(job);
    this.dispatch();
  }

  /** Queues several jobs (a batch's retries, due together), then dispatches once. */
  enqueueAll(jobs: readonly Job<D>[]): void {
    for (const job of jobs) this.queue.push(job);
    this.dispatch();
  }

  /** Removes every queued (not yet sent) job, for abort and for a tripped circuit. */
  takeQueued(): Job<D>[] {
    const jobs = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    return jobs;
  }

  /** Starts as many requests as the lane's limit allows. */
  dispatch(): void {
    // A personalised lane has no shared `prepared`: each job carries its own.
    if (this.tripped) return;
    const concurrency = this.concurrency;
    while (this.inFlightRequests < concurrency && this.head < this.queue.length) {
      if (!this.batched) {
        this.sendOne(this.shift());
        continue;
      }
      // Batching protocols: send a full batch now; a partial one once the current burst of
      // reading is over (setImmediate runs after the pending microtasks and I/O callbacks).
      if (this.queued < this.batchSize && !this.flushNow) {
        this.scheduleFlush();
        return;
      }
      const batch: Job<D>[] = [];
      while (batch.length < this.batchSize && this.head < this.queue.length) batch.push(this.shift());
      for (const group of byPrepared(batch)) this.sendBatch(group);
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushNow = true;
      this.dispatch();
      this.flushNow = false;
    });
  }

  private shift(): Job<D> {
    const job = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as Job<D>;
    this.head++;
    // Compacted in bulk, not each time the queue runs empty (which, at full speed, is after
    // nearly every device: a new array each time was garbage per device).
    if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return job;
  }

  /** One frozen context per attempt number, shared by every request of that attempt. */
  private readonly contexts: SendContext[] = [];

  private context(attempt: number): SendContext {
    let context = this.contexts[attempt];
    if (!context) {
      context = Object.freeze({ signal: this.host.signal, attempt });
      this.contexts[attempt] = context;
    }
    return context;
  }

  private startJob(job: Job<D>): void {
    job.attempts++;
    if (job.attempts > 1) this.host.countRetry();
    this.inFlightDevices++;
  }

  /** Called by the host once per job when its outcome is in. */
  release(): void {
    this.inFlightDevices--;
  }

  private sendOne(job: Job<D>): void {
    this.startJob(job);
    this.inFlightRequests++;
    const prepared = (job.prepared ?? this.prepared)!;
    if (hasSendTo(prepared)) {
      // The callback form: no promise, closure or reaction per request (see SEND_TO).
      try {
        prepared[SEND_TO](job.device, this.context(job.attempts), this, job);
      } catch (thrown) {
        answerLater(this, this.failure(thrown), job);
      }
      return;
    }
    let promise: Promise<Outcome>;
    try {
      promise = prepared.send!(job.device, this.context(job.attempts));
    } catch (thrown) {
      promise = Promise.resolve(this.failure(thrown));
    }
    promise.then(
      (outcome) => {
        this.inFlightRequests--;
        this.host.complete(job, this.checked(outcome));
      },
      (thrown: unknown) => {
        this.inFlightRequests--;
        this.host.complete(job, this.failure(thrown));
      },
    );
  }

  /** The answer of a callback send (OutcomeSink): as the `.then` of sendOne's promise. */
  outcome(outcome: Outcome, job: Job<D>): void {
    this.inFlightRequests--;
    this.host.complete(job, this.checked(outcome));
  }

  private sendBatch(jobs: Job<D>[]): void {
    for (const job of jobs) this.startJob(job);
    this.inFlightRequests++;
    const devices = jobs.map((job) => job.device);
    const attempt = Math.max(...jobs.map((job) => job.attempts));
    let promise: Promise<Outcome[]>;
    try {
      promise = (jobs[0]!.prepared ?? this.prepared)!.sendBatch!(devices, this.context(attempt));
    } catch (thrown) {
      promise = Promise.reject(thrown);
    }
    promise.then(
      (outcomes) => {
        this.inFlightRequests--;
        if (!Array.isArray(outcomes) || outcomes.length !== jobs.length) {
          const got = Array.isArray(outcomes) ? outcomes.length : typeof outcomes;
          const error = new PushError(
            'internal',
            `provider ${this.provider.name}: sendBatch() gave ${got} outcomes for ${jobs.length} devices`,
            { provider: this.provider.name },
          );
          this.host.completeBatch(
            jobs,
            jobs.map(() => ({ ok: false, error })),
          );
          return;
        }
        // Array.from, not map: map skips the holes of a sparse array (`new Array(n)` with a
        // slot never written), which left those devices without an outcome, their send unended.
        this.host.completeBatch(
          jobs,
          Array.from(outcomes, (outcome) => this.checked(outcome)),
        );
      },
      (thrown: unknown) => {
        this.inFlightRequests--;
        const outcome = this.failure(thrown);
        this.host.completeBatch(
          jobs,
          jobs.map(() => outcome),
        );
      },
    );
  }

  /** A provider that breaks its contract (rejects, answers junk) yields `internal` failures, never a crash. */
  private failure(thrown: unknown): Outcome {
    const error = toPushError(thrown);
    if (error.provider === undefined && error.code === 'internal') {
      return {
        ok: false,
        error: new PushError('internal', `provider ${this.provider.name} threw: ${error.message}`, {
          provider: this.provider.name,
          cause: thrown,
        }),
      };
    }
    return { ok: false, error };
  }

  private checked(outcome: Outcome | undefined): Outcome {
    if (
      outcome &&
      typeof outcome === 'object' &&
      (outcome.ok === true || outcome.error instanceof PushError)
    ) {
      return outcome;
    }
    return this.failure(new Error(`answered ${JSON.stringify(outcome)} instead of an Outcome`));
  }
}

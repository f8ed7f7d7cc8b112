/**
 * One send of the in-process dispatcher, from accepted to settled: its state, the count of
 * devices read from its input, the delivery running it on the app's `PushClient`, and the
 * loop that records each final feedback (to the spool file, then to every observer) as the
 * delivery yields it. The loop awaits the spool when the disk is behind and every observer's
 * promise, and the delivery reads no further devices while its feedback is not taken: a slow
 * disk or a slow webhook slows the send instead of piling feedback up in memory.
 */
import type { PushClient } from '../client.js';
import type { Device } from '../device.js';
import type { Delivery } from '../engine/delivery.js';
import {
  isPromise,
  isPullSource,
  PULL,
  type Pulled,
  type Puller,
  type PullSource,
} from '../engine/source.js';
import { PushError } from '../errors.js';
import type { Feedback } from '../feedback.js';
import { redactText } from '../redact.js';
import { feedbackLine } from '../stores/ndjson-writer.js';
import type { FeedbackObserver, SendSpec, SendState, SendStatus } from './dispatch.js';
import type { FeedbackSpool } from './feedback-spool.js';
import { emptyCounts, sendCounts } from './send-counts.js';

/** What a send needs from its dispatcher. */
export interface LocalSendHost {
  readonly observers: readonly FeedbackObserver[];
  now(): number;
  /** A failure that must not stop the send (an observer threw, the spool could not be written). */
  report(error: unknown, during: string, send: SendSpec): void;
  /** The send has settled (called once). */
  settled(send: LocalSend): void;
}

/** Why a send ended without sending everything, as the status shows it (no secret). */
function errorOf(error: unknown): { code: string; message: string } {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return { code: typeof code === 'string' ? code : 'internal', message: redactText(message) };
}

export class LocalSend {
  state: SendState = 'queued';
  /** Devices read from the input (each gets exactly one recorded feedback). */
  accepted = 0;
  /** Reading the input has ended (all read, stopped, aborted or failed). */
  readonly readEnded: Promise<void>;
  /** Resolves once settled, with the final status. */
  readonly settledStatus: Promise<SendStatus>;
  /** When it settled (ms, the host's clock), for retention. */
  finishedAtMs: number | undefined;
  private endRead!: () => void;
  private settle!: (status: SendStatus) => void;
  /** The input was read to its end (not stopped, aborted or failed before it). */
  private readComplete = false;
  private delivery: Delivery | undefined;
  private startedAt: string | undefined;
  private finishedAt: string | undefined;
  private error: { code: string; message: string } | undefined;
  /** Why it ends early (abort, or a shutdown that stopped its reading). */
  private abortReason: string | undefined;
  private aborting = false;
  /** Its feedback loop is over: the state is decided. */
  private ending = false;
  private finalCounts: SendStatus['counts'] | undefined;
  /** Feedback recorded (spooled and observed). */
  private recorded = 0;
  private onRecorded: (() => void) | undefined;
  /** Observers that failed in this send (each is reported once per send). */
  private readonly failedObservers = new Set<FeedbackObserver>();
  /**
   * Inline devices were all accepted by the 202 (its `accepted` counted them): when the send
   * ends early, those never read get their `aborted` feedback here, not silence.
   */
  private readonly inline: readonly Device[] | undefined;
  /** The unread inline devices are being recorded as aborted: the input yields no more. */
  private tookRest = false;
  private unreadRecording: Promise<void> | undefined;
  /** Inline devices recorded as aborted without being read (not in the delivery's summary). */
  private unreadAborted = 0;

  constructor(
    readonly spec: SendSpec,
    /** The input: an array (inline devices), a request body's devices or a database cursor. */
    private readonly devices: Iterable<Device> | AsyncIterable<Device>,
    readonly spool: FeedbackSpool,
    private readonly host: LocalSendHost,
  ) {
    this.inline = Array.isArray(devices) ? devices : undefined;
    this.readEnded = new Promise((resolve) => {
      this.endRead = resolve;
    });
    this.settledStatus = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  get finished(): boolean {
    return this.finishedAtMs !== undefined;
  }

  status(): SendStatus {
    const status: SendStatus = {
      id: this.spec.id,
      app: this.spec.app,
      state: this.state,
      accepted: this.accepted,
      counts: this.withUnread(
        this.finalCounts ?? (this.delivery ? sendCounts(this.delivery.summary) : emptyCounts()),
      ),
      createdAt: this.spec.createdAt,
    };
    if (this.startedAt !== undefined) status.startedAt = this.startedAt;
    if (this.finishedAt !== undefined) status.finishedAt = this.finishedAt;
    if (this.error !== undefined) status.error = { ...this.error };
    return status;
  }

  /** The counts plus the inline devices recorded aborted without being read. */
  private withUnread(counts: SendStatus['counts']): SendStatus['counts'] {
    if (this.unreadAborted === 0) return counts;
    const errors = { ...counts.errors, aborted: (counts.errors['aborted'] ?? 0) + this.unreadAborted };
    return {
      ...counts,
      total: counts.total + this.unreadAborted,
      failed: counts.failed + this.unreadAborted,
      errors,
    };
  }

  /** Starts the delivery on the app's client; a client that refuses (closed) fails the send. */
  start(client: PushClient): void {
    if (this.state !== 'queued') return;
    this.startedAt = new Date(this.host.now()).toISOString();
    try {
      const devices = this.devices;
      const counted = isPullSource<Device>(devices)
        ? this.countedPull(devices)
        : Symbol.asyncIterator in devices
          ? this.countedAsync(devices)
          : this.countedSync(devices);
      this.delivery = client.send(this.spec.notification, counted, {
        dryRun: this.spec.dryRun === true,
        ...(this.spec.delivery !== undefined ? { delivery: this.spec.delivery } : {}),
      });
    } catch (error) {
      this.error = errorOf(error);
      void this.finish('failed');
      return;
    }
    this.state = 'running';
    void this.record(this.delivery);
  }

  /**
   * Aborts: no new device is read, each unanswered one gets `aborted`. A queued send settles
   * at once with nothing read. False when already settled or aborting.
   */
  abort(reason: string): boolean {
    if (this.ending || this.aborting) return false;
    this.aborting = true;
    this.abortReason = reason;
    this.error = { code: 'aborted', message: redactText(`send aborted: ${reason}`) };
    if (this.delivery) this.delivery.abort(reason);
    else void this.recordUnread().then(() => this.finish('aborted'));
    return true;
  }

  /**
   * Shutdown, first stage: reads no more devices, lets those read finish. A send whose input
   * was not read to its end will say `aborted`, naming the shutdown; one fully read ends as usual.
   */
  stop(reason: string): void {
    if (this.ending) return;
    if (!this.delivery) {
      this.abort(reason);
      return;
    }
    if (!this.readComplete && this.abortReason === undefined) {
      this.abortReason = reason;
      this.error = { code: 'aborted', message: redactText(`send stopped: ${reason}`) };
    }
    this.delivery.stop();
  }

  /** The input, counted as read; ends `readEnded` when reading stops for any reason. */
  private *countedSync(devices: Iterable<Device>): Generator<Device> {
    try {
      for (const device of devices) {
        if (this.tookRest) return;
        this.accepted++;
        yield device;
      }
      this.readComplete = true;
    } finally {
      this.readDone();
    }
  }

  /**
   * An inline send ending early (aborted, or cut by the shutdown's grace period): each device
   * of its array not read yet is recorded `aborted` (spool, observers), once.
   */
  private recordUnread(): Promise<void> {
    // The feedback loop and `abandon` may both get here: the second waits for the first.
    this.unreadRecording ??= this.takeRest();
    return this.unreadRecording;
  }

  private async takeRest(): Promise<void> {
    if (this.inline === undefined || this.readComplete || this.abortReason === undefined) return;
    this.tookRest = true;
    const error = new PushError('aborted', redactText(`send aborted: ${this.abortReason}`));
    for (let index = this.accepted; index < this.inline.length; index++) {
      const feedback: Feedback = { device: this.inline[index]!, status: 'failed', attempts: 0, error };
      this.accepted++;
      this.unreadAborted++;
      const writing = this.writeLine(feedback);
      if (writing) await writing;
      const observing = this.observe(feedback);
      if (observing) await observing;
      this.recorded++;
      this.wakeRecorded();
    }
    this.readDone();
  }

  /** The same for an async input (a request body, a database cursor). */
  private async *countedAsync(devices: AsyncIterable<Device>): AsyncGenerator<Device> {
    try {
      for await (const device of devices) {
        this.accepted++;
        yield device;
      }
      this.readComplete = true;
    } catch (error) {
      // Shown at once (the state says `failed` once the devices read have their feedback).
      this.error ??= errorOf(error);
      throw error;
    } finally {
      this.readDone();
    }
  }

  /**
   * The same for a source with its own puller (a request body's NDJSON): counted as pulled,
   * keeping the devices it already holds answered at once (see PullSource).
   */
  private countedPull(devices: PullSource<Device>): PullSource<Device> {
    const counted: PullSource<Device> = {
      [PULL]: () => new CountedPuller(devices[PULL](), this.pullCounter),
      [Symbol.asyncIterator]: () => this.countedAsync(devices)[Symbol.asyncIterator](),
    };
    return counted;
  }

  /** What a {@link CountedPuller} reports to: the same bookkeeping as countedAsync's. */
  private readonly pullCounter: PullCounter = {
    read: () => {
      this.accepted++;
    },
    ended: () => {
      this.readComplete = true;
    },
    failed: (error) => {
      this.error ??= errorOf(error);
    },
    done: () => this.readDone(),
  };

  private readDone(): void {
    this.endRead();
  }

  /** The feedback loop: spool first (every device read gets its line), then the observers. */
  private async record(delivery: Delivery): Promise<void> {
    let failure: { error: unknown } | undefined;
    try {
      for await (const feedback of delivery) {
        // Abandoned at shutdown (spool ended, observers closed): a device its stuck read gave up since is not recorded.
        if (this.ending) continue;
        const writing = this.writeLine(feedback);
        if (writing) await writing;
        const observing = this.observe(feedback);
        if (observing) await observing;
        this.recorded++;
        this.wakeRecorded();
      }
    } catch (error) {
      failure = { error };
    }
    if (this.ending) return; // abandoned
    this.finalCounts = sendCounts(delivery.summary);
    if (this.abortReason !== undefined) {
      await this.recordUnread();
      await this.finish('aborted');
    } else if (failure) {
      this.error = errorOf(failure.error);
      await this.finish('failed');
    } else await this.finish('done');
  }

  /**
   * Shutdown, last stage, after `abort`: settles once every device read has its feedback
   * recorded, without waiting for a read that does not let go (a stalled request body, a stuck
   * query: the engine ends a delivery only once its pending read returns).
   */
  async abandon(): Promise<void> {
    while (!this.ending && this.recorded < this.accepted) {
      await new Promise<void>((resolve) => {
        this.onRecorded = resolve;
      });
    }
    if (!this.ending) await this.recordUnread();
    if (!this.ending) await this.finish('aborted');
    await this.settledStatus;
  }

  private wakeRecorded(): void {
    const wake = this.onRecorded;
    this.onRecorded = undefined;
    wake?.();
  }

  private writeLine(feedback: Feedback): Promise<void> | undefined {
    const before = this.spool.error;
    const writing = this.spool.write(feedbackLine(feedback));
    if (!before && this.spool.error) this.host.report(this.spool.error, 'recording feedback', this.spec);
    return writing?.then(() => {
      if (!before && this.spool.error) this.host.report(this.spool.error, 'recording feedback', this.spec);
    });
  }

  /** Every observer sees the feedback; their promises are awaited together. */
  private observe(feedback: Feedback): Promise<unknown> | undefined {
    const waits: Promise<unknown>[] = [];
    for (const observer of this.host.observers) {
      try {
        const result = observer.observe(this.spec, feedback);
        if (isPromise(result)) waits.push(result.catch((error) => this.observerFailed(observer, error)));
      } catch (error) {
        this.observerFailed(observer, error);
      }
    }
    if (waits.length === 0) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits);
  }

  private observerFailed(observer: FeedbackObserver, error: unknown): void {
    // Reported once per send: a broken metrics observer must not log ten million lines.
    if (this.failedObservers.has(observer)) return;
    this.failedObservers.add(observer);
    this.host.report(error, 'observing feedback', this.spec);
  }

  /** Ends the spool, flushes the observers, then settles: the final status comes last. */
  private async finish(state: 'done' | 'aborted' | 'failed'): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    this.wakeRecorded();
    this.readDone();
    this.finalCounts ??= this.delivery ? sendCounts(this.delivery.summary) : emptyCounts();
    await this.spool.end();
    for (const observer of this.host.observers) {
      try {
        await observer.flush?.();
      } catch (error) {
        this.observerFailed(observer, error);
      }
    }
    this.state = state;
    this.finishedAtMs = this.host.now();
    this.finishedAt = new Date(this.finishedAtMs).toISOString();
    this.host.settled(this);
    this.settle(this.status());
  }
}

/** Where a counted puller reports what it read, how reading ended, and that it did. */
interface PullCounter {
  read(): void;
  ended(): void;
  failed(error: unknown): void;
  done(): void;
}

/** A puller that counts what it hands on and says once when reading stopped, however it did. */
class CountedPuller implements Puller<Device> {
  private finished = false;

  constructor(
    private readonly inner: Puller<Device>,
    private readonly counter: PullCounter,
  ) {}

  next(): Pulled<Device> | Promise<Pulled<Device>> {
    let pulled: Pulled<Device> | Promise<Pulled<Device>>;
    try {
      pulled = this.inner.next();
    } catch (error) {
      this.fail(error);
      throw error;
    }
    if (!isPromise(pulled)) return this.count(pulled);
    return pulled.then(
      (answer) => this.count(answer),
      (error: unknown) => {
        this.fail(error);
        throw error;
      },
    );
  }

  close(): void {
    this.inner.close();
    this.finish();
  }

  private count(pulled: Pulled<Device>): Pulled<Device> {
    if (pulled.done) {
      if (!this.finished) this.counter.ended();
      this.finish();
    } else this.counter.read(); // handed to the engine, even just after close(): it gets its feedback
    return pulled;
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    this.counter.failed(error);
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.counter.done();
  }
}

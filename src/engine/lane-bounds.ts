/**
 * What one lane may hold, and when reading may go on past a lane that is full (design
 * contract 4: providers never block each other, even when their devices come from one source).
 *
 * A lane is full when it holds `window` devices queued or in flight, or `maxWaitingRetries`
 * devices waiting for a retry. The source cannot be read selectively: the next device may be
 * for any lane. So when the next device is for a full lane there are two honest choices —
 * hold it (and stop reading until that lane frees room: backpressure), or fail it now without
 * a request (`unavailable`, retryable: the caller sends it again later). Holding is right for
 * a lane that is merely busy: that is the provider's pace, and failing its devices would turn
 * a normal send into failures. Failing is right for a lane that is *in trouble* — most of its
 * recent answers were retryable failures (a 503 or 429 storm, timeouts), or its answers are
 * slow (`slowAnswerMs` longer on average than another lane's, or none at all) — while another lane
 * has room and was fed recently, i.e. reading is what it waits for. Then the troubled lane's
 * excess fails fast, naming the trouble, and the other lanes keep their pace.
 *
 * "Slow" is judged against the other lanes: a lane counts as slow when its answers take
 * `slowAnswerMs` longer than the fastest other lane's that is not failing, and
 * {@link SLOW_FACTOR}× as long. A sender short of CPU makes every lane's answers late
 * (requests wait in our own event loop), and that must not read as a provider's outage; a
 * slow provider adds its delay on top. Both verdicts are left at half the bar they were
 * reached at, so they don't flap. And while our own event loop is saturated (busy
 * {@link CPU_BOUND_SHARE} of a tick or more) nobody is judged slow at all: answers then wait
 * in our process for a share of the CPU that differs from provider to provider (an APNs answer
 * costs us less than an FCM one), so comparing them says nothing about the providers — the
 * demo, with every emulator in its own process, failed 26,000 devices on it — and failing a
 * lane's devices would not free what the others wait for, which is CPU, not reading.
 *
 * Health is sampled every {@link HEALTH_TICK_MS} ms, only while a send has two lanes or more
 * (a single-provider send has nobody to protect: it only ever waits). Answer time comes from
 * Little's law over the tick (devices in flight ÷ answers per ms), so no request is timed.
 */
import type { Device } from '../device.js';
import { PushError } from '../errors.js';
import { eventLoopBusy } from '../event-loop.js';
import type { Outcome } from '../provider.js';
import type { Lane } from './lane.js';

/** What happens to a device read for a full lane that is in trouble while others wait for reading. */
export type LaneOverflow = 'fail' | 'wait';

export interface LaneBoundsSettings {
  /** Devices one lane may hold queued or in flight. */
  window: number;
  /** Devices one lane may hold waiting for a retry. */
  maxWaitingRetries: number;
  /** How much longer than the fastest other lane's a lane's answers take when it is slow, ms. */
  slowAnswerMs: number;
  laneOverflow: LaneOverflow;
}

/** How often the lanes' health is sampled, while a send has two lanes or more. */
export const HEALTH_TICK_MS = 200;
/** Share of retryable failures among a lane's recent answers from which it counts as failing. */
const FAILING_SHARE = 0.5;
/** How many times the fastest other lane's answer time a slow lane's must be. */
export const SLOW_FACTOR = 3;
/**
 * Samples in a row a lane's answers must look slow before it is judged slow (1 s). Measured
 * on a loaded 2-core machine (the demo beside a test run): lanes' answer times swing several-
 * fold from one 200 ms tick to the next, each lane looking "slow" for 1–3 ticks in turn, which
 * failed 20,000 devices of healthy providers; a slow provider stays slow.
 */
export const SLOW_TICKS = 5;
/** Share of a tick our event loop was busy from which answer times are not compared. */
export const CPU_BOUND_SHARE = 0.9;
/**
 * A sample taken this many ticks late is dropped: the event loop itself was held up (CPU
 * starvation, a long GC), so every lane looks stalled and none of it is the providers' doing.
 */
const LATE_TICKS = 3;
/**
 * Another lane counts as waiting for reading when it got a device among the last `window`
 * devices read, and at least among the last this many (so a small window still sees a lane
 * that gets one device in five). Counted in reads, not time: while reading is held up, the
 * count stands still, and the other lane keeps counting as waiting.
 */
const RECENT_READS_MIN = 100;
/**
 * A lane that has not answered yet is given this many times as long before its wait counts
 * as slow: its first request also opens a connection and, for FCM, fetches a token.
 */
const FIRST_ANSWER_GRACE = 4;

/** One lane's recent health, fed by its answers and sampled on a timer. */
export class LaneHealth {
  /** The delivery's read count when this lane last got a device. */
  lastRead = Number.NEGATIVE_INFINITY;
  /** Whether the lane was failing or slow at the last sample. */
  troubled = false;
  /** Most recent answers were retryable failures (a 503 or 429 storm, timeouts). */
  failing = false;
  /** Answers slow, next to the other lanes', for {@link SLOW_TICKS} samples in a row. */
  private slow = false;
  /** Samples in a row that found the answers slow. */
  private slowStreak = 0;
  private answers = 0;
  private retryable = 0;
  private lastRetryable: PushError | undefined;
  private everAnswered = false;
  private inFlightBefore = 0;
  private stalledMs = 0;
  /** Smoothed answer time, ms (undefined before the first estimate). */
  private latencyMs: number | undefined;
  /** Smoothed share of retryable failures among answers. */
  private retryableShare = 0;
  /** The fastest other lane's answer time at the last judgement, for the error's words. */
  private fastestOtherMs: number | undefined;

  /** Counts one answer (one device, one attempt). */
  answered(outcome: Outcome): void {
    this.answers++;
    if (!outcome.ok && outcome.error.retryable) {
      this.retryable++;
      this.lastRetryable = outcome.error;
    }
  }

  /** Updates the estimates with the answers counted over the last `elapsedMs`. */
  sample(elapsedMs: number, inFlight: number): void {
    if (this.answers > 0) {
      // Little's law: mean time in flight = mean number in flight ÷ answers per ms.
      const latency = (((this.inFlightBefore + inFlight) / 2) * elapsedMs) / this.answers;
      this.latencyMs = this.latencyMs === undefined ? latency : (this.latencyMs + latency) / 2;
      this.retryableShare = (this.retryableShare + this.retryable / this.answers) / 2;
      this.stalledMs = 0;
      this.everAnswered = true;
    } else if (inFlight > 0) {
      this.stalledMs += elapsedMs;
    } else {
      this.stalledMs = 0; // nothing asked, nothing owed: no evidence either way
    }
    this.discard(inFlight);
  }

  /** Forgets the answers counted since the last sample (a sample that cannot be trusted). */
  discard(inFlight: number): void {
    this.answers = 0;
    this.retryable = 0;
    this.inFlightBefore = inFlight;
  }

  /**
   * How long this lane's answers take, ms: the smoothed answer time, or the time it has been
   * waiting for any answer when longer (a lane that never answered is given
   * {@link FIRST_ANSWER_GRACE}× as long); undefined while there is no evidence yet.
   */
  get answerMs(): number | undefined {
    const stall = this.everAnswered ? this.stalledMs : this.stalledMs / FIRST_ANSWER_GRACE;
    if (this.latencyMs === undefined && stall === 0) return undefined;
    return Math.max(this.latencyMs ?? 0, stall);
  }

  /**
   * Sets `troubled` from the latest estimates; `fastestOtherMs` is the shortest answer time of
   * the send's other lanes (undefined when none has one). True when the verdict changed.
   */
  judge(slowAnswerMs: number, fastestOtherMs: number | undefined): boolean {
    // A verdict is left only at half the bar it was reached at: failing fast a lane's excess
    // speeds the others up, which changes their answer times, and an edge must not flap.
    const bar = (reached: boolean) => (reached ? 0.5 : 1);
    this.failing = this.retryableShare >= bar(this.failing) * FAILING_SHARE;
    const answerMs = this.answerMs ?? 0;
    const slowBar = bar(this.slow);
    // A slow provider adds its delay on top of what every lane waits in our own process.
    const slowNow =
      fastestOtherMs !== undefined &&
      answerMs - fastestOtherMs >= slowBar * slowAnswerMs &&
      answerMs >= slowBar * SLOW_FACTOR * fastestOtherMs;
    // A slow provider stays slow; a busy machine makes lanes take turns looking slow.
    this.slowStreak = slowNow ? this.slowStreak + 1 : 0;
    this.slow = this.slow ? slowNow : this.slowStreak >= SLOW_TICKS;
    const was = this.troubled;
    this.fastestOtherMs = fastestOtherMs;
    this.troubled = this.failing || this.slow;
    return this.troubled !== was;
  }

  /** The trouble in words, for the error of a device failed fast. */
  describe(): string {
    if (this.failing) {
      const last = this.lastRetryable;
      const what = last ? `${last.code}${last.httpStatus ? `, HTTP ${last.httpStatus}` : ''}` : 'retryable';
      return `${Math.round(this.retryableShare * 100)}% of its recent answers were retryable failures (${what})`;
    }
    const others = `, the other providers' ~${fmt(this.fastestOtherMs ?? 0)} ms`;
    if (this.stalledMs > 0) return `no answer for ${fmt(this.stalledMs)} ms${others}`;
    return `its answers take ~${fmt(this.latencyMs ?? 0)} ms${others}`;
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The bounds of a delivery's lanes and the read-past decision. */
export class LaneBounds<D extends Device> {
  /** Devices read that went to a lane. */
  private reads = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampledAt = 0;

  constructor(
    private readonly settings: LaneBoundsSettings,
    private readonly lanes: ReadonlyMap<unknown, Lane<D>>,
    /** Called when a lane's health verdict changed: reading may resume or must now wait. */
    private readonly onChange: () => void,
    /** Share of the time since its last call our event loop was busy (tests replace it). */
    private readonly loopBusy: () => number = eventLoopBusy(),
  ) {}

  /** Whether `lane` may take one more device within its bounds. */
  hasRoom(lane: Lane<D>): boolean {
    return lane.queued + lane.inFlightDevices < lane.window && lane.waiting < this.settings.maxWaitingRetries;
  }

  /**
   * Whether a device read for `lane` fails fast: the lane is full — or failing and holding
   * `window` devices in all, waiting ones included, so that a provider in a 503 storm is not
   * hammered with retries (the retries of what it holds probe it) — and reading may go on
   * past it ({@link mayReadPast}).
   */
  overflows(lane: Lane<D>): boolean {
    const full =
      !this.hasRoom(lane) ||
      (lane.health.failing && lane.queued + lane.inFlightDevices + lane.waiting >= lane.window);
    return full && this.mayReadPast(lane);
  }

  /** Notes that a device was read for `lane`. */
  read(lane: Lane<D>): void {
    lane.health.lastRead = ++this.reads;
  }

  /**
   * Whether reading may go on past `lane`, which is full: only when it is in trouble and
   * another lane, fed recently ({@link RECENT_READS_MIN}), has room — reading is then what
   * that lane waits for. Otherwise reading waits for `lane` (plain backpressure).
   */
  mayReadPast(lane: Lane<D>): boolean {
    if (this.settings.laneOverflow !== 'fail' || !lane.health.troubled) return false;
    const recent = Math.max(this.settings.window, RECENT_READS_MIN);
    for (const other of this.lanes.values()) {
      if (
        other !== lane &&
        !other.tripped &&
        this.reads - other.health.lastRead <= recent &&
        this.hasRoom(other)
      ) {
        return true;
      }
    }
    return false;
  }

  /** The error of a device failed fast because its lane is full and in trouble. */
  overflowError(lane: Lane<D>): PushError {
    const name = lane.provider.name;
    const held = lane.queued + lane.inFlightDevices + lane.waiting;
    return new PushError(
      'unavailable',
      `${name}: ${fmt(held)} devices already held for this provider (${fmt(lane.queued + lane.inFlightDevices)} queued or in flight, ${fmt(lane.waiting)} waiting for a retry) and ${lane.health.describe()}; failed fast without a request to keep the other providers sending — send it again later`,
      { provider: name, retryable: true },
    );
  }

  /** Starts sampling health once the send has a second lane (and failing fast is allowed). */
  laneAdded(): void {
    if (this.timer || this.lanes.size < 2 || this.settings.laneOverflow !== 'fail') return;
    this.sampledAt = Date.now();
    this.timer = setInterval(() => this.sample(), HEALTH_TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Samples the lanes' health and judges them (every {@link HEALTH_TICK_MS}; public for tests). */
  sample(): void {
    const now = Date.now();
    const elapsed = now - this.sampledAt;
    this.sampledAt = now;
    const cpuBound = this.loopBusy() >= CPU_BOUND_SHARE;
    if (elapsed > LATE_TICKS * HEALTH_TICK_MS) {
      for (const lane of this.lanes.values()) lane.health.discard(lane.inFlightDevices);
      return;
    }
    for (const lane of this.lanes.values()) lane.health.sample(elapsed, lane.inFlightDevices);
    let changed = false;
    for (const lane of this.lanes.values()) {
      // Short of CPU, answer times measure our process, not the providers: no yardstick.
      const yardstick = cpuBound ? undefined : this.fastestOther(lane);
      if (lane.health.judge(this.settings.slowAnswerMs, yardstick)) changed = true;
    }
    if (changed) this.onChange();
  }

  /** The shortest answer time among the lanes `lane` may be compared with. */
  private fastestOther(lane: Lane<D>): number | undefined {
    let fastest: number | undefined;
    for (const other of this.lanes.values()) {
      // A failing lane answers fast (a 503 is quick): no measure of how long answers should take.
      // Nor is a lane of the other kind: a batching lane (HMS, 1,000 devices a request) answers
      // its devices far sooner than a lane that makes one request each, most of all when our
      // own CPU is the bottleneck — beside it every APNs/FCM lane would look slow.
      const ms =
        other === lane || other.tripped || other.health.failing || other.batched !== lane.batched
          ? undefined
          : other.health.answerMs;
      if (ms !== undefined && (fastest === undefined || ms < fastest)) fastest = ms;
    }
    return fastest;
  }
}

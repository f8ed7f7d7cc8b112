/**
 * How many requests a pool keeps in flight to one origin: a fixed number, or a limit that
 * finds what the round trip and the server allow.
 *
 * A sender's throughput is its requests in flight divided by the round trip (Little's law): at
 * 100 ms, 1,000 in flight can never exceed 10,000/s, however fast both ends are. The adaptive
 * limit is a delay-based limiter in the manner of TCP Vegas and Netflix's concurrency-limits
 * (the "gradient" and "Vegas" limiters), with TCP's AIMD reaction to explicit overload:
 *
 *  - the no-load latency is about the smallest round trip seen (`minRtt`: the 8th smallest, so
 *    that one request answered at once on the same origin — an OAuth token next to FCM's
 *    sends — cannot pose as the baseline). It falls at once, and
 *    rises only slowly — by at most 10% per 10 s window whose own minimum was higher — so a
 *    slower route becomes the baseline within minutes, while the queueing delay the sender's
 *    own load adds (which is there in every sample of a busy pool) is not mistaken for it;
 *  - once per round (about one round trip), while the pool was actually using its limit and the
 *    sender's event loop was not busy all the time (then it is its own bottleneck): if the
 *    round's mean round trip stayed near `minRtt`, more in flight means proportionally more
 *    throughput, so the limit grows (×1.5 far from the knee, ×1.1 close to it). It also grows
 *    by 10% while each step up still buys answers per second (at least a quarter of the step)
 *    although the round trip rose — a server that gets faster per request with more of them in
 *    flight, as a CPU-starved one does (up to 4× the no-load round trip). If the round
 *    trip rose well above `minRtt` and throughput did not, the extra requests only queue
 *    somewhere, so it shrinks by 10% — never below the initial limit on latency alone (a sender
 *    whose own CPU is the bottleneck sees its round trip rise with load, and must not starve
 *    itself: at 0 ms it keeps today's limit);
 *  - an explicit overload signal — a `429`, a stream refused (REFUSED_STREAM), a GOAWAY, a
 *    timeout — cuts the limit multiplicatively at once, at most once per round (the requests
 *    already in flight report the same overload again), down to `min`.
 *
 * Nothing here sends, retries or fails a request: it only says how many may be in flight.
 * The pool re-sends refused streams itself and never drops one (see base-pool.ts).
 */

import { eventLoopBusy } from '../event-loop.js';

/** What made the server (or the path) say "too much". */
export type OverloadSignal = '429' | 'refused' | 'goaway' | 'timeout';

export interface Limiter {
  /** Requests that may be in flight now. */
  readonly limit: number;
  /** Whether the limit moves (false: a fixed `concurrency`). */
  readonly adaptive: boolean;
  /** A request got its answer after `rttMs`; `inFlight` were in flight when it was taken. */
  sample(rttMs: number, inFlight: number): void;
  /** The server (or the path) signalled overload. */
  overload(signal: OverloadSignal): void;
}

/** A limit that never moves: `concurrency` given by the caller. */
export class FixedLimit implements Limiter {
  readonly adaptive = false;
  constructor(readonly limit: number) {}
  sample(): void {}
  overload(): void {}
}

export interface AdaptiveLimitOptions {
  /** Where the limit starts, and the lowest it goes on latency alone. */
  initial: number;
  /** Highest limit (`maxConcurrency`). */
  max: number;
  /** Lowest limit under repeated overload signals. Default 10. */
  min?: number;
  /** Milliseconds, monotonic enough; tests pass a fake clock. Default `performance.now`. */
  now?: () => number;
  /**
   * Share of the time since the last call the event loop was busy (0–1). Default: Node's
   * event-loop utilization. Tests pass a fixed value.
   */
  busy?: () => number;
}

/** Above this event-loop utilization the sender is its own bottleneck: more in flight only queues here. */
const SENDER_SATURATED = 0.9;

/** Grow fast while the round trip is within this factor of the no-load one… */
const FAST_GROW_BELOW = 1.25;
/** …slowly up to this factor… */
const GROW_BELOW = 1.5;
/** …and shrink (down to the initial limit) above this one. */
const SHRINK_ABOVE = 2.5;
/** A round counts as using the limit when this share of it was in flight. */
const SATURATED = 0.8;
/**
 * After the limit grew by x%, a round whose answers per second rose by at least this share of
 * x% "still gains": more in flight still buys throughput, whatever the round trip says.
 */
const GAIN_SHARE = 0.25;
/**
 * …as long as the round trip stays within this factor of `minRtt`: beyond, as on loopback
 * where the round trip is the sender's own queue, a gain is noise more often than not.
 */
const GAIN_BELOW = 4;
/** Fewest answers that make a round (a mean of one or two round trips says little). */
const MIN_ROUND_SAMPLES = 8;
/** Shortest round, ms: the clock's resolution and the scheduler's are not finer. */
const MIN_ROUND_MS = 5;
/** How often (ms) the no-load latency may rise towards what the last window saw… */
const MIN_RTT_WINDOW_MS = 10_000;
/** …and by at most this factor each time. */
const MIN_RTT_RISE = 1.1;
/**
 * The no-load round trip is the 8th smallest seen, not the smallest: one request answered at
 * once on the same origin (an OAuth token next to FCM's sends, an error answered early) must
 * not pose as the baseline of the pushes, which then would never look unloaded.
 */
const LOW_SAMPLES = 8;

/** Keeps `lows` the LOW_SAMPLES smallest values seen, ascending. */
function insertLow(lows: number[], value: number): void {
  if (lows.length === LOW_SAMPLES && value >= lows[LOW_SAMPLES - 1]!) return;
  let i = lows.length === LOW_SAMPLES ? LOW_SAMPLES - 1 : lows.length;
  while (i > 0 && lows[i - 1]! > value) {
    lows[i] = lows[i - 1]!;
    i--;
  }
  lows[i] = value;
}

/** The largest of the smallest values kept: the LOW_SAMPLES-th smallest once there are enough. */
function kthLowest(lows: number[]): number {
  return lows.length === 0 ? Number.POSITIVE_INFINITY : lows[lows.length - 1]!;
}
/** Multiplicative decrease per overload signal (once per round). */
const DECREASE: Record<OverloadSignal, number> = {
  // The server says it wants less: halve, as TCP does on loss.
  '429': 0.5,
  refused: 0.5,
  // A connection going away may be routine (rotation, idle): a gentler step.
  goaway: 0.8,
  timeout: 0.5,
};

export class AdaptiveLimit implements Limiter {
  readonly adaptive = true;
  private current: number;
  private readonly initial: number;
  private readonly max: number;
  private readonly min: number;
  private readonly now: () => number;
  private readonly busy: () => number;

  private minRtt = Number.POSITIVE_INFINITY;
  /** The smallest round trip of the current window (see MIN_RTT_WINDOW_MS). */
  private bucketLows: number[] = [];
  /** The LOW_SAMPLES smallest round trips behind `minRtt`, ascending. */
  private lows: number[] = [];
  private bucketStart: number;

  private roundStart: number;
  private roundSamples = 0;
  private roundRttSum = 0;
  private roundPeakInFlight = 0;
  /** Mean round trip of the last round: how long the next one lasts. */
  private lastRoundRtt = 0;
  /** Answers per ms of the last round. */
  private lastThroughput = 0;
  /** Relative growth the last round ended with (0.1 for ×1.1; 0 when the limit did not grow). */
  private lastStep = 0;
  /** No overload signal lowers the limit again before this time (once per round). */
  private holdUntil = Number.NEGATIVE_INFINITY;

  constructor(options: AdaptiveLimitOptions) {
    this.now = options.now ?? (() => performance.now());
    this.busy = options.busy ?? eventLoopBusy();
    this.max = Math.max(1, Math.floor(options.max));
    this.initial = Math.min(this.max, Math.max(1, Math.floor(options.initial)));
    this.min = Math.min(this.initial, Math.max(1, Math.floor(options.min ?? 10)));
    this.current = this.initial;
    this.roundStart = this.now();
    this.bucketStart = this.roundStart;
  }

  get limit(): number {
    return this.current;
  }

  /** The no-load round trip seen lately, ms (Infinity before the first answer). */
  get noLoadRttMs(): number {
    return this.minRtt;
  }

  sample(rttMs: number, inFlight: number): void {
    const now = this.now();
    // Below the clock's resolution, a round trip is "about 1 ms": ratios of zeros mean nothing.
    const rtt = Math.max(1, rttMs);
    this.trackMinRtt(rtt, now);
    this.roundSamples++;
    this.roundRttSum += rtt;
    if (inFlight > this.roundPeakInFlight) this.roundPeakInFlight = inFlight;
    const elapsed = now - this.roundStart;
    if (this.roundSamples < MIN_ROUND_SAMPLES || elapsed < Math.max(MIN_ROUND_MS, this.lastRoundRtt)) return;
    const meanRtt = this.roundRttSum / this.roundSamples;
    const throughput = this.roundSamples / elapsed;
    const gained =
      this.lastStep > 0 &&
      this.lastThroughput > 0 &&
      throughput >= this.lastThroughput * (1 + GAIN_SHARE * this.lastStep);
    // Growing helps only when the pool uses its limit and the sender has CPU to spare for more.
    const saturated = this.roundPeakInFlight >= this.current * SATURATED && this.busy() < SENDER_SATURATED;
    this.lastRoundRtt = meanRtt;
    this.lastThroughput = throughput;

    this.startRound(now);
    const ratio = meanRtt / this.minRtt;
    const before = this.current;
    this.decide(ratio, saturated, gained);
    this.lastStep = this.current > before ? this.current / before - 1 : 0;
  }

  private decide(ratio: number, saturated: boolean, gained: boolean): void {
    if (ratio > SHRINK_ABOVE && !gained) {
      if (this.current > this.initial) this.current = Math.max(this.initial, Math.floor(this.current * 0.9));
    } else if (saturated && (ratio <= GROW_BELOW || (gained && ratio <= GAIN_BELOW))) {
      const factor = ratio <= FAST_GROW_BELOW ? 1.5 : 1.1;
      this.current = Math.min(this.max, Math.ceil(this.current * factor));
    }
  }

  overload(signal: OverloadSignal): void {
    const now = this.now();
    if (now < this.holdUntil) return;
    this.current = Math.max(this.min, Math.floor(this.current * DECREASE[signal]));
    // The requests already in flight were sent under the old limit: their answers (more 429s,
    // more refusals) are the same signal, not a new one. Wait a round trip before listening again.
    const roundTrip = Number.isFinite(this.minRtt) ? Math.max(this.lastRoundRtt, this.minRtt) : 0;
    this.holdUntil = now + Math.max(MIN_ROUND_MS, roundTrip);
    this.startRound(now);
  }

  private startRound(now: number): void {
    this.roundStart = now;
    this.roundSamples = 0;
    this.roundRttSum = 0;
    this.roundPeakInFlight = 0;
  }

  private trackMinRtt(rtt: number, now: number): void {
    if (now - this.bucketStart >= MIN_RTT_WINDOW_MS) {
      const bucketMin = kthLowest(this.bucketLows);
      if (bucketMin > this.minRtt && Number.isFinite(bucketMin)) {
        const raised = Math.min(bucketMin, this.minRtt * MIN_RTT_RISE);
        this.lows = new Array<number>(LOW_SAMPLES).fill(raised);
      }
      this.bucketLows = [];
      this.bucketStart = now;
    }
    insertLow(this.bucketLows, rtt);
    insertLow(this.lows, rtt);
    this.minRtt = kthLowest(this.lows);
  }
}

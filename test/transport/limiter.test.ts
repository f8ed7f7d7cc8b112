/**
 * The in-flight limit (src/transport/limiter.ts), driven by a fake clock: no timing, only
 * the decisions the limiter takes from the round trips and overload signals it is fed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveLimit, FixedLimit } from '../../src/transport/limiter.js';

function fakeClock(): { now: () => number; advance(ms: number): void } {
  let t = 0;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

/**
 * One round trip of a saturated pool: every request in flight answers after `rttMs`, then the
 * clock has moved by `rttMs`. The in-flight count is the limit (the pool refills to it).
 */
function round(limiter: AdaptiveLimit, clock: ReturnType<typeof fakeClock>, rttMs: number): void {
  const answers = Math.max(20, Math.min(limiter.limit, 200));
  for (let i = 0; i < answers; i++) {
    clock.advance(rttMs / answers);
    limiter.sample(rttMs, limiter.limit);
  }
}

describe('AdaptiveLimit', () => {
  it('grows at a high round trip while the round trip stays at its no-load value, up to the cap', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 10_000, now: clock.now, busy: () => 0.5 });
    const seen = [limiter.limit];
    for (let i = 0; i < 12; i++) {
      round(limiter, clock, 100);
      seen.push(limiter.limit);
    }
    assert.ok(seen[3]! > 2000, `grew within a few round trips: ${seen.join(' → ')}`);
    assert.equal(limiter.limit, 10_000, `stops at maxConcurrency: ${seen.join(' → ')}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, 'never shrank');
  });

  it('stops growing once more in flight only adds queueing delay, and gives the excess back', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 100_000, now: clock.now, busy: () => 0.5 });
    // A path that carries 20,000/s at most behind a 100 ms round trip: beyond 2,000 in
    // flight, the round trip is in flight / 20,000 (Little's law).
    const rttAt = (inFlight: number) => Math.max(100, (inFlight / 20_000) * 1000);
    for (let i = 0; i < 40; i++) round(limiter, clock, rttAt(limiter.limit));
    assert.ok(limiter.limit >= 2000, `reached the path's capacity: ${limiter.limit}`);
    assert.ok(limiter.limit <= 20_000 * 0.1 * 2.5, `but stopped near it: ${limiter.limit}`);
  });

  it('does not take one answer given at once (an OAuth token on the same origin) as the no-load round trip', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 10_000, now: clock.now, busy: () => 0.5 });
    clock.advance(1);
    limiter.sample(1, 1);
    for (let i = 0; i < 12; i++) round(limiter, clock, 100);
    assert.ok(limiter.noLoadRttMs > 50, `baseline ${limiter.noLoadRttMs}`);
    assert.equal(limiter.limit, 10_000);
  });

  it('keeps growing while answers per second grow, even though the round trip rises', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 10_000, now: clock.now, busy: () => 0.5 });
    // A CPU-starved server: it gets faster per request with more in flight (it batches), but the
    // round trip still rises — 100 ms at nothing in flight, 100 ms more per 2,500.
    for (let r = 0; r < 60; r++) {
      const limit = limiter.limit;
      const rtt = 100 + (limit / 2500) * 100;
      for (let i = 0; i < limit; i++) {
        clock.advance(rtt / limit);
        limiter.sample(rtt, limit);
      }
    }
    // On the round trip alone (×1.5 at most) it would stop near 1,250 in flight.
    assert.ok(limiter.limit >= 5000, `grew with throughput: ${limiter.limit}`);
  });

  it('does not grow while the sender itself is busy all the time (its own CPU is the bottleneck)', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 10_000, now: clock.now, busy: () => 0.99 });
    for (let i = 0; i < 12; i++) round(limiter, clock, 100);
    assert.equal(limiter.limit, 1000);
  });

  it('does not grow when the pool does not use its limit', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 10_000, now: clock.now, busy: () => 0.5 });
    for (let i = 0; i < 10; i++) {
      for (let j = 0; j < 50; j++) {
        clock.advance(2);
        limiter.sample(100, 300);
      }
    }
    assert.equal(limiter.limit, 1000);
  });

  it('never goes below the initial limit on latency alone (a CPU-bound sender keeps its limit)', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 10_000, now: clock.now, busy: () => 0.5 });
    round(limiter, clock, 1);
    for (let i = 0; i < 20; i++) round(limiter, clock, 40);
    assert.equal(limiter.limit, 1000);
  });

  it('shrinks on latency only what it grew', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 10_000, now: clock.now, busy: () => 0.5 });
    for (let i = 0; i < 8; i++) round(limiter, clock, 100);
    const grown = limiter.limit;
    assert.ok(grown > 1000);
    for (let i = 0; i < 8; i++) round(limiter, clock, 400);
    assert.ok(limiter.limit < grown, `${limiter.limit} < ${grown}`);
    for (let i = 0; i < 100; i++) round(limiter, clock, 400);
    assert.equal(limiter.limit, 1000);
  });

  for (const signal of ['429', 'refused'] as const) {
    it(`halves on ${signal}, once per round trip, down to its minimum`, () => {
      const clock = fakeClock();
      const limiter = new AdaptiveLimit({
        initial: 1000,
        max: 10_000,
        min: 10,
        now: clock.now,
        busy: () => 0.5,
      });
      round(limiter, clock, 100);
      const before = limiter.limit;
      limiter.overload(signal);
      assert.equal(limiter.limit, Math.floor(before / 2));
      // The answers of requests already in flight repeat the same signal: no second cut.
      limiter.overload(signal);
      limiter.overload(signal);
      assert.equal(limiter.limit, Math.floor(before / 2));
      clock.advance(150);
      limiter.overload(signal);
      assert.equal(limiter.limit, Math.floor(before / 4));
      for (let i = 0; i < 20; i++) {
        clock.advance(150);
        limiter.overload(signal);
      }
      assert.equal(limiter.limit, 10);
    });
  }

  it('backs off more gently on GOAWAY, and on a timeout as on a 429', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 10_000, now: clock.now, busy: () => 0.5 });
    limiter.overload('goaway');
    assert.equal(limiter.limit, 800);
    clock.advance(1000);
    limiter.overload('timeout');
    assert.equal(limiter.limit, 400);
  });

  it('keeps its limits in their caps: initial above max is max', () => {
    const limiter = new AdaptiveLimit({ initial: 5000, max: 2000, now: () => 0 });
    assert.equal(limiter.limit, 2000);
  });

  it('takes a slower route as the new baseline, slowly (10% per 10 s)', () => {
    const clock = fakeClock();
    const limiter = new AdaptiveLimit({ initial: 1000, max: 10_000, now: clock.now, busy: () => 0.5 });
    round(limiter, clock, 10);
    assert.equal(limiter.noLoadRttMs, 10);
    // 30 s of a 100 ms route: the baseline has risen, but by three steps of 10% at most.
    for (let i = 0; i < 300; i++) round(limiter, clock, 100);
    assert.ok(
      limiter.noLoadRttMs > 10 && limiter.noLoadRttMs <= 10 * 1.1 ** 3 + 1e-9,
      `${limiter.noLoadRttMs}`,
    );
    assert.equal(limiter.limit, 1000, 'meanwhile the round trip looks like queueing: no growth');
    // Five minutes on: the 100 ms route is the baseline, and the limit grew on it.
    for (let i = 0; i < 3000; i++) round(limiter, clock, 100);
    assert.equal(limiter.noLoadRttMs, 100);
    assert.equal(limiter.limit, 10_000);
  });
});

describe('FixedLimit', () => {
  it('stays where it was put, whatever the answers', () => {
    const limiter = new FixedLimit(250);
    limiter.sample();
    limiter.overload();
    assert.equal(limiter.limit, 250);
    assert.equal(limiter.adaptive, false);
  });
});

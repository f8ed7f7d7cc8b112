/**
 * Lanes are independent inside one send (design contract 4, issue 13 point 4): a provider
 * that hangs, fails every request or answers slowly must not hold up reading for the others
 * when their devices come from the same source; its devices are held up to its bounds, then
 * failed fast with a retryable `unavailable` naming the trouble. A merely busy lane, a
 * single-provider send and `laneOverflow: 'wait'` only ever apply backpressure.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LaneBounds, LaneHealth, SLOW_TICKS } from '../../src/engine/lane-bounds.js';
import type { Feedback, PushClientOptions } from '../../src/index.js';
import { PushClient, PushError } from '../../src/index.js';
import type { Outcome } from '../../src/provider.js';
import { collect, type ScriptedDevice, ScriptedProvider, type Step } from '../support/scripted-provider.js';

interface Run {
  feedback: Feedback<ScriptedDevice>[];
  /** Whether every device of the healthy lane was answered before the guard fired. */
  fineCompleted: boolean;
  /** Most devices of the troubled lane read and not yet answered, at any moment. */
  worstTroubledHeld: number;
  /** The same, counted only once `lateAfter` of its devices had failed fast. */
  worstLateHeld: number;
  stuck: ScriptedProvider;
  fine: ScriptedProvider;
}

/**
 * One send over a mixed source: `stuckShare` of the devices go to the `stuck` lane (iOS) with
 * `stuckScript`, the rest to the `fine` lane (Android), interleaved. Once every fine device is
 * answered (or after `guardMs`) the send is aborted, so nothing hangs (unless `toTheEnd`).
 */
async function mixedSend(options: {
  devices: number;
  stuckScript: Step[];
  stuckDelayMs?: number;
  stuckShare?: number;
  order?: 'interleaved' | 'fine-first';
  client: Omit<PushClientOptions, 'providers'>;
  guardMs?: number;
  /** Run the send to its end instead of aborting once the healthy lane is done. */
  toTheEnd?: boolean;
  lateAfter?: number;
}): Promise<Run> {
  const stuck = new ScriptedProvider({ name: 'stuck', platforms: ['ios'] });
  const fine = new ScriptedProvider({ name: 'fine', platforms: ['android'] });
  const client = new PushClient({ providers: [stuck, fine], ...options.client });
  const share = options.stuckShare ?? 0.5;
  const devices: ScriptedDevice[] = [];
  for (let id = 0; id < options.devices; id++) {
    const isStuck = Math.floor((id + 1) * share) > Math.floor(id * share);
    devices.push(
      isStuck
        ? { platform: 'ios', token: `s${id}`, id, script: options.stuckScript, delayMs: options.stuckDelayMs }
        : { platform: 'android', token: `f${id}`, id, script: ['ok'], delayMs: 1 },
    );
  }
  if (options.order === 'fine-first')
    devices.sort((a, b) => Number(a.platform === 'ios') - Number(b.platform === 'ios'));
  const fineTotal = devices.filter((d) => d.platform === 'android').length;
  let troubledPulled = 0;
  let troubledReceived = 0;
  let worstTroubledHeld = 0;
  let worstLateHeld = 0;
  let failedFastSeen = 0;
  function* source() {
    for (const device of devices) {
      if (device.platform === 'ios') {
        troubledPulled++;
        worstTroubledHeld = Math.max(worstTroubledHeld, troubledPulled - troubledReceived);
        if (failedFastSeen >= (options.lateAfter ?? Number.POSITIVE_INFINITY)) {
          worstLateHeld = Math.max(worstLateHeld, troubledPulled - troubledReceived);
        }
      }
      yield device;
    }
  }
  const delivery = client.send({}, source());
  const guard = setTimeout(
    () => delivery.abort('guard: the healthy lane did not finish'),
    options.guardMs ?? 10_000,
  );
  const feedback: Feedback<ScriptedDevice>[] = [];
  let fineReceived = 0;
  let fineCompleted = fineTotal === 0;
  try {
    for await (const fb of delivery) {
      feedback.push(fb);
      if (fb.device.platform === 'ios') {
        troubledReceived++;
        if (fb.attempts === 0) failedFastSeen++;
      } else if (++fineReceived === fineTotal && fb.status === 'sent') {
        fineCompleted = !feedback.some((f) => f.device.platform === 'android' && f.error?.code === 'aborted');
        if (!options.toTheEnd) delivery.abort('test over');
      }
    }
  } finally {
    clearTimeout(guard);
    await client.close();
  }
  return { feedback, fineCompleted, worstTroubledHeld, worstLateHeld, stuck, fine };
}

const failedFast = (run: Run) =>
  run.feedback.filter(
    (fb) => fb.device.platform === 'ios' && fb.attempts === 0 && fb.error?.code === 'unavailable',
  );

function assertOneFeedbackEach(run: Run): void {
  assert.equal(
    new Set(run.feedback.map((fb) => fb.device.id)).size,
    run.feedback.length,
    'one feedback each',
  );
}

describe('independent lanes in one send', () => {
  test('a provider that never answers: the other lane finishes; the stuck one holds its window, then fails fast', async () => {
    const window = 20;
    const run = await mixedSend({
      devices: 2000,
      stuckScript: ['hang'],
      client: { window, slowAnswerMs: 20 },
    });
    assert.ok(run.fineCompleted, 'every device of the healthy lane was sent');
    assertOneFeedbackEach(run);
    // Holds its window: all of it (a lane that never sent, 0 in flight, would pass a bound alone).
    assert.equal(run.stuck.maxInFlight, window, `stuck lane had ${run.stuck.maxInFlight} in flight`);
    // Its window, plus unread feedback (at most a window) and the device being handed on.
    assert.ok(run.worstTroubledHeld <= 2 * window + 1, `held ${run.worstTroubledHeld}`);
    const fast = failedFast(run);
    assert.ok(fast.length > 500, `${fast.length} failed fast`);
    for (const fb of fast) {
      assert.equal(fb.error!.retryable, true);
      assert.equal(fb.provider, 'stuck');
      assert.match(
        fb.error!.message,
        /^stuck: \d+ devices already held for this provider .*no answer for [\d,]+ ms/,
      );
      assert.match(fb.error!.message, /failed fast without a request to keep the other providers sending/);
    }
  });

  test('a 503 storm: the failing lane holds window + maxWaitingRetries at most, the other lane finishes', async () => {
    const window = 10;
    const maxWaitingRetries = 30;
    const run = await mixedSend({
      devices: 2000,
      stuckScript: ['retry'],
      client: {
        window,
        maxWaitingRetries,
        retry: { maxAttempts: 1000, baseDelayMs: 10, maxDelayMs: 40, maxTotalDelayMs: 600_000 },
      },
    });
    assert.ok(run.fineCompleted, 'every device of the healthy lane was sent');
    assertOneFeedbackEach(run);
    assert.ok(
      run.worstTroubledHeld <= window + maxWaitingRetries + window + 1,
      `held ${run.worstTroubledHeld} devices of the failing lane`,
    );
    const fast = failedFast(run);
    assert.ok(fast.length > 500, `${fast.length} failed fast`);
    assert.match(
      fast[0]!.error!.message,
      /\d+% of its recent answers were retryable failures \(unavailable, HTTP 503\)/,
    );
    // Nothing else: the failing lane's other devices were aborted while waiting for a retry.
    for (const fb of run.feedback.filter((f) => f.device.platform === 'ios' && f.attempts > 0)) {
      assert.equal(fb.error?.code, 'aborted');
    }
  });

  test('a failing lane is kept to `window` devices in all once it is known to fail: retries probe it, new devices fail fast', async () => {
    const window = 10;
    const run = await mixedSend({
      devices: 4000,
      stuckScript: ['retry'],
      client: {
        window,
        maxWaitingRetries: 1000,
        retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 10 },
      },
      // By then the devices it took before it was known to fail have used their 3 attempts.
      lateAfter: 300,
    });
    assert.ok(run.fineCompleted);
    // Past the 300 that start the late count, so the bound below was measured over real reads
    // (how many more depends on how soon the healthy lane finishes: ~800 on an idle machine).
    assert.ok(failedFast(run).length > 400, `${failedFast(run).length} failed fast`);
    assert.ok(run.worstLateHeld > 0, 'the late phase was reached');
    // Its window, plus unread feedback (at most a window) and the device being handed on —
    // not the 1,000 it could hold waiting for retries.
    assert.ok(run.worstLateHeld <= 2 * window + 1, `held ${run.worstLateHeld}`);
    assert.ok(run.worstTroubledHeld > 2 * window + 1, 'it held more before it was known to fail');
  });

  test('slow answers: the slow lane keeps sending what its window holds, the rest fails fast', async () => {
    const run = await mixedSend({
      devices: 2000,
      stuckScript: ['ok'],
      stuckDelayMs: 300,
      client: { window: 10, slowAnswerMs: 50 },
    });
    assert.ok(run.fineCompleted, 'every device of the healthy lane was sent');
    assertOneFeedbackEach(run);
    assert.ok(run.feedback.some((fb) => fb.device.platform === 'ios' && fb.status === 'sent'));
    const fast = failedFast(run);
    assert.ok(fast.length > 500, `${fast.length} failed fast`);
    // Slow answers come in bursts: a sample between two bursts saw none.
    assert.match(
      fast.at(-1)!.error!.message,
      /(its answers take ~|no answer for )[\d,]+ ms, the other providers' ~[\d,]+ ms/,
    );
  });

  test('a busy but healthy lane is waited for: nothing fails', async () => {
    const run = await mixedSend({
      devices: 600,
      stuckScript: ['ok'],
      stuckDelayMs: 15,
      client: { window: 5 },
      guardMs: 30_000,
    });
    assert.ok(run.fineCompleted);
    // Only the abort once the healthy lane was done ends anything but `sent`.
    assert.deepEqual(
      run.feedback.filter((fb) => fb.status !== 'sent' && fb.error?.code !== 'aborted'),
      [],
    );
  });

  test('a batching lane is no yardstick: a one-request-per-device lane next to it is not called slow', async () => {
    // A lane sending 1,000 devices a request answers each device far sooner than one making a
    // request per device (the demo's HMS lane next to APNs on a busy CPU): none may fail fast.
    const single = new ScriptedProvider({ name: 'single', platforms: ['ios'] });
    const batching = new ScriptedProvider({ name: 'batching', platforms: ['huawei'], batchSize: 50 });
    const client = new PushClient({ providers: [single, batching], window: 20, slowAnswerMs: 50 });
    const devices: ScriptedDevice[] = [];
    for (let id = 0; id < 1200; id++) {
      devices.push(
        id % 3 === 0
          ? { platform: 'ios', token: `s${id}`, id, script: ['ok'], delayMs: 200 }
          : { platform: 'huawei', token: `h${id}`, id, script: ['ok'], delayMs: 1 },
      );
    }
    try {
      const feedback = await collect(client.send({}, devices));
      assert.equal(feedback.length, 1200);
      assert.deepEqual(
        feedback.filter((fb) => fb.status !== 'sent').map((fb) => fb.error?.message),
        [],
      );
    } finally {
      await client.close();
    }
  });

  test('a troubled lane whose devices come after the others’ is waited for, not failed', async () => {
    const run = await mixedSend({
      devices: 800,
      stuckShare: 0.75,
      order: 'fine-first',
      stuckScript: ['ok'],
      stuckDelayMs: 40,
      client: { window: 10, slowAnswerMs: 10 },
      guardMs: 30_000,
      toTheEnd: true,
    });
    // The healthy lane is done before the slow lane's devices start: reading past the slow
    // lane would help nobody, so at most the 100 reads after the boundary fail fast.
    assert.ok(failedFast(run).length <= 100, `${failedFast(run).length} failed fast`);
    assert.ok(run.feedback.filter((fb) => fb.status === 'sent').length >= 700);
  });

  test('one provider alone is always waited for, however slow', async () => {
    const provider = new ScriptedProvider({ name: 'slow', platforms: ['ios'] });
    const other = new ScriptedProvider({ name: 'other', platforms: ['android'] });
    const client = new PushClient({ providers: [provider, other], window: 4, slowAnswerMs: 1 });
    const devices: ScriptedDevice[] = Array.from({ length: 80 }, (_, id) => ({
      platform: 'ios',
      token: `t${id}`,
      id,
      script: [id % 2 ? 'retry' : 'ok', 'ok'],
      delayMs: 20,
    }));
    const summary = await client.send({}, devices, { retry: { baseDelayMs: 1, maxDelayMs: 5 } }).done;
    assert.equal(summary.sent, 80);
    await client.close();
  });

  test("laneOverflow: 'wait' holds reading for a stuck lane instead of failing its devices", async () => {
    const run = await mixedSend({
      devices: 400,
      stuckScript: ['hang'],
      client: { window: 10, slowAnswerMs: 10, laneOverflow: 'wait' },
      guardMs: 1000,
    });
    assert.equal(run.fineCompleted, false, 'reading waited for the stuck lane');
    assert.equal(failedFast(run).length, 0);
    assertOneFeedbackEach(run);
  });

  test('laneOverflow and slowAnswerMs are checked', () => {
    const providers = [new ScriptedProvider()];
    assert.throws(
      () => new PushClient({ providers, laneOverflow: 'drop' as never }),
      /laneOverflow must be 'fail' or 'wait'/,
    );
    assert.throws(
      () => new PushClient({ providers, slowAnswerMs: 0 }),
      /slowAnswerMs must be a whole number/,
    );
  });
});

describe('lane health', () => {
  const ok: Outcome = { ok: true };
  const unavailable: Outcome = {
    ok: false,
    error: new PushError('unavailable', 'try later', { httpStatus: 503 }),
  };
  function answer(health: LaneHealth, failures: number, successes: number): void {
    for (let i = 0; i < failures; i++) health.answered(unavailable);
    for (let i = 0; i < successes; i++) health.answered(ok);
    health.sample(200, 0);
  }

  test('failing is reached at half the answers failing and left below a quarter', () => {
    const health = new LaneHealth();
    answer(health, 10, 0); // smoothed share 0.5
    assert.equal(health.judge(500, undefined), true);
    assert.equal(health.troubled, true);
    answer(health, 3, 7); // 0.4: below the bar to reach, above the bar to leave
    assert.equal(health.judge(500, undefined), false);
    assert.equal(health.troubled, true);
    answer(health, 0, 10); // 0.2
    health.judge(500, undefined);
    assert.equal(health.troubled, false);
    answer(health, 4, 6); // 0.3: not enough to come back
    health.judge(500, undefined);
    assert.equal(health.troubled, false);
    assert.match(health.describe(), /its answers take/);
  });

  test('slow needs slowAnswerMs more than the fastest other lane and 3× as long; it is left at half of both', () => {
    const health = new LaneHealth();
    // 10 in flight throughout, 2 answers per 200 ms: Little's law gives 1,000 ms.
    const tick = () => {
      health.answered(ok);
      health.answered(ok);
      health.sample(200, 10);
    };
    health.sample(0, 10);
    tick();
    assert.equal(health.answerMs, 1000);
    assert.equal(health.judge(500, undefined), false, 'nobody to compare with');
    assert.equal(health.judge(500, 400), false, 'not 3× the other lane');
    assert.equal(health.judge(2000, 10), false, 'not slowAnswerMs longer than the other lane');
    // Slow only after SLOW_TICKS samples in a row: a streak broken by one normal sample restarts.
    for (let i = 1; i < SLOW_TICKS; i++) assert.equal(health.judge(500, 300), false, `sample ${i} in a row`);
    assert.equal(health.judge(500, 900), false);
    for (let i = 1; i < SLOW_TICKS; i++) assert.equal(health.judge(500, 300), false, `again, sample ${i}`);
    assert.equal(health.judge(500, 300), true);
    assert.equal(health.judge(500, 600), false, 'still 1.5× the other lane: stays slow');
    assert.equal(health.troubled, true);
    assert.match(health.describe(), /its answers take ~1,000 ms, the other providers' ~600 ms/);
    health.judge(500, 700);
    assert.equal(health.troubled, false);
  });

  test('a saturated event loop judges nobody slow: answer times then measure our CPU, not the providers', async () => {
    let busy = 0.95;
    const lane = (name: string) => ({
      health: new LaneHealth(),
      provider: { name },
      inFlightDevices: 10,
      queued: 0,
      waiting: 0,
      window: 10,
      tripped: false,
      batched: false,
    });
    const slow = lane('slow');
    const fast = lane('fast');
    const settings = { window: 10, maxWaitingRetries: 10, slowAnswerMs: 1, laneOverflow: 'fail' as const };
    const bounds = new LaneBounds(
      settings,
      new Map([
        [1, slow],
        [2, fast],
      ]) as never,
      () => undefined,
      () => busy,
    );
    bounds.laneAdded(); // starts the clock; the ticks are driven here
    bounds.stop();
    // 10 in flight in each lane; per tick the slow lane answers 2, the fast one 100: 50× as long.
    const tick = async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (let i = 0; i < 2; i++) slow.health.answered(ok);
      for (let i = 0; i < 100; i++) fast.health.answered(ok);
      bounds.sample();
    };
    for (let i = 0; i < SLOW_TICKS; i++) await tick();
    assert.equal(slow.health.troubled, false, 'the loop was busy 95% of each tick: no verdict');
    busy = 0.2;
    for (let i = 0; i < SLOW_TICKS; i++) await tick();
    assert.equal(slow.health.troubled, true, 'with CPU to spare the slow lane is slow');
    assert.equal(fast.health.troubled, false);
    busy = 0.95;
    await tick();
    assert.equal(slow.health.troubled, false, 'short of CPU again: the verdict is left');
  });
});

/**
 * The engine's contract, stated as properties over random scripts, windows, batch sizes
 * and source kinds: every device handed in gets exactly one final feedback — no loss, no
 * duplicates — and its status is the one the provider's answers imply; the summary agrees;
 * the source is never read ahead of the window; abort and close leave nobody unanswered.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Feedback } from '../../src/index.js';
import { PushClient, PushError } from '../../src/index.js';
import { type ScriptedDevice, ScriptedProvider, type Step } from '../support/scripted-provider.js';

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constantFrom<Step>('ok', 'ok', 'ok', 'invalid', 'retry', 'bad', 'throw', 'reject'),
  fc.integer({ min: 0, max: 4 }).map((retryAfterMs): Step => ({ retryAfterMs })),
);

const deviceSpec = fc.record({
  script: fc.array(step, { minLength: 1, maxLength: 4 }),
  delayMs: fc.constantFrom(0, 0, 0, 1, 3),
  platform: fc.constantFrom<'ios' | 'android'>('ios', 'android'),
});

const scenario = fc.record({
  devices: fc.array(deviceSpec, { maxLength: 150 }),
  window: fc.integer({ min: 1, max: 20 }),
  concurrency: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
  batchSize: fc.constantFrom(1, 1, 3, 7),
  maxAttempts: fc.integer({ min: 1, max: 4 }),
  source: fc.constantFrom('sync', 'async', 'readable'),
});

type Expected = { status: Feedback['status']; code: string | undefined; attempts: number };

/** What the engine must report for a script, given the attempt budget. */
function expectedFor(script: Step[], maxAttempts: number): Expected {
  for (let attempt = 1; ; attempt++) {
    const s = script[Math.min(attempt, script.length) - 1]!;
    if (s === 'ok') return { status: 'sent', code: undefined, attempts: attempt };
    if (s === 'invalid') return { status: 'invalid-token', code: 'invalid-token', attempts: attempt };
    if (s === 'bad') return { status: 'failed', code: 'bad-request', attempts: attempt };
    if (s === 'throw' || s === 'reject') return { status: 'failed', code: 'internal', attempts: attempt };
    if (attempt >= maxAttempts) {
      return { status: 'failed', code: s === 'retry' ? 'unavailable' : 'rate-limited', attempts: attempt };
    }
  }
}

/** One Android device per step: the step at the first attempt, then success. */
function firstThenOk(steps: Step[]): ScriptedDevice[] {
  return steps.map((step, id) => ({ platform: 'android', token: 't', id, script: [step, 'ok'] }));
}

function sourceOf<T>(kind: string, items: T[], onPull: (item: T) => void): Iterable<T> | AsyncIterable<T> {
  function* counted() {
    for (const item of items) {
      onPull(item);
      yield item;
    }
  }
  if (kind === 'sync') return counted();
  if (kind === 'readable') return Readable.from(counted(), { highWaterMark: 1 });
  return (async function* () {
    yield* counted();
  })();
}

test('every device gets exactly one feedback, with the status its script implies, and the summary agrees', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async (s) => {
      const providers = [
        new ScriptedProvider({
          name: 'p-ios',
          platforms: ['ios'],
          concurrency: s.concurrency,
          batchSize: s.batchSize,
        }),
        new ScriptedProvider({ name: 'p-android', platforms: ['android'], concurrency: s.concurrency }),
      ];
      const maxWaitingRetries = 5;
      const client = new PushClient({
        providers,
        window: s.window,
        maxWaitingRetries,
        retry: { maxAttempts: s.maxAttempts, baseDelayMs: 1, maxDelayMs: 3 },
      });
      const devices: ScriptedDevice[] = s.devices.map((d, id) => ({ ...d, id, token: `t${id}` }));
      let pulled = 0;
      let received = 0;
      let worstReadAhead = 0;
      const source = sourceOf(s.source, devices, () => {
        pulled++;
        worstReadAhead = Math.max(worstReadAhead, pulled - received);
      });
      const delivery = client.send({}, source);
      const seen = new Map<number, Feedback<ScriptedDevice>>();
      for await (const fb of delivery) {
        received++;
        assert.ok(!seen.has(fb.device.id), `device ${fb.device.id} got a second feedback`);
        seen.set(fb.device.id, fb);
      }
      assert.equal(seen.size, devices.length, 'no device lost');
      for (const device of devices) {
        const fb = seen.get(device.id)!;
        // A lane in trouble (most answers retryable failures) while the other lane waits for
        // reading may fail its excess fast, without a request: a legitimate outcome too.
        if (fb.attempts === 0 && /failed fast without a request/.test(fb.error?.message ?? '')) {
          assert.equal(fb.error?.code, 'unavailable');
          continue;
        }
        const want = expectedFor(device.script, s.maxAttempts);
        assert.deepEqual(
          { status: fb.status, code: fb.error?.code, attempts: fb.attempts },
          want,
          `device ${device.id} with script ${JSON.stringify(device.script)}`,
        );
        assert.equal(fb.error === undefined, fb.status === 'sent');
      }
      const summary = delivery.summary;
      assert.equal(summary.total, devices.length);
      assert.equal(summary.sent, [...seen.values()].filter((fb) => fb.status === 'sent').length);
      assert.equal(
        summary.invalidToken,
        [...seen.values()].filter((fb) => fb.status === 'invalid-token').length,
      );
      assert.equal(summary.failed, [...seen.values()].filter((fb) => fb.status === 'failed').length);
      const retries = [...seen.values()].reduce((n, fb) => n + Math.max(0, fb.attempts - 1), 0);
      assert.equal(summary.retries, retries);
      // Memory bound: per lane at most `window` queued or in flight and `maxWaitingRetries`
      // waiting, plus unread feedback (a window) and the device being handed on.
      const bound = 2 * (s.window + maxWaitingRetries) + s.window + 1;
      assert.ok(worstReadAhead <= bound, `read ${worstReadAhead} ahead of feedback; bound ${bound}`);
      for (const provider of providers) {
        // Devices coming back from a retry re-enter their lane on top of the window.
        const inFlightBound = s.window + maxWaitingRetries;
        assert.ok(
          provider.maxInFlight <= inFlightBound,
          `${provider.name} had ${provider.maxInFlight} in flight`,
        );
        if (s.concurrency !== undefined && provider.batchSize === 1)
          assert.ok(provider.maxInFlight <= s.concurrency);
      }
      await client.close();
    }),
    { numRuns: 120 },
  );
});

test('a configuration error anywhere: still exactly one feedback each, and the lane stops sending', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom<Step>('ok', 'ok', 'retry', 'config'), { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 1, max: 10 }),
      async (steps, concurrency) => {
        const provider = new ScriptedProvider({ concurrency });
        const client = new PushClient({
          providers: [provider],
          window: 32,
          retry: { baseDelayMs: 1, maxDelayMs: 2 },
        });
        const devices = firstThenOk(steps);
        const feedback: Feedback<ScriptedDevice>[] = [];
        for await (const fb of client.send({}, devices)) feedback.push(fb);
        assert.equal(feedback.length, devices.length);
        assert.equal(new Set(feedback.map((fb) => fb.device.id)).size, devices.length);
        const firstConfig = steps.indexOf('config');
        if (firstConfig >= 0) {
          // After the trip no request starts: requests ≤ devices before it + what was in flight + their retries.
          const failedFast = feedback.filter((fb) => fb.error?.code === 'auth' && fb.attempts === 0).length;
          assert.ok(provider.requests <= devices.length * 2 - failedFast);
          assert.ok(feedback.some((fb) => fb.error?.code === 'auth'));
        } else {
          assert.ok(feedback.every((fb) => fb.status === 'sent'));
        }
        await client.close();
      },
    ),
    { numRuns: 80 },
  );
});

test('abort at any moment: every device handed in gets exactly one feedback, the rest are not read', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom<Step>('ok', 'hang', 'retry', 'invalid'), { maxLength: 120 }),
      fc.integer({ min: 0, max: 60 }),
      fc.integer({ min: 1, max: 16 }),
      fc.constantFrom('sync', 'async'),
      async (steps, abortAfter, window, kind) => {
        const provider = new ScriptedProvider();
        const client = new PushClient({
          providers: [provider],
          window,
          retry: { baseDelayMs: 1, maxDelayMs: 2 },
        });
        const devices = firstThenOk(steps);
        let pulled = 0;
        const controller = new AbortController();
        const delivery = client.send(
          {},
          sourceOf(kind, devices, () => pulled++),
          { signal: controller.signal },
        );
        const feedback: Feedback<ScriptedDevice>[] = [];
        const timer = setTimeout(() => controller.abort('test'), 5);
        for await (const fb of delivery) {
          feedback.push(fb);
          if (feedback.length === abortAfter) controller.abort('test');
        }
        clearTimeout(timer);
        assert.equal(feedback.length, pulled, 'every device read got a feedback');
        assert.equal(new Set(feedback.map((fb) => fb.device.id)).size, pulled, 'and only one');
        for (const fb of feedback) {
          if (fb.status === 'failed') assert.equal(fb.error?.code, 'aborted', JSON.stringify(fb.error));
        }
        assert.equal(provider.inFlight, 0, 'nothing left hanging');
        await client.close();
      },
    ),
    { numRuns: 80 },
  );
});

test('stop() at any moment: every device read finishes as it would have, the rest are not read', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom<Step>('ok', 'retry', 'invalid', 'bad', { retryAfterMs: 3 }), {
        maxLength: 120,
      }),
      fc.integer({ min: 0, max: 60 }),
      fc.integer({ min: 1, max: 16 }),
      fc.constantFrom('sync', 'async', 'readable'),
      async (steps, stopAfter, window, kind) => {
        const provider = new ScriptedProvider();
        const client = new PushClient({
          providers: [provider],
          window,
          retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 },
        });
        const devices = firstThenOk(steps);
        let pulled = 0;
        const delivery = client.send(
          {},
          sourceOf(kind, devices, () => pulled++),
        );
        const feedback: Feedback<ScriptedDevice>[] = [];
        /** Devices read when stop() was called: none may be read after it. */
        let readAtStop: number | undefined;
        const stop = () => {
          readAtStop = pulled;
          delivery.stop();
        };
        if (stopAfter === 0) stop();
        for await (const fb of delivery) {
          feedback.push(fb);
          if (feedback.length === stopAfter) stop();
        }
        assert.equal(feedback.length, pulled, 'every device read got a feedback');
        assert.equal(new Set(feedback.map((fb) => fb.device.id)).size, pulled, 'and only one');
        for (const fb of feedback) {
          // The outcome its script implies (one retry allowed), never an abort.
          const expected = expectedFor(fb.device.script, 2);
          assert.deepEqual(
            { status: fb.status, code: fb.error?.code },
            { status: expected.status, code: expected.code },
          );
        }
        // Reading may have run ahead of the feedback before the stop — by the window, and by the
        // devices waiting for a retry, which leave the window — but stops with it.
        if (readAtStop !== undefined) {
          assert.equal(pulled, readAtStop, `reading stopped (${pulled} read, ${readAtStop} at stop())`);
        }
        await client.close();
      },
    ),
    { numRuns: 60 },
  );
});

test('close() in the middle: what was handed in finishes, then providers close', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom<Step>('ok', 'retry', { retryAfterMs: 50 }), { minLength: 1, maxLength: 200 }),
      fc.integer({ min: 0, max: 100 }),
      async (steps, closeAfter) => {
        const provider = new ScriptedProvider();
        const client = new PushClient({
          providers: [provider],
          window: 8,
          retry: { baseDelayMs: 1, maxDelayMs: 2 },
        });
        const devices = firstThenOk(steps);
        let pulled = 0;
        const delivery = client.send(
          {},
          sourceOf('async', devices, () => pulled++),
        );
        const feedback: Feedback<ScriptedDevice>[] = [];
        let closing: Promise<void> | undefined;
        if (closeAfter === 0) closing = client.close();
        for await (const fb of delivery) {
          feedback.push(fb);
          if (feedback.length === closeAfter) closing = client.close();
        }
        await (closing ?? client.close());
        assert.equal(feedback.length, pulled);
        assert.equal(new Set(feedback.map((fb) => fb.device.id)).size, pulled);
        assert.ok(provider.closed);
        assert.throws(
          () => client.send({}, []),
          (error: Error & { code?: string }) => error.code === 'closed',
        );
      },
    ),
    { numRuns: 60 },
  );
});

test('one lane blocked forever, failing or slow in a mixed send: the other lane finishes, held devices stay bounded', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        trouble: fc.constantFrom('hang', 'storm', 'slow'),
        devices: fc.integer({ min: 40, max: 400 }),
        troubledShare: fc.constantFrom(0.3, 0.5, 0.8),
        window: fc.integer({ min: 1, max: 12 }),
        maxWaitingRetries: fc.integer({ min: 1, max: 12 }),
        source: fc.constantFrom('sync', 'async', 'readable'),
      }),
      async (s) => {
        const troubled = new ScriptedProvider({ name: 'troubled', platforms: ['ios'] });
        const healthy = new ScriptedProvider({ name: 'healthy', platforms: ['android'] });
        const client = new PushClient({
          providers: [troubled, healthy],
          window: s.window,
          maxWaitingRetries: s.maxWaitingRetries,
          slowAnswerMs: 20,
          retry: { maxAttempts: 1000, baseDelayMs: 5, maxDelayMs: 20, maxTotalDelayMs: 600_000 },
        });
        const script: Step[] = s.trouble === 'hang' ? ['hang'] : s.trouble === 'storm' ? ['retry'] : ['ok'];
        const devices: ScriptedDevice[] = [];
        for (let id = 0; id < s.devices; id++) {
          const isTroubled = Math.floor((id + 1) * s.troubledShare) > Math.floor(id * s.troubledShare);
          devices.push(
            isTroubled
              ? { platform: 'ios', token: `t${id}`, id, script, delayMs: s.trouble === 'slow' ? 150 : 0 }
              : { platform: 'android', token: `h${id}`, id, script: ['ok'], delayMs: 1 },
          );
        }
        const healthyTotal = devices.filter((d) => d.platform === 'android').length;
        let pulledTroubled = 0;
        let receivedTroubled = 0;
        let worstHeld = 0;
        const source = sourceOf(s.source, devices, (device) => {
          if (device.platform !== 'ios') return;
          pulledTroubled++;
          worstHeld = Math.max(worstHeld, pulledTroubled - receivedTroubled);
        });
        const delivery = client.send({}, source);
        const guard = setTimeout(() => delivery.abort('guard'), 15_000);
        const seen = new Set<number>();
        let healthySent = 0;
        try {
          for await (const fb of delivery) {
            assert.ok(!seen.has(fb.device.id), `device ${fb.device.id} got a second feedback`);
            seen.add(fb.device.id);
            if (fb.device.platform === 'ios') {
              receivedTroubled++;
              // Without a request: failed fast, or read while the final abort happened.
              if (fb.attempts === 0) assert.match(fb.error?.code ?? '', /^(unavailable|aborted)$/);
            } else {
              assert.equal(fb.status, 'sent', `a healthy device ended ${fb.error?.code}`);
              if (++healthySent === healthyTotal) delivery.abort('test over');
            }
          }
        } finally {
          clearTimeout(guard);
          await client.close();
        }
        assert.equal(healthySent, healthyTotal, 'every healthy device was sent');
        // Every device read got one feedback (a Readable may have read one more into its buffer).
        const read = pulledTroubled + healthySent;
        assert.ok(seen.size <= read && read <= seen.size + (s.source === 'readable' ? 2 : 0));
        // The troubled lane: `window` queued or in flight plus `maxWaitingRetries` waiting,
        // plus unread feedback (a window) and the device being handed on.
        // A Readable reads one ahead into its buffer.
        const bound = 2 * s.window + s.maxWaitingRetries + 1 + (s.source === 'readable' ? 2 : 0);
        assert.ok(worstHeld <= bound, `the troubled lane held ${worstHeld}; bound ${bound}`);
        assert.ok(troubled.maxInFlight <= s.window + s.maxWaitingRetries);
      },
    ),
    // Each run waits for the health samples (200 ms apart); a failing run waits for its guard,
    // so shrinking is skipped.
    { numRuns: 25, endOnFailure: true },
  );
});

test('personalised sends: exactly one feedback each, its own notification on every attempt, one encoding per distinct notification', async () => {
  const kinds = ['shared-a', 'shared-b', 'equal', 'fresh', 'throw', 'junk', 'rejected'] as const;
  type Kind = (typeof kinds)[number];
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        devices: fc.array(
          fc.record({
            script: fc.array(fc.constantFrom<Step>('ok', 'ok', 'invalid', 'retry', 'bad'), {
              minLength: 1,
              maxLength: 3,
            }),
            kind: fc.constantFrom<Kind>(...kinds),
            platform: fc.constantFrom<'ios' | 'android'>('ios', 'android'),
          }),
          { maxLength: 120 },
        ),
        window: fc.integer({ min: 1, max: 16 }),
        batchSize: fc.constantFrom(1, 3, 7),
        source: fc.constantFrom('sync', 'async', 'readable'),
      }),
      async (s) => {
        const rejectNotification = (n: { title?: string }) =>
          n.title === 'rejected' ? new PushError('payload-too-large', 'too big') : undefined;
        const providers = [
          new ScriptedProvider({
            name: 'p-ios',
            platforms: ['ios'],
            batchSize: s.batchSize,
            rejectNotification,
          }),
          new ScriptedProvider({ name: 'p-android', platforms: ['android'], rejectNotification }),
        ];
        const client = new PushClient({
          providers,
          window: s.window,
          retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
        });
        const shared = { a: { title: 'shared-a' }, b: { title: 'shared-b' } };
        type D = ScriptedDevice & { kind: Kind };
        const devices: D[] = s.devices.map((d, id) => ({ ...d, id, token: `t${id}` }));
        const titleOf = (d: D) => (d.kind === 'fresh' ? `fresh-${d.id}` : d.kind);
        const personalise = (d: D) => {
          if (d.kind === 'shared-a') return shared.a;
          if (d.kind === 'shared-b') return shared.b;
          if (d.kind === 'throw') throw new Error('no data for this one');
          if (d.kind === 'junk') return 7 as unknown as { title: string };
          return { title: titleOf(d) };
        };
        const seen = new Map<number, Feedback<D>>();
        for await (const fb of client.send(
          personalise,
          sourceOf(s.source, devices, () => {}),
        )) {
          assert.ok(!seen.has(fb.device.id), `device ${fb.device.id} got a second feedback`);
          seen.set(fb.device.id, fb);
        }
        assert.equal(seen.size, devices.length, 'no device lost');
        for (const device of devices) {
          const fb = seen.get(device.id)!;
          const sentWith = providers.flatMap((p) => p.sentWith.get(device.id) ?? []);
          if (device.kind === 'throw' || device.kind === 'junk' || device.kind === 'rejected') {
            const code = device.kind === 'rejected' ? 'payload-too-large' : 'bad-request';
            assert.deepEqual(
              { status: fb.status, code: fb.error?.code, attempts: fb.attempts },
              { status: 'failed', code, attempts: 0 },
            );
            assert.equal(sentWith.length, 0);
            continue;
          }
          const want = expectedFor(device.script, 2);
          assert.deepEqual({ status: fb.status, code: fb.error?.code, attempts: fb.attempts }, want);
          assert.equal(sentWith.length, fb.attempts);
          for (const notification of sentWith) assert.equal(notification.title, titleOf(device));
        }
        for (const provider of providers) {
          const mine = devices.filter((d) => provider.platforms.includes(d.platform as 'ios' | 'android'));
          const distinct = new Set(mine.filter((d) => d.kind !== 'throw' && d.kind !== 'junk').map(titleOf));
          assert.equal(
            provider.prepares,
            distinct.size,
            `${provider.name} prepared once per distinct notification`,
          );
        }
        await client.close();
      },
    ),
    { numRuns: 80 },
  );
});

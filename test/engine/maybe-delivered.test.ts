/**
 * Issue 13, point 2, in the engine: an attempt that may have been delivered marks the device
 * (`maybeDelivered` when it ends unsent, `maybeDuplicate` when a re-send got through), the
 * summary counts both, and `delivery: 'at-most-once'` never re-sends such an attempt.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Device } from '../../src/device.js';
import { type Feedback, PushClient, PushError } from '../../src/index.js';
import type { Outcome, PreparedSend, Provider } from '../../src/provider.js';
import { collect } from '../support/scripted-provider.js';

/** What the fake provider answers at one attempt. */
type Step = 'ok' | 'maybe' | 'lost' | 'invalid' | 'hang';

interface StepDevice extends Device {
  id: number;
  steps: Step[];
}

/** Answers each device's attempts from its `steps` (the last repeats); counts attempts. */
class StepProvider implements Provider {
  readonly name = 'steps';
  readonly platforms = ['android'] as const;
  readonly attempts = new Map<number, number>();
  constructor(readonly concurrency?: number) {}

  prepare(): PreparedSend {
    return {
      send: (device, ctx) => {
        const d = device as StepDevice;
        const attempt = (this.attempts.get(d.id) ?? 0) + 1;
        this.attempts.set(d.id, attempt);
        const step = d.steps[Math.min(attempt, d.steps.length) - 1]!;
        if (step === 'hang') {
          return new Promise<Outcome>((resolve) => {
            ctx.signal.addEventListener(
              'abort',
              () =>
                resolve({
                  ok: false,
                  error: new PushError('aborted', 'aborted in flight', {
                    maybeDelivered: true,
                    provider: 'steps',
                  }),
                }),
              { once: true },
            );
          });
        }
        return Promise.resolve(outcome(step));
      },
    };
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {}
}

function outcome(step: Exclude<Step, 'hang'>): Outcome {
  const provider = 'steps';
  switch (step) {
    case 'ok':
      return { ok: true, httpStatus: 200 };
    case 'maybe':
      // The transport's answer to a connection lost after the request was written.
      return {
        ok: false,
        error: new PushError('unavailable', 'connection lost after sending', {
          maybeDelivered: true,
          provider,
        }),
      };
    case 'lost':
      return { ok: false, error: new PushError('unavailable', 'connection refused', { provider }) };
    case 'invalid':
      return { ok: false, error: new PushError('invalid-token', 'gone', { provider, httpStatus: 410 }) };
  }
}

function devices(...scripts: Step[][]): StepDevice[] {
  return scripts.map((steps, id) => ({ platform: 'android', token: `t${id}`, id, steps }));
}

const fast = { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 };

function byId(feedback: Feedback[]): Map<number, Feedback> {
  return new Map(feedback.map((fb) => [(fb.device as StepDevice).id, fb]));
}

describe('maybe-delivered attempts in the engine', () => {
  test('at-least-once (default): re-sent; sent → maybeDuplicate, never answered → failed maybeDelivered', async () => {
    const provider = new StepProvider();
    const client = new PushClient({ providers: [provider], retry: fast });
    const delivery = client.send({}, devices(['maybe', 'ok'], ['maybe'], ['lost', 'ok'], ['ok']));
    const fb = byId(await collect(delivery));
    await client.close();

    assert.equal(fb.get(0)!.status, 'sent');
    assert.equal(fb.get(0)!.attempts, 2);
    assert.equal(fb.get(0)!.maybeDuplicate, true, 'the first attempt may have been delivered too');
    assert.equal(fb.get(0)!.maybeDelivered, undefined);

    assert.equal(fb.get(1)!.status, 'failed');
    assert.equal(fb.get(1)!.attempts, 3, 're-sent within the retry budget');
    assert.equal(fb.get(1)!.maybeDelivered, true);
    assert.equal(fb.get(1)!.error?.maybeDelivered, true);
    assert.equal(fb.get(1)!.error?.retryable, true, 'at-least-once: re-sending stays allowed');

    // Provably not delivered (refused), then sent: no flag at all.
    assert.equal(fb.get(2)!.status, 'sent');
    assert.equal(fb.get(2)!.maybeDuplicate, undefined);
    assert.equal(fb.get(3)!.maybeDuplicate, undefined);

    const summary = delivery.summary;
    assert.equal(summary.maybeDelivered, 1);
    assert.equal(summary.maybeDuplicates, 1);
  });

  test('at-most-once: an ambiguous attempt is never re-sent; a definitive failure still is', async () => {
    const provider = new StepProvider();
    const client = new PushClient({ providers: [provider], retry: fast, delivery: 'at-most-once' });
    const delivery = client.send({}, devices(['maybe', 'ok'], ['lost', 'maybe'], ['lost', 'ok']));
    const fb = byId(await collect(delivery));
    await client.close();

    const first = fb.get(0)!;
    assert.equal(provider.attempts.get(0), 1, 'exactly one request');
    assert.equal(first.status, 'failed');
    assert.equal(first.maybeDelivered, true);
    assert.equal(first.error?.code, 'unavailable');
    assert.equal(first.error?.retryable, false, 're-sending could deliver it twice');
    assert.equal(first.error?.maybeDelivered, true);
    assert.match(first.error!.message, /at-most-once/);

    assert.equal(provider.attempts.get(1), 2, 'the refused attempt was retried, the ambiguous one not');
    assert.equal(fb.get(1)!.maybeDelivered, true);
    assert.equal(fb.get(1)!.error?.retryable, false);

    assert.equal(fb.get(2)!.status, 'sent');
    assert.equal(fb.get(2)!.attempts, 2);
    assert.equal(delivery.summary.maybeDelivered, 2);
    assert.equal(delivery.summary.maybeDuplicates, 0);
  });

  test('a send can choose its own semantics; a bad value is refused', async () => {
    const provider = new StepProvider();
    const client = new PushClient({ providers: [provider], retry: fast, delivery: 'at-most-once' });
    const [fb] = await collect(client.send({}, devices(['maybe', 'ok']), { delivery: 'at-least-once' }));
    assert.equal(fb!.status, 'sent');
    assert.equal(fb!.maybeDuplicate, true);
    assert.throws(
      () => client.send({}, [], { delivery: 'exactly-once' as never }),
      /at-least-once' or 'at-most-once/,
    );
    assert.throws(
      () => new PushClient({ providers: [new StepProvider()], delivery: 'sometimes' as never }),
      (error: unknown) =>
        error instanceof PushError &&
        error.code === 'config' &&
        /at-least-once' or 'at-most-once', got "sometimes"/.test(error.message),
    );
    await client.close();
  });

  test('a later definitive answer keeps the mark: invalid-token after an ambiguous attempt', async () => {
    const client = new PushClient({ providers: [new StepProvider()], retry: fast });
    const [fb] = await collect(client.send({}, devices(['maybe', 'invalid'])));
    await client.close();
    assert.equal(fb!.status, 'invalid-token');
    assert.equal(fb!.maybeDelivered, true, 'the first request may have been delivered before the token died');
    assert.equal(fb!.error?.code, 'invalid-token');
    assert.equal(fb!.error?.maybeDelivered, true);
  });

  test('abort: in flight after sending → maybeDelivered; queued, never sent → not', async () => {
    const client = new PushClient({ providers: [new StepProvider(1)], retry: fast });
    const controller = new AbortController();
    const delivery = client.send({}, devices(['hang'], ['hang'], ['hang']), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const fb = byId(await collect(delivery));
    await client.close();
    assert.equal(fb.size, 3);
    for (const feedback of fb.values()) assert.equal(feedback.error?.code, 'aborted');
    assert.equal(fb.get(0)!.maybeDelivered, true);
    assert.equal(fb.get(1)!.maybeDelivered, undefined);
    assert.equal(fb.get(2)!.maybeDelivered, undefined);
    assert.equal(fb.get(1)!.error?.maybeDelivered, false);
    assert.equal(delivery.summary.maybeDelivered, 1);
  });

  test('abort or close while waiting for a retry after an ambiguous attempt: aborted, maybeDelivered', async () => {
    for (const how of ['abort', 'close'] as const) {
      const client = new PushClient({
        providers: [new StepProvider()],
        retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, maxAttempts: 3 },
      });
      const delivery = client.send({}, devices(['maybe', 'ok'], ['lost', 'ok']));
      const feedback: Feedback[] = [];
      const reading = (async () => {
        for await (const fb of delivery) feedback.push(fb);
      })();
      // Both wait for their retry (off the window) once their first attempt is in.
      await new Promise((resolve) => setTimeout(resolve, 30));
      if (how === 'abort') delivery.abort('test');
      else await client.close();
      await reading;
      await client.close();
      const fb = byId(feedback);
      assert.equal(fb.get(0)!.error?.code, 'aborted', how);
      assert.equal(fb.get(0)!.maybeDelivered, true, how);
      assert.equal(fb.get(0)!.error?.maybeDelivered, true, how);
      assert.equal(fb.get(1)!.maybeDelivered, undefined, how);
    }
  });
});

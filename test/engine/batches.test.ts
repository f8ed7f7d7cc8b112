/**
 * The batched path (`sendBatch`, `batchSize` > 1), first used by HMS: what is retried after a
 * batch's answer, how a batch's retries travel, and how much a batching lane holds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Device, PushClient } from '../../src/index.js';
import type { Outcome, Provider } from '../../src/provider.js';
import { collect, ScriptedProvider, scriptedDevices } from '../support/scripted-provider.js';

const brief = (fb: { status: string; attempts: number }) => `${fb.status}/${fb.attempts}`;

describe('batched sends', () => {
  test('a batch refused as a whole is retried as one batch, not scattered over the backoff', async () => {
    const provider = new ScriptedProvider({ batchSize: 1000, concurrency: 1 });
    // A wide backoff: per-device jitter would spread 1,000 retries over ~200 ms of timers.
    const client = new PushClient({
      providers: [provider],
      retry: { baseDelayMs: 200, maxDelayMs: 200, maxAttempts: 3 },
    });
    const feedback = await collect(
      client.send(
        {},
        scriptedDevices(1000, () => ['retry', 'ok']),
      ),
    );
    assert.equal(feedback.length, 1000);
    assert.deepEqual(feedback.filter((fb) => !(fb.status === 'sent' && fb.attempts === 2)).map(brief), []);
    assert.deepEqual(provider.batches, [1000, 1000]);
    await client.close();
  });

  test('after a partial answer only the devices not delivered go again, each once per attempt', async () => {
    const provider = new ScriptedProvider({ batchSize: 100, concurrency: 1 });
    const client = new PushClient({
      providers: [provider],
      retry: { baseDelayMs: 5, maxDelayMs: 5, maxAttempts: 4 },
    });
    // Every 10th device fails twice, every 7th once; the rest are delivered at once.
    const script = (i: number) =>
      i % 10 === 0
        ? (['retry', 'retry', 'ok'] as const)
        : i % 7 === 0
          ? (['retry', 'ok'] as const)
          : ['ok' as const];
    const feedback = await collect(
      client.send(
        {},
        scriptedDevices(100, (i) => [...script(i)]),
      ),
    );
    assert.equal(feedback.length, 100);
    assert.deepEqual(feedback.filter((fb) => !(fb.status === 'sent')).map(brief), []);
    const twice = [...Array(100).keys()].filter((i) => i % 10 === 0);
    const once = [...Array(100).keys()].filter((i) => i % 10 !== 0 && i % 7 === 0);
    for (let i = 0; i < 100; i++) {
      const expected = i % 10 === 0 ? 3 : i % 7 === 0 ? 2 : 1;
      assert.equal(provider.attempts.get(i), expected, `device ${i}`);
    }
    // First the 100; then the failed ones together; then those that failed again.
    assert.deepEqual(provider.batches, [100, twice.length + once.length, twice.length]);
    await client.close();
  });

  test('a batching lane holds two full batches, so one is in flight while the next fills', async () => {
    const provider = new ScriptedProvider({ batchSize: 100, concurrency: 4 });
    const client = new PushClient({ providers: [provider], window: 100 });
    const feedback = await collect(
      client.send(
        {},
        [...scriptedDevices(1000)].map((device) => ({ ...device, delayMs: 5 })),
      ),
    );
    assert.equal(feedback.length, 1000);
    assert.equal(provider.maxInFlight, 200, 'two batches of 100 in flight at once');
    await client.close();
  });

  // The timeout only turns the old hang into a failure: a device left without an outcome kept
  // the send, and close(), waiting forever.
  test("a sendBatch answer with a hole fails that device 'internal'; the send and close() still end", {
    timeout: 20_000,
  }, async (t) => {
    const holey: Provider = {
      name: 'holey',
      platforms: ['android'],
      batchSize: 10,
      prepare: () => ({
        // One outcome per device, as asked, but the last slot never written (`new Array(n)`).
        sendBatch: async (devices: readonly Device[]) => {
          const outcomes: Outcome[] = new Array(devices.length);
          for (let i = 0; i < devices.length - 1; i++) outcomes[i] = { ok: true };
          return outcomes;
        },
      }),
      close: async () => {},
      destroy: async () => {},
    };
    const client = new PushClient({ providers: [holey] });
    t.after(() => client.destroy());
    const devices = Array.from({ length: 3 }, (_, i): Device => ({ platform: 'android', token: `t${i}` }));
    const feedback = await collect(client.send({}, devices));
    assert.deepEqual(feedback.map((fb) => `${fb.device.token}:${fb.status}:${fb.error?.code ?? ''}`).sort(), [
      't0:sent:',
      't1:sent:',
      't2:failed:internal',
    ]);
    await client.close();
  });
});

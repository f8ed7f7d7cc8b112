/**
 * Issue 3's fault test, end to end: PushClient → apns() → transport pool → APNs emulator.
 * 50,000 devices with 1% unregistered, 0.5% bad, 2% flaky 503 and a GOAWAY every 1,000
 * streams; then connections cut mid-flight. Every device must get exactly one feedback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ApnsEmulator, startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { apns, type Device, type Feedback, PushClient } from '../../../src/index.js';

const token = (i: number) => i.toString(16).padStart(8, '0').repeat(8);

function* devices(n: number, offset = 0): Generator<Device & { id: number }> {
  for (let id = offset; id < offset + n; id++) yield { platform: 'ios', token: token(id), id };
}

describe('APNs: nothing lost under faults', () => {
  let emulator: ApnsEmulator;
  before(async () => {
    emulator = await startApnsEmulator({ record: false });
  });
  after(() => emulator.close());

  it('50,000 devices, 1% unregistered, 0.5% bad, 2% flaky 503, GOAWAY every 1,000 streams', async (t) => {
    emulator.reset();
    emulator.setScenarios({
      unregistered: { rate: 0.01 },
      badTokens: { rate: 0.005 },
      flaky: { tokens: { rate: 0.02 }, failures: 1, reason: 'ServiceUnavailable' },
      goAway: { streams: 1000, reason: 'Shutdown' },
    });
    // Also when an assertion fails mid-run: the next test must not inherit these scenarios.
    t.after(() =>
      emulator.setScenarios({
        unregistered: undefined,
        badTokens: undefined,
        flaky: undefined,
        goAway: undefined,
      }),
    );
    const client = new PushClient({
      providers: [apns({ ...emulator.providerOptions, production: false })],
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
    });
    t.after(() => client.close());
    const seen = new Map<number, Feedback<Device & { id: number }>>();
    for await (const fb of client.send({ title: 'Hello', body: 'nothing lost' }, devices(50_000))) {
      assert.ok(!seen.has(fb.device.id), `device ${fb.device.id} answered twice`);
      seen.set(fb.device.id, fb);
    }
    await client.close();
    assert.equal(seen.size, 50_000);

    const expected = { invalid: 0, flaky: 0 };
    for (const [id, fb] of seen) {
      const kind = emulator.classify(token(id));
      if (kind === 'unregistered' || kind === 'bad-token') {
        expected.invalid++;
        assert.equal(fb.status, 'invalid-token', `${kind} token ${id}: ${fb.error?.message}`);
        assert.equal(fb.error?.reason, kind === 'unregistered' ? 'Unregistered' : 'BadDeviceToken');
        if (kind === 'unregistered') assert.ok(fb.error?.invalidatedAt instanceof Date);
      } else {
        assert.equal(fb.status, 'sent', `${kind} token ${id}: ${fb.error?.code} ${fb.error?.message}`);
        if (kind === 'flaky') {
          expected.flaky++;
          assert.equal(fb.attempts, 2, 'a flaky token is sent on its second attempt');
        }
      }
    }
    // The rates really produced the faults the issue asks for (hash-picked: close to, not exactly, 1/0.5/2%).
    assert.ok(expected.invalid > 600 && expected.invalid < 900, `${expected.invalid} invalid`);
    assert.ok(expected.flaky > 800, `${expected.flaky} flaky`);
    const stats = emulator.stats();
    assert.ok(stats.goAways >= 40, `${stats.goAways} GOAWAYs`);
    assert.equal(stats.byReason.ExpiredProviderToken, undefined);
    assert.equal(stats.providerTokens, 1, 'one JWT shared by every connection for the whole run');
    assert.ok(
      stats.connections > 40,
      `${stats.connections} connections: each GOAWAY made the pool reconnect`,
    );
  });

  it('connections cut mid-flight lose nothing: in-flight sends are retried and end sent', async (t) => {
    emulator.reset();
    emulator.setScenarios({ latencyMs: [2, 10] });
    t.after(() => emulator.setScenarios({ latencyMs: undefined }));
    const client = new PushClient({
      providers: [apns({ ...emulator.providerOptions, production: false })],
      retry: { baseDelayMs: 20, maxDelayMs: 200 },
    });
    t.after(() => client.close());
    const seen = new Map<number, Feedback<Device & { id: number }>>();
    let cuts = 0;
    for await (const fb of client.send({ body: 'cut' }, devices(5000, 100_000))) {
      assert.ok(!seen.has(fb.device.id), `device ${fb.device.id} answered twice`);
      seen.set(fb.device.id, fb);
      assert.equal(fb.status, 'sent', `${fb.error?.code}: ${fb.error?.message}`);
      if (seen.size % 1500 === 0) cuts += emulator.dropConnections();
    }
    await client.close();
    assert.equal(seen.size, 5000);
    // Issue 13: every device the emulator received more than once is flagged as a possible
    // duplicate (at-least-once re-sent it after the cut); a flag without a second receipt is
    // allowed (the request was written but the emulator had not read it yet).
    let received2 = 0;
    let flagged = 0;
    for (const [id, fb] of seen) {
      if (fb.maybeDuplicate) flagged++;
      if (emulator.attempts(token(id)) < 2) continue;
      received2++;
      assert.equal(fb.maybeDuplicate, true, `device ${id} reached the emulator twice without being flagged`);
    }
    t.diagnostic(`${cuts} cuts: ${received2} devices received twice, ${flagged} flagged maybeDuplicate`);
    assert.ok(cuts >= 3, `cut ${cuts} connections`);
    assert.ok(emulator.stats().connections > 3, 'the pool reconnected after each cut');
  });
});

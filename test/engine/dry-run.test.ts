/**
 * A dry run delivers nothing, on every provider, and never says `sent`; an attempt decided
 * without a request is not counted as one. First the engine's rules with in-memory
 * providers, then every real provider against its emulator.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import { apns, type Device, fcm, PushClient, PushError, webPush } from '../../src/index.js';
import type { Outcome, PreparedSend, Provider } from '../../src/provider.js';
import { collect } from '../support/scripted-provider.js';

/** A provider counting what the engine calls; `dryRun` only when given one. */
function counting(answer: () => Outcome, withDryRun: boolean) {
  const calls = { prepare: 0, send: 0, dryPrepare: 0, drySend: 0 };
  const sends = (count: 'send' | 'drySend'): PreparedSend => ({
    send: () => {
      calls[count]++;
      return Promise.resolve(answer());
    },
  });
  const provider: Provider = {
    name: 'counting',
    platforms: ['android'],
    prepare: () => {
      calls.prepare++;
      return sends('send');
    },
    ...(withDryRun
      ? {
          dryRun: {
            mode: 'local' as const,
            checks: 'everything',
            prepare: () => {
              calls.dryPrepare++;
              return sends('drySend');
            },
          },
        }
      : {}),
    close: async () => {},
    destroy: async () => {},
  };
  return { provider, calls };
}

const devices = (n: number): Device[] =>
  Array.from({ length: n }, (_, i) => ({ platform: 'android', token: `t${i}` }));

describe('the engine in a dry run', () => {
  test('a provider without a dry-run path is never prepared nor sent to: its devices fail with config', async () => {
    const { provider, calls } = counting(() => ({ ok: true }), false);
    const client = new PushClient({ providers: [provider] });
    const feedback = await collect(client.send({ title: 'x' }, devices(3), { dryRun: true }));
    assert.deepEqual(calls, { prepare: 0, send: 0, dryPrepare: 0, drySend: 0 });
    assert.equal(feedback.length, 3);
    for (const fb of feedback) {
      assert.equal(fb.status, 'failed');
      assert.equal(fb.attempts, 0);
      assert.equal(fb.error?.code, 'config');
      assert.equal(fb.error?.reason, 'DryRunUnsupported');
      assert.match(fb.error?.message ?? '', /counting cannot dry-run/);
    }
    await client.close();
  });

  test('a provider with one is prepared through it only, and its successes are validated, never sent', async () => {
    // Even a dry-run path answering like a delivery (no `validated`, no `requested`) is not "sent".
    const { provider, calls } = counting(() => ({ ok: true, httpStatus: 200 }), true);
    const client = new PushClient({ providers: [provider] });
    const delivery = client.send({ title: 'x' }, devices(4), { dryRun: true });
    const feedback = await collect(delivery);
    assert.deepEqual(calls, { prepare: 0, send: 0, dryPrepare: 1, drySend: 4 });
    assert.deepEqual(
      feedback.map((fb) => fb.status),
      ['validated', 'validated', 'validated', 'validated'],
    );
    const summary = await delivery.done;
    assert.equal(summary.sent, 0);
    assert.equal(summary.validated, 4);
    assert.deepEqual(summary.providers['counting'], { sent: 0, validated: 4, invalidToken: 0, failed: 0 });
    await client.close();
  });

  test('outside a dry run, an outcome that says validated (FCM validateOnly) is not sent either', async () => {
    const { provider } = counting(() => ({ ok: true, validated: true }), true);
    const client = new PushClient({ providers: [provider] });
    const feedback = await collect(client.send({ title: 'x' }, devices(2)));
    assert.deepEqual(
      feedback.map((fb) => fb.status),
      ['validated', 'validated'],
    );
    await client.close();
  });
});

describe('attempts count requests', () => {
  test('an outcome decided without a request leaves attempts at 0', async () => {
    const error = new PushError('invalid-token', 'not hex', { provider: 'counting' });
    const { provider } = counting(() => ({ ok: false, error, requested: false }), false);
    const client = new PushClient({ providers: [provider] });
    const [fb] = await collect(client.send({ title: 'x' }, devices(1)));
    assert.equal(fb?.status, 'invalid-token');
    assert.equal(fb?.attempts, 0);
    await client.close();
  });

  test('a retryable local failure still uses up the retry budget, and counts no request or retry', async () => {
    const error = new PushError('unavailable', 'cannot resolve the host', { provider: 'counting' });
    const { provider, calls } = counting(() => ({ ok: false, error, requested: false }), false);
    const client = new PushClient({ providers: [provider], retry: { maxAttempts: 3, baseDelayMs: 1 } });
    const delivery = client.send({ title: 'x' }, devices(1));
    const [fb] = await collect(delivery);
    assert.equal(calls.send, 3, 'tried three times: the budget is counted in tries');
    assert.equal(fb?.attempts, 0, 'none of them made a request');
    assert.equal((await delivery.done).retries, 0);
    await client.close();
  });
});

test('every provider against its emulator: a dry run delivers nothing and reports what it checked', async () => {
  const emulator = await startEmulator();
  const client = new PushClient({
    providers: [
      apns({ ...emulator.apns.providerOptions, production: false }),
      fcm(emulator.fcm.providerOptions),
      webPush(emulator.webpush.providerOptions),
    ],
  });
  try {
    emulator.fcm.setScenarios({ unregisteredTokens: ['fcm-dead'] });
    const devices: Array<Device & { id: string }> = [
      { id: 'ios-ok', platform: 'ios', token: 'ab'.repeat(32) },
      { id: 'ios-malformed', platform: 'ios', token: 'not-hex' },
      { id: 'android-ok', platform: 'android', token: 'fcm-ok' },
      { id: 'android-dead', platform: 'android', token: 'fcm-dead' },
      { id: 'web-ok', platform: 'web', token: emulator.webpush.subscribe() },
      { id: 'web-malformed', platform: 'web', token: '{"endpoint":' },
    ];
    const delivery = client.send({ title: 'Hi', body: 'dry', data: { n: 1 } }, devices, { dryRun: true });
    const seen: Record<string, string> = {};
    for await (const fb of delivery) seen[fb.device.id] = `${fb.status}/${fb.attempts}`;
    assert.equal(emulator.webpush.stats.requests, 0, 'Web Push: no request');
    assert.equal(emulator.webpush.messages().length, 0, 'Web Push: no browser received anything');
    assert.equal(emulator.apns.stats().requests, 0, 'APNs: no request');
    assert.equal(emulator.fcm.stats.delivered, 0, 'FCM: nothing delivered');
    assert.deepEqual(seen, {
      'ios-ok': 'validated/0',
      'ios-malformed': 'invalid-token/0',
      'android-ok': 'validated/1',
      'android-dead': 'invalid-token/1',
      'web-ok': 'validated/0',
      'web-malformed': 'invalid-token/0',
    });
    const summary = await delivery.done;
    assert.equal(summary.sent, 0);
    assert.equal(summary.validated, 3);
    assert.equal(emulator.fcm.stats.sendRequests, 2, 'FCM: one validate_only request per token');
    // The token FCM accepted was recorded, as a validate_only request (the dead one was refused).
    assert.deepEqual(
      emulator.fcm.messages.map((m) => m.validateOnly),
      [true],
    );
  } finally {
    await client.close();
    await emulator.close();
  }
});

/**
 * The proof from outside: @parse/node-apn, an independent APNs client, talks to the emulator
 * with token auth exactly as it talks to Apple. It is pointed at the emulator with its own
 * documented options (`address`, `port`, `ca`): no patching.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import apn from '@parse/node-apn';
import { type ApnsEmulator, startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { TOKEN_A, TOKEN_B } from './helpers.js';

const DEAD = 'de'.repeat(32);
const BAD = 'ba'.repeat(32);
const OTHER_APP = '0a'.repeat(32);
const good = Array.from({ length: 20 }, (_, i) => (i + 1).toString(16).padStart(64, 'c'));

describe('APNs emulator seen by @parse/node-apn (token auth)', () => {
  let emulator: ApnsEmulator;
  let provider: apn.Provider;
  const deadSince = 1_700_000_000_000;

  before(async () => {
    emulator = await startApnsEmulator({
      scenarios: {
        unregistered: [DEAD],
        unregisteredAt: deadSince,
        badTokens: [BAD],
        tokenTopics: { [OTHER_APP]: 'com.example.other' },
      },
    });
    provider = new apn.Provider({
      token: { key: emulator.key, keyId: emulator.keyId, teamId: emulator.teamId },
      address: '127.0.0.1',
      port: emulator.port,
      ca: [emulator.ca],
      production: false,
    });
  });
  after(async () => {
    await provider.shutdown();
    await emulator.close();
  });

  function note(): apn.Notification {
    const notification = new apn.Notification({ alert: { title: 'Hello', body: 'from node-apn' }, badge: 3 });
    notification.topic = 'com.example.app';
    notification.pushType = 'alert';
    return notification;
  }

  it('gets 200 for good tokens, with the apns-id and sandbox apns-unique-id', async () => {
    const first = await provider.send(note(), TOKEN_A);
    assert.deepEqual(first.failed, []);
    assert.equal(first.sent.length, 1);
    assert.equal(first.sent[0]?.device, TOKEN_A);
    const { sent, failed } = await provider.send(note(), [TOKEN_B, ...good]);
    assert.deepEqual(failed, []);
    assert.deepEqual(sent.map((s) => s.device).sort(), [TOKEN_B, ...good].sort());
    const recorded = emulator.notifications.find((n) => n.token === TOKEN_B);
    assert.ok(recorded);
    assert.deepEqual(recorded.payload, {
      aps: { alert: { title: 'Hello', body: 'from node-apn' }, badge: 3 },
    });
    assert.equal(recorded.pushType, 'alert');
    // One provider token for everything: node-apn caches it, as Apple requires.
    assert.equal(emulator.stats().providerTokens, 1);
    assert.equal(emulator.stats().providerTokenRefreshes, 0);
  });

  it("gets Apple's reasons for unregistered, bad and foreign tokens", async () => {
    const { sent, failed } = await provider.send(note(), [DEAD, BAD, OTHER_APP, TOKEN_A]);
    assert.deepEqual(
      sent.map((s) => s.device),
      [TOKEN_A],
    );
    const byDevice = Object.fromEntries(
      failed.map((f) => [f.device, { status: f.status, response: f.response }]),
    );
    assert.deepEqual(byDevice, {
      [DEAD]: { status: 410, response: { reason: 'Unregistered', timestamp: deadSince } },
      [BAD]: { status: 400, response: { reason: 'BadDeviceToken' } },
      [OTHER_APP]: { status: 400, response: { reason: 'DeviceTokenNotForTopic' } },
    });
  });

  it('gets 403 InvalidProviderToken with a key the emulator does not know', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const impostor = new apn.Provider({
      token: { key: stranger, keyId: emulator.keyId, teamId: emulator.teamId },
      address: '127.0.0.1',
      port: emulator.port,
      ca: [emulator.ca],
      production: false,
    });
    try {
      const { failed } = await impostor.send(note(), TOKEN_A);
      assert.equal(failed[0]?.status, 403);
      assert.deepEqual(failed[0]?.response, { reason: 'InvalidProviderToken' });
    } finally {
      await impostor.shutdown();
    }
  });
});

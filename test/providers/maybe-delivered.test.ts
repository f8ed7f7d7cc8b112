/**
 * Every provider passes the transport's `maybeDelivered` through to its outcome (issue 13):
 * FCM and Web Push re-wrap transport errors with their own name, and must not lose it.
 */
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { startFcmEmulator } from '../../src/emulator/fcm/index.js';
import { fcm, webPush } from '../../src/index.js';
import type { Outcome } from '../../src/provider.js';
import { generateVapidKeys } from '../../src/providers/webpush/vapid.js';
import { countingServer } from './counting-server.js';

function failure(outcome: Outcome) {
  assert.equal(outcome.ok, false, JSON.stringify(outcome));
  if (outcome.ok) throw new Error('unreachable');
  return outcome.error;
}

const ctx = () => ({ signal: new AbortController().signal, attempt: 1 });

test('fcm: a request cut after the server got it fails maybeDelivered', async (t) => {
  const emulator = await startFcmEmulator({ projectId: 'p' });
  const server = await countingServer(
    () => 'cut',
    () => 'fcm',
  );
  // OAuth from the emulator; the send goes to the cutting server.
  const provider = fcm({
    ...emulator.providerOptions,
    endpoint: server.origin,
    ca: [emulator.ca, server.ca],
  });
  t.after(async () => {
    provider.destroy?.();
    await server.close();
    await emulator.close();
  });
  const error = failure(
    await provider.prepare({ title: 'hi' }, {}).send!({ platform: 'android', token: 'tok' }, ctx()),
  );
  assert.equal(server.received.get('fcm'), 1);
  assert.equal(error.provider, 'fcm');
  assert.equal(error.code, 'unavailable');
  assert.equal(error.maybeDelivered, true, error.message);
});

test('webPush: a request cut after the push service got it fails maybeDelivered', async (t) => {
  const server = await countingServer(
    () => 'cut',
    () => 'webpush',
  );
  const provider = webPush({
    vapid: { subject: 'mailto:ops@example.com', ...generateVapidKeys() },
    ca: server.ca,
    allowPrivateNetworks: true,
    encryptionThreads: 0,
  });
  t.after(async () => {
    provider.destroy?.();
    await server.close();
  });
  const browser = createECDH('prime256v1');
  browser.generateKeys();
  const subscription = {
    endpoint: `${server.origin}/push/abc`,
    keys: {
      p256dh: browser.getPublicKey().toString('base64url'),
      auth: randomBytes(16).toString('base64url'),
    },
  };
  const error = failure(
    await provider.prepare({ title: 'hi' }, {}).send!({ platform: 'web', token: subscription }, ctx()),
  );
  assert.equal(server.received.get('webpush'), 1);
  assert.equal(error.provider, 'webpush');
  assert.equal(error.maybeDelivered, true, error.message);
});

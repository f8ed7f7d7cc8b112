/**
 * What an emulator's caller gets for bad options or arguments: a PushError with a stable code
 * and a message naming the problem and the fix, as from the providers (not a bare Error).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { startApnsEmulator } from '../../src/emulator/apns/index.js';
import { startFcmEmulator } from '../../src/emulator/fcm/index.js';
import { startHmsEmulator } from '../../src/emulator/hms/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import { startWebPushEmulator } from '../../src/emulator/webpush/index.js';
import { PushError } from '../../src/errors.js';

function pushError(code: string, message: RegExp) {
  return (thrown: unknown) => {
    assert.ok(thrown instanceof PushError, `a PushError, got ${String(thrown)}`);
    assert.equal(thrown.code, code);
    assert.match(thrown.message, message);
    return true;
  };
}

test('APNs emulator: a signing key that is not P-256, or two keys with one key id, are config errors', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  await assert.rejects(startApnsEmulator({ key: rsa }), pushError('config', /P-256 \(ES256\)/));
  await assert.rejects(
    startApnsEmulator({ keyId: 'ABCDE12345', keys: [{ keyId: 'ABCDE12345' }] }),
    pushError('config', /duplicate APNs key id ABCDE12345: give each signing key its own keyId/),
  );
});

test('FCM emulator: a token lifetime that is not > 0 is a config error', async (t) => {
  const emulator = await startFcmEmulator();
  t.after(() => emulator.close());
  assert.throws(
    () => emulator.setScenarios({ tokenLifetimeSeconds: 0 }),
    pushError('config', /tokenLifetimeSeconds must be a number of seconds > 0, got 0/),
  );
});

test('HMS emulator: a token lifetime that is not > 0, or a rate outside 0 to 1, is a config error', async (t) => {
  await assert.rejects(
    startHmsEmulator({ deadRate: 2 }),
    pushError('config', /deadRate must be a share of tokens from 0 to 1, got 2/),
  );
  const emulator = await startHmsEmulator();
  t.after(() => emulator.close());
  assert.throws(
    () => emulator.setScenarios({ tokenLifetimeSeconds: 0 }),
    pushError('config', /tokenLifetimeSeconds must be a number of seconds > 0, got 0/),
  );
  assert.throws(
    () => emulator.setScenarios({ throttleRate: -0.5 }),
    pushError('config', /throttleRate must be a share of tokens from 0 to 1, got -0.5/),
  );
});

test('Web Push emulator: bad origins count is config; an unknown subscription or origin index is bad-request', async (t) => {
  await assert.rejects(
    startWebPushEmulator({ origins: 0 }),
    pushError('config', /origins must be a whole number ≥ 1/),
  );
  const emulator = await startWebPushEmulator({ origins: 2 });
  t.after(() => emulator.close());
  assert.throws(
    () => emulator.subscribe({ origin: 2 }),
    pushError('bad-request', /no emulated push service with index 2: the emulator runs 2 \(origin 0 to 1\)/),
  );
  assert.throws(
    () => emulator.unsubscribe('https://127.0.0.1:1/never-issued'),
    pushError('bad-request', /not issued by the emulator/),
  );
});

test('startEmulator: an emulator turned off is a config error when asked for', async (t) => {
  const emulator = await startEmulator({ apns: false, webpush: false });
  t.after(() => emulator.close());
  assert.throws(
    () => emulator.apns,
    pushError('config', /the apns emulator was not started \(apns: false\)/),
  );
});

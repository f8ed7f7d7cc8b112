/**
 * Provider names (issue #18): the name is how feedback, summaries and metrics tell providers
 * apart, so it defaults per app (`<kind>:<app>`), takes a `name` option on every factory, and a
 * client refuses two providers of one name.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { PushClient, PushError } from '../../src/index.js';
import { providerName } from '../../src/provider.js';
import { apns } from '../../src/providers/apns/index.js';
import { fcm } from '../../src/providers/fcm/index.js';
import { hms } from '../../src/providers/hms/index.js';
import { webPush } from '../../src/providers/webpush/index.js';
import { ScriptedProvider } from '../support/scripted-provider.js';

describe('providerName', () => {
  test('defaults to the kind, or <kind>:<app> for a provider serving an app; a given name wins', () => {
    assert.equal(providerName('fcm', undefined, undefined), 'fcm');
    assert.equal(providerName('fcm', undefined, 'shop'), 'fcm:shop');
    assert.equal(providerName('fcm', 'fcm-shop', 'shop'), 'fcm-shop');
  });

  test('refuses what is not a short printable string, as a config error', () => {
    for (const bad of ['', ' ', 'tab\there', 'x'.repeat(65), 7, null]) {
      assert.throws(
        () => providerName('hms', bad, undefined),
        (error: unknown) =>
          error instanceof PushError &&
          error.code === 'config' &&
          error.message.startsWith('hms: name must be'),
        String(bad),
      );
    }
  });
});

describe('every factory takes a name and names app providers for their app', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(async () => {
    await emulator.close();
  });

  test('apns, fcm, webPush and hms', async () => {
    const made = [
      apns({ ...emulator.apns.providerOptions, app: 'shop' }),
      fcm({ ...emulator.fcm.providerOptions, app: 'shop' }),
      webPush({ ...emulator.webpush.providerOptions, app: 'shop' }),
      hms({ ...emulator.hms.providerOptions, app: 'shop' }),
      apns({ ...emulator.apns.providerOptions, name: 'ios-main' }),
      fcm({ ...emulator.fcm.providerOptions, name: 'android-main' }),
      webPush({ ...emulator.webpush.providerOptions, name: 'web-main' }),
      hms({ ...emulator.hms.providerOptions, name: 'huawei-main' }),
      apns(emulator.apns.providerOptions),
    ];
    try {
      assert.deepEqual(
        made.map((provider) => provider.name),
        [
          'apns:shop',
          'fcm:shop',
          'webpush:shop',
          'hms:shop',
          'ios-main',
          'android-main',
          'web-main',
          'huawei-main',
          'apns',
        ],
      );
    } finally {
      await Promise.all(made.map((provider) => provider.destroy()));
    }
  });
});

describe('a client', () => {
  test('refuses two providers of one name, naming both', () => {
    const a = new ScriptedProvider({ name: 'same', platforms: ['ios'] });
    const b = new ScriptedProvider({ name: 'same', platforms: ['android'], app: 'pro' });
    assert.throws(
      () => new PushClient({ providers: [a, b] }),
      (error: unknown) =>
        error instanceof PushError &&
        error.code === 'config' &&
        error.message ===
          "two providers are named 'same' (one for ios and one for android app 'pro'); give each its own `name`",
    );
  });
});

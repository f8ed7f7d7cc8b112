/**
 * `transport` on apns() and fcm(): pushline's own HTTP/2 client ('wire', the default, which every
 * other provider test runs on) and Node's node:http2 ('node-http2', the fallback) carry the same
 * sends through the same emulators, with the same outcomes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import { startWebPushEmulator } from '../../src/emulator/webpush/index.js';
import { apns, type Device, fcm, PushClient, PushError, webPush } from '../../src/index.js';

describe('transport', () => {
  for (const transport of ['wire', 'node-http2'] as const) {
    it(`'${transport}' sends APNs and FCM through the emulators: every device answered, the dead ones invalid`, async () => {
      const emulator = await startEmulator({ webpush: false });
      try {
        const iosToken = (i: number) => i.toString(16).padStart(64, '0');
        const deadIos = new Set(Array.from({ length: 20 }, (_, i) => iosToken(i * 50)));
        const deadAndroid = new Set(Array.from({ length: 20 }, (_, i) => `fcm-${i * 50}`));
        emulator.apns.setScenarios({ unregistered: deadIos, goAway: { streams: 100 } });
        emulator.fcm.setScenarios({ unregisteredTokens: deadAndroid });
        const client = new PushClient({
          providers: [
            apns({ ...emulator.apns.providerOptions, production: false, transport }),
            fcm({ ...emulator.fcm.providerOptions, transport }),
          ],
        });
        const devices: Device[] = [];
        for (let i = 0; i < 1000; i++) {
          devices.push({ platform: 'ios', token: iosToken(i) }, { platform: 'android', token: `fcm-${i}` });
        }
        const seen = new Set<Device>();
        for await (const fb of client.send({ title: 'wire', body: 'same answers' }, devices)) {
          assert.ok(!seen.has(fb.device), 'one feedback per device');
          seen.add(fb.device);
          const dead = deadIos.has(fb.device.token as string) || deadAndroid.has(fb.device.token as string);
          assert.equal(
            fb.status,
            dead ? 'invalid-token' : 'sent',
            `${fb.device.token}: ${fb.error?.message}`,
          );
        }
        await client.close();
        assert.equal(seen.size, 2000);
        assert.equal(emulator.apns.stats().accepted, 980);
        assert.ok(emulator.apns.stats().goAways >= 2, 'GOAWAYs were crossed');
        assert.equal(emulator.fcm.stats.accepted, 980);
      } finally {
        await emulator.close();
      }
    });
  }

  for (const transport of ['wire', 'node-http2'] as const) {
    it(`webPush '${transport}': every browser answered, the gone ones invalid, every message decrypts`, async () => {
      const emulator = await startWebPushEmulator({ origins: 2 });
      const client = new PushClient({ providers: [webPush({ ...emulator.providerOptions, transport })] });
      try {
        const devices = Array.from({ length: 300 }, (_, row) => {
          const subscription = emulator.subscribe();
          if (row % 30 === 0) emulator.setScenario(subscription, { kind: 'gone' });
          return { platform: 'web' as const, token: subscription, row };
        });
        let sent = 0;
        for await (const fb of client.send({ title: 'wire', body: 'same answers' }, devices)) {
          assert.equal(
            fb.status,
            fb.device.row % 30 === 0 ? 'invalid-token' : 'sent',
            `row ${fb.device.row}`,
          );
          if (fb.status === 'sent') sent++;
        }
        assert.equal(sent, 290);
        const messages = emulator.messages();
        assert.equal(messages.length, 290);
        assert.ok(messages.every((m) => JSON.parse(m.text).title === 'wire'));
      } finally {
        await client.close();
        await emulator.close();
      }
    });
  }

  it('refuses an unknown transport with a config error naming the choices', async () => {
    const emulator = await startEmulator({ webpush: false });
    try {
      const wrong = { transport: 'quic' } as unknown as { transport: 'wire' };
      const namesChoices = (error: unknown) =>
        error instanceof PushError && error.code === 'config' && /'wire' or 'node-http2'/.test(error.message);
      assert.throws(() => fcm({ ...emulator.fcm.providerOptions, ...wrong }), namesChoices);
      assert.throws(
        () => apns({ ...emulator.apns.providerOptions, production: false, ...wrong }),
        namesChoices,
      );
    } finally {
      await emulator.close();
    }
  });
});

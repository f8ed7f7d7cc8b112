/**
 * `startEmulator()` brings up every emulator, and one PushClient sends through all four
 * providers at once: what the README's emulator example promises.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import { apns, type Device, fcm, hms, PushClient, webPush } from '../../src/index.js';

test('one client, four providers, four emulators: every device answered, the dead ones invalid', async () => {
  const emulator = await startEmulator();
  try {
    const deadApns = 'dead'.padEnd(64, '0');
    emulator.apns.setScenarios({ unregistered: [deadApns] });
    emulator.fcm.setScenarios({ unregisteredTokens: ['fcm-dead'] });
    const goneWeb = emulator.webpush.subscribe();
    emulator.webpush.unsubscribe(goneWeb);
    emulator.hms.setScenarios({ deadTokens: ['hms-dead'] });

    const client = new PushClient({
      providers: [
        apns({ ...emulator.apns.providerOptions, production: false }),
        fcm(emulator.fcm.providerOptions),
        webPush(emulator.webpush.providerOptions),
        hms(emulator.hms.providerOptions),
      ],
    });
    const devices: Array<Device & { id: string }> = [
      { id: 'ios-ok', platform: 'ios', token: 'ab'.repeat(32) },
      { id: 'ios-dead', platform: 'ios', token: deadApns },
      { id: 'android-ok', platform: 'android', token: 'fcm-ok' },
      { id: 'android-dead', platform: 'android', token: 'fcm-dead' },
      { id: 'web-ok', platform: 'web', token: emulator.webpush.subscribe() },
      { id: 'web-gone', platform: 'web', token: JSON.stringify(goneWeb) },
      { id: 'huawei-ok', platform: 'huawei', token: 'hms-ok' },
      { id: 'huawei-dead', platform: 'huawei', token: 'hms-dead' },
    ];
    const statuses: Record<string, string> = {};
    for await (const fb of client.send(
      { title: 'Hi', body: 'from every provider', data: { n: 1 } },
      devices,
    )) {
      statuses[fb.device.id] = `${fb.provider}:${fb.status}`;
    }
    await client.close();
    assert.deepEqual(statuses, {
      'ios-ok': 'apns:sent',
      'ios-dead': 'apns:invalid-token',
      'android-ok': 'fcm:sent',
      'android-dead': 'fcm:invalid-token',
      'web-ok': 'webpush:sent',
      'web-gone': 'webpush:invalid-token',
      'huawei-ok': 'hms:sent',
      'huawei-dead': 'hms:invalid-token',
    });
    assert.equal(emulator.hms.deliveries('hms-ok'), 1);
    assert.equal(emulator.apns.notifications.length, 1);
    assert.equal(emulator.fcm.messages.length, 1);
    const [received] = emulator.webpush.messages();
    assert.equal(JSON.parse(received!.text).body, 'from every provider');
  } finally {
    await emulator.close();
  }
});

test('closed while its client is still connected, the emulators close at once (not at the client’s idle timeout)', async (t) => {
  const emulator = await startEmulator();
  // Closed by the test itself; here only if an assertion fails before, so the file cannot hang.
  let closing: Promise<void> | undefined;
  t.after(() => closing ?? emulator.close());
  const client = new PushClient({
    providers: [
      apns(emulator.apns.providerOptions),
      fcm(emulator.fcm.providerOptions),
      webPush(emulator.webpush.providerOptions),
    ],
  });
  t.after(() => client.close());
  const devices: Device[] = [
    { platform: 'ios', token: '1'.repeat(64) },
    { platform: 'android', token: 'fcm-token-1' },
    // Several subscriptions: the emulator spreads them over its push services (origins).
    ...Array.from({ length: 4 }, (): Device => ({ platform: 'web', token: emulator.webpush.subscribe() })),
  ];
  const statuses: string[] = [];
  for await (const feedback of client.send({ title: 'Hi' }, devices)) statuses.push(feedback.status);
  assert.deepEqual(
    statuses,
    devices.map(() => 'sent'),
    'every device sent, so every client is connected',
  );
  let timer: NodeJS.Timeout | undefined;
  // A hang guard, not a speed check: the bug kept close() waiting 60 s.
  closing = emulator.close();
  const outcome = await Promise.race([
    closing.then(() => 'closed'),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve('still open after 20 s'), 20_000);
    }),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, 'closed');
});

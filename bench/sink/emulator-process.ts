/**
 * The emulator sink, in its own process: pushline's APNs, FCM and Web Push emulators in their
 * "sink" mode (APNs: no validation, 200 at once; FCM: access token checked, message not;
 * Web Push: VAPID and subscription checked, nothing decrypted). Prints the target JSON
 * (without the web-push subscriptions' count limit) on one line, then serves until stdin closes.
 *
 *   node --import tsx bench/sink/emulator-process.ts <subscriptions>
 */
import { startApnsEmulator } from '../../src/emulator/apns/index.js';
import { startFcmEmulator } from '../../src/emulator/fcm/index.js';
import { startWebPushEmulator } from '../../src/emulator/webpush/index.js';
import type { BenchTarget, WebPushSubscriptionJson } from '../lib/target.js';

const subscriptionCount = Number(process.argv[2] ?? 1000);
const apnsEmu = await startApnsEmulator({ scenarios: { sink: true }, record: false });
const fcmEmu = await startFcmEmulator({ sink: true, maxRecorded: 0 });
const wpEmu = await startWebPushEmulator({ sink: true, maxMessages: 0 });
const subscriptions = Array.from(
  { length: subscriptionCount },
  () => wpEmu.subscribe() as unknown as WebPushSubscriptionJson,
);
const url = new URL(apnsEmu.origin);
const target: BenchTarget = {
  sink: 'emulator',
  apns: {
    origin: apnsEmu.origin,
    host: url.hostname,
    port: Number(url.port),
    teamId: apnsEmu.teamId,
    keyId: apnsEmu.keyId,
    key: apnsEmu.key,
    topic: apnsEmu.topic,
    ca: apnsEmu.ca,
  },
  fcm: {
    origin: fcmEmu.origin,
    serviceAccount: fcmEmu.serviceAccount,
    ca: fcmEmu.ca,
  },
  webpush: { ...wpEmu.providerOptions, subscriptions },
};
process.stdout.write(`${JSON.stringify(target)}\n`);
process.stdin.resume();
process.stdin.once('end', async () => {
  await Promise.all([apnsEmu.close(), fcmEmu.close(), wpEmu.close()]);
  process.exit(0);
});

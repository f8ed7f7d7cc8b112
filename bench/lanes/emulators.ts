/**
 * The emulators for the lanes benchmark, in their own process: APNs in sink mode (200 at
 * once), FCM healthy (sink mode), in a 100% 503 storm, or answering after a delay. Prints
 * the target JSON on one line, then serves until stdin closes.
 *
 *   node --import tsx bench/lanes/emulators.ts healthy|503|slow [latencyMs]
 */
import { startApnsEmulator } from '../../src/emulator/apns/index.js';
import { startFcmEmulator } from '../../src/emulator/fcm/index.js';

const [mode = 'healthy', latencyArg = '1000'] = process.argv.slice(2);
const apnsEmu = await startApnsEmulator({ scenarios: { sink: true }, record: false });
const fcmEmu = await startFcmEmulator(
  mode === '503'
    ? // Every send answered 503 UNAVAILABLE (no Retry-After): the burst never runs out.
      { unavailableBurst: Number.POSITIVE_INFINITY, maxRecorded: 0 }
    : mode === 'slow'
      ? { sink: true, latencyMs: Number(latencyArg), maxRecorded: 0 }
      : { sink: true, maxRecorded: 0 },
);
process.stdout.write(
  `${JSON.stringify({
    apns: {
      origin: apnsEmu.origin,
      teamId: apnsEmu.teamId,
      keyId: apnsEmu.keyId,
      key: apnsEmu.key,
      topic: apnsEmu.topic,
      ca: apnsEmu.ca,
    },
    fcm: { origin: fcmEmu.origin, serviceAccount: fcmEmu.serviceAccount, ca: fcmEmu.ca },
  })}\n`,
);
process.stdin.resume();
process.stdin.once('end', async () => {
  await Promise.all([apnsEmu.close(), fcmEmu.close()]);
  process.exit(0);
});

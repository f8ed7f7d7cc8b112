/**
 * pushline as its users run it: one PushClient, one provider, devices streamed in, feedback
 * streamed out. Runs in its own process; prints one JSON line (see ../lib/report.ts).
 *
 *   node --import tsx bench/clients/pushline.ts <target.json> apns|apns-node|fcm|fcm-node|webpush|webpush-node <pushes> [generator [<options JSON>]|sqlite <db>|postgres <url>|ndjson <file>]
 *
 * `ndjson <file>`: the devices of an NDJSON file (ndjsonDevices), every feedback written to
 * `<file>.feedback.ndjson` (ndjsonFeedbackWriter): the send `pushline serve` makes of an NDJSON
 * upload, done by the library in-process (bench/server.ts compares the two).
 * With the generator, an options JSON (e.g. `{"concurrency":10000,"connections":10}`) is
 * merged into the provider's options: the latency benchmark's tuned runs.
 */
import type { Device, Provider } from '../../src/index.js';
import { apns, fcm, PushClient, webPush } from '../../src/index.js';
import { count, print, startTimer } from '../lib/report.js';
import { ALERT, hexToken, readTarget } from '../lib/target.js';

const [targetPath, kind, pushesArg, source = 'generator', dbPath] = process.argv.slice(2);
const target = readTarget(targetPath!);
const pushes = Number(pushesArg);
const tuning =
  source === 'generator' && dbPath !== undefined ? (JSON.parse(dbPath) as Record<string, number>) : {};

let provider: Provider;
let platform: Device['platform'];
// `apns-node` / `fcm-node` / `webpush-node`: the same provider on the fallback client, `transport: 'node-http2'`.
const [protocol, variant] = kind!.split('-');
const transport = variant === 'node' ? ({ transport: 'node-http2' } as const) : {};
if (protocol === 'apns') {
  const { origin, teamId, keyId, key, topic } = target.apns;
  provider = apns({
    endpoint: origin,
    ca: target.apns.ca,
    teamId,
    keyId,
    key,
    topic,
    ...transport,
    ...tuning,
  });
  platform = 'ios';
} else if (protocol === 'fcm') {
  provider = fcm({
    serviceAccount: target.fcm.serviceAccount,
    endpoint: target.fcm.origin,
    ca: target.fcm.ca,
    ...transport,
    ...tuning,
  });
  platform = 'android';
} else if (protocol === 'webpush') {
  const { vapid, allowHosts } = target.webpush;
  provider = webPush({ vapid, allowHosts, ca: target.webpush.ca, ...transport, ...tuning });
  platform = 'web';
} else {
  throw new Error(`unknown kind ${kind}`);
}

function* generate(n: number): Generator<Device> {
  const subscriptions = target.webpush.subscriptions;
  for (let i = 0; i < n; i++) {
    const token = platform === 'web' ? subscriptions[i % subscriptions.length]! : hexToken(i);
    yield { platform, token };
  }
}

// The stores module (SQLite, PostgreSQL, CSV) is loaded only when used, as an app would.
const stores = source === 'generator' ? undefined : await import('../../src/stores/index.js');
async function storeDevices(): Promise<AsyncIterable<Device>> {
  if (stores === undefined) throw new Error('no store for the generator');
  if (source === 'ndjson') return stores.ndjsonDevices(dbPath!);
  // The tables bench/stores.ts prepares: `devices` in SQLite, `pushline_bench_devices` in PostgreSQL.
  const query = `SELECT id, token FROM ${source === 'sqlite' ? 'devices' : 'pushline_bench_devices'} ORDER BY id`;
  return source === 'sqlite'
    ? stores.sqliteDevices(dbPath!, { query, platform })
    : stores.postgresDevices(dbPath!, { query, platform, batchSize: 1000 });
}
const devices: Iterable<Device> | AsyncIterable<Device> =
  source === 'generator' ? generate(pushes) : await storeDevices();

const client = new PushClient({ providers: [provider] });
const failures: Record<string, number> = {};
let sent = 0;
const timer = startTimer();
const feedbackFile =
  source === 'ndjson' ? stores!.ndjsonFeedbackWriter(`${dbPath}.feedback.ndjson`) : undefined;
for await (const feedback of client.send(ALERT, devices)) {
  if (feedbackFile) await feedbackFile.write(feedback);
  if (feedback.status === 'sent') sent++;
  else count(failures, feedback.error?.reason ?? feedback.error?.code ?? feedback.status);
}
await feedbackFile?.close();
const result = timer.stop(
  `pushline ${kind}${source === 'generator' ? '' : ` (${source})`}`,
  pushes,
  sent,
  failures,
);
if (provider.concurrency !== undefined) result.inFlightLimit = provider.concurrency;
await client.close();
print(result);

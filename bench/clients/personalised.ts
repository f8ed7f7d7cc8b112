/**
 * pushline with a personalised notification vs a shared one: one PushClient, one provider,
 * devices streamed in. Runs in its own process; prints one JSON line (see ../lib/report.ts).
 *
 *   node bench/out/build/bench/clients/personalised.js <target.json> apns|fcm|webpush <pushes> <mode>
 *
 * Modes: `shared` (one notification object: the encode-once path), `locales` (a function
 * returning one of ten prebuilt objects: ten encodings, cache hits by identity), `equal` (a
 * function building a fresh object each time, ten distinct contents: cache hits by content),
 * `unique` (a different notification for every device: one encoding each).
 */
import type { Device, Notification, Provider } from '../../src/index.js';
import { apns, fcm, PushClient, webPush } from '../../src/index.js';
import { count, print, startTimer } from '../lib/report.js';
import { ALERT, hexToken, readTarget } from '../lib/target.js';

const [targetPath, kind, pushesArg, mode = 'shared'] = process.argv.slice(2);
const target = readTarget(targetPath!);
const pushes = Number(pushesArg);

let provider: Provider;
let platform: Device['platform'];
if (kind === 'apns') {
  const { origin, teamId, keyId, key, topic } = target.apns;
  provider = apns({ endpoint: origin, ca: target.apns.ca, teamId, keyId, key, topic });
  platform = 'ios';
} else if (kind === 'fcm') {
  provider = fcm({
    serviceAccount: target.fcm.serviceAccount,
    endpoint: target.fcm.origin,
    ca: target.fcm.ca,
  });
  platform = 'android';
} else if (kind === 'webpush') {
  const { vapid, allowHosts } = target.webpush;
  provider = webPush({ vapid, allowHosts, ca: target.webpush.ca });
  platform = 'web';
} else {
  throw new Error(`unknown kind ${kind}`);
}

type Row = Device & { i: number };
function* generate(n: number): Generator<Row> {
  const subscriptions = target.webpush.subscriptions;
  for (let i = 0; i < n; i++) {
    const token = platform === 'web' ? subscriptions[i % subscriptions.length]! : hexToken(i);
    yield { platform, token, i };
  }
}

const LOCALES = 10;
const prebuilt: Notification[] = Array.from({ length: LOCALES }, (_, l) => ({
  title: `${ALERT.title} (${l})`,
  body: ALERT.body,
}));
const notification: Notification | ((device: Row) => Notification) =
  mode === 'shared'
    ? ALERT
    : mode === 'locales'
      ? (device) => prebuilt[device.i % LOCALES]!
      : mode === 'equal'
        ? (device) => ({ title: `${ALERT.title} (${device.i % LOCALES})`, body: ALERT.body })
        : (device) => ({ title: `${ALERT.title} (${device.i})`, body: ALERT.body });

const client = new PushClient({ providers: [provider] });
const failures: Record<string, number> = {};
let sent = 0;
const timer = startTimer();
for await (const feedback of client.send(notification, generate(pushes))) {
  if (feedback.status === 'sent') sent++;
  else count(failures, feedback.error?.reason ?? feedback.error?.code ?? feedback.status);
}
const result = timer.stop(`pushline ${kind} ${mode}`, pushes, sent, failures);
await client.close();
print(result);

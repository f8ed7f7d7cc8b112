/**
 * One mixed send for the lanes benchmark: one PushClient with `apns()` and `fcm()`, one
 * endless source alternating iOS and Android devices (50/50), run for a warm-up and then a
 * measured span, then aborted. Prints one JSON line: APNs and FCM outcomes per second over
 * the measured span, and the process's peak RSS.
 *
 *   node --import tsx bench/lanes/sender.ts '<target json>' <warmupS> <measureS> [srcDir]
 *
 * `srcDir` (default ../../src) lets the same scenario run against another copy of pushline's
 * sources, e.g. the previous commit's, to measure before and after a change.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Pushline from '../../src/index.js';
import { ALERT, hexToken } from '../lib/target.js';

const [targetJson, warmupArg = '1', measureArg = '4', srcDir] = process.argv.slice(2);
const target = JSON.parse(targetJson!);
const warmupMs = Number(warmupArg) * 1000;
const measureMs = Number(measureArg) * 1000;
const pushline: typeof Pushline = await import(
  srcDir ? pathToFileURL(resolve(srcDir, 'index.js')).href : '../../src/index.js'
);

const client = new pushline.PushClient({
  providers: [
    pushline.apns({
      endpoint: target.apns.origin,
      ca: target.apns.ca,
      teamId: target.apns.teamId,
      keyId: target.apns.keyId,
      key: target.apns.key,
      topic: target.apns.topic,
    }),
    pushline.fcm({
      endpoint: target.fcm.origin,
      serviceAccount: target.fcm.serviceAccount,
      ca: target.fcm.ca,
    }),
  ],
});

function* mixed(): Generator<Pushline.Device> {
  for (let i = 0; ; i++) {
    yield i % 2 === 0
      ? { platform: 'ios', token: hexToken(i) }
      : { platform: 'android', token: `dev${i}:APA91bHun4MxP5egoKMwt2KZFBaFUH` };
  }
}

type Counts = { sent: number; failed: number; failedFast: number };
const zero = (): Counts => ({ sent: 0, failed: 0, failedFast: 0 });
let counts = { apns: zero(), fcm: zero() };
const reasons: Record<string, number> = {};
/** The first error message of each kind, to see what a fast failure said. */
const examples: Record<string, string> = {};
const delivery = client.send(ALERT, mixed());
const started = Date.now();
let measuredFrom = 0;
let measured: { apns: Counts; fcm: Counts } | undefined;
let measuredMs = 0;
const warm = setTimeout(() => {
  counts = { apns: zero(), fcm: zero() };
  measuredFrom = Date.now();
  setTimeout(() => {
    measured = structuredClone(counts);
    measuredMs = Date.now() - measuredFrom;
    delivery.abort('benchmark span over');
  }, measureMs);
}, warmupMs);
for await (const fb of delivery) {
  const lane = fb.provider === 'apns' ? counts.apns : counts.fcm;
  if (fb.status === 'sent') lane.sent++;
  else {
    lane.failed++;
    if (fb.attempts === 0) lane.failedFast++;
    if (measuredFrom && !measured) {
      const key = `${fb.provider}: ${fb.error?.code}${fb.attempts === 0 ? ' (no request)' : ''}`;
      reasons[key] = (reasons[key] ?? 0) + 1;
      if (reasons[key] === 1) examples[key] = fb.error?.message ?? '';
    }
  }
}
clearTimeout(warm);
if (!measured) throw new Error('the send ended before the measured span did');
await client.close();
const perSecond = (n: number) => Math.round((n * 1000) / measuredMs);
console.log(
  JSON.stringify({
    apnsPerSecond: perSecond(measured.apns.sent),
    fcmSentPerSecond: perSecond(measured.fcm.sent),
    fcmFailedPerSecond: perSecond(measured.fcm.failed),
    fcmFailedFastPerSecond: perSecond(measured.fcm.failedFast),
    measuredMs,
    totalMs: Date.now() - started,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    reasons,
    examples,
  }),
);

/**
 * The floor for any Node sender: bare `node:http2` with nothing but the sending — 4 sessions,
 * up to 1000 streams in flight, one shared header object, the response read and dropped.
 * No error handling, retries or feedback: not a contender, the yardstick that shows how much
 * of a Node client's cost is node:http2 itself.
 *
 *   node bench/out/build/bench/clients/raw-http2.js <target.json> <pushes>
 */
import http2 from 'node:http2';
import { count, print, startTimer } from '../lib/report.js';
import { ALERT, hexToken, readTarget } from '../lib/target.js';

const [targetPath, pushesArg] = process.argv.slice(2);
const target = readTarget(targetPath!);
const pushes = Number(pushesArg);
const body = Buffer.from(JSON.stringify({ aps: { alert: { title: ALERT.title, body: ALERT.body } } }));
const base = {
  ':method': 'POST',
  'apns-topic': target.apns.topic,
  'apns-push-type': 'alert',
  authorization: 'bearer x',
};
const failures: Record<string, number> = {};
const timer = startTimer();
const sessionCount = Number(process.env.RAW_SESSIONS ?? 4);
const sessions = Array.from({ length: sessionCount }, () =>
  http2.connect(target.apns.origin, { ca: target.apns.ca }),
);
let started = 0;
let done = 0;
let sent = 0;
const inFlight = 1000;
await new Promise<void>((resolve) => {
  const startOne = (): void => {
    const i = started++;
    const stream = sessions[i % sessionCount]!.request({ ...base, ':path': `/3/device/${hexToken(i)}` });
    let status = 0;
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('data', () => {});
    stream.on('close', () => {
      if (status === 200) sent++;
      else count(failures, status);
      if (++done === pushes) resolve();
      else if (started < pushes) startOne();
    });
    stream.end(body);
  };
  for (let i = 0; i < Math.min(inFlight, pushes); i++) startOne();
});
const result = timer.stop('bare node:http2 (floor for a Node client)', pushes, sent, failures);
for (const s of sessions) s.close();
print(result);

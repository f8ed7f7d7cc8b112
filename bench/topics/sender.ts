/**
 * One topic benchmark run: `client.subscribe(topic, devices)` as users run it, one PushClient
 * with `fcm()`, N `android` devices from a generator (never an array), 1,000 tokens a request.
 * Prints one JSON line (see ../lib/report.ts).
 *
 *   node --import tsx bench/topics/sender.ts '<providerOptions JSON>' <tokens> [window]
 */
import type { Device } from '../../src/index.js';
import { fcm, PushClient } from '../../src/index.js';
import { count, print, startTimer } from '../lib/report.js';

const [optionsJson, tokensArg, windowArg] = process.argv.slice(2);
const tokens = Number(tokensArg);
const client = new PushClient({
  providers: [fcm(JSON.parse(optionsJson!))],
  ...(windowArg ? { window: Number(windowArg) } : {}),
});

/** ~160-character registration tokens, distinct per i, shaped like FCM's. */
function* devices(n: number): Generator<Device> {
  const pad = 'A'.repeat(140);
  for (let i = 0; i < n; i++) yield { platform: 'android', token: `c${i.toString(36)}:APA91b${pad}` };
}

const failures: Record<string, number> = {};
let done = 0;
const timer = startTimer();
for await (const feedback of client.subscribe('bench-news', devices(tokens))) {
  if (feedback.status === 'sent') done++;
  else count(failures, feedback.error?.reason ?? feedback.error?.code ?? feedback.status);
}
const result = timer.stop(`subscribe${windowArg ? `, window ${windowArg}` : ''}`, tokens, done, failures);
await client.close();
print(result);

/**
 * One HMS benchmark run: `hms()` as users run it, one PushClient, N `huawei` devices from a
 * generator, 1,000 tokens a request. Prints one JSON line (see ../lib/report.ts).
 *
 *   node --import tsx bench/hms/sender.ts '<providerOptions JSON>' <pushes> [window]
 */
import type { Device } from '../../src/index.js';
import { hms, PushClient } from '../../src/index.js';
import { count, print, startTimer } from '../lib/report.js';
import { ALERT } from '../lib/target.js';

const [optionsJson, pushesArg, windowArg] = process.argv.slice(2);
const pushes = Number(pushesArg);
const client = new PushClient({
  providers: [hms(JSON.parse(optionsJson!))],
  ...(windowArg ? { window: Number(windowArg) } : {}),
});

/** ~150-character tokens, distinct per i, shaped like Huawei's. */
function* devices(n: number): Generator<Device> {
  const pad = 'A'.repeat(130);
  for (let i = 0; i < n; i++) yield { platform: 'huawei', token: `IQAAAACy0${i.toString(36)}${pad}` };
}

const failures: Record<string, number> = {};
let sent = 0;
const timer = startTimer();
for await (const feedback of client.send(ALERT, devices(pushes))) {
  if (feedback.status === 'sent') sent++;
  else count(failures, feedback.error?.reason ?? feedback.error?.code ?? feedback.status);
}
const result = timer.stop(
  `pushline hms()${windowArg ? `, window ${windowArg}` : ''}`,
  pushes,
  sent,
  failures,
);
await client.close();
print(result);

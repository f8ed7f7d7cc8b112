/**
 * web-push as its users run it at volume: `sendNotification` per subscription with a
 * keep-alive https.Agent and at most `concurrency` requests in flight (a simple worker pool).
 *
 *   node --import tsx bench/clients/web-push.ts <target.json> <pushes> <concurrency>
 */
import { Agent } from 'node:https';
import webpush from 'web-push';
import { count, print, startTimer } from '../lib/report.js';
import { ALERT, readTarget } from '../lib/target.js';

const [targetPath, pushesArg, concurrencyArg] = process.argv.slice(2);
const target = readTarget(targetPath!);
const pushes = Number(pushesArg);
const concurrency = Number(concurrencyArg) || 100;
const { vapid, subscriptions } = target.webpush;

const agent = new Agent({ keepAlive: true, maxSockets: concurrency, ca: target.webpush.ca });
const payload = JSON.stringify({ title: ALERT.title, body: ALERT.body });
const options: webpush.RequestOptions = {
  vapidDetails: vapid,
  TTL: 2_419_200,
  agent,
};

const failures: Record<string, number> = {};
let sent = 0;
let next = 0;
async function worker(): Promise<void> {
  while (next < pushes) {
    const i = next++;
    try {
      await webpush.sendNotification(subscriptions[i % subscriptions.length]!, payload, options);
      sent++;
    } catch (error) {
      count(
        failures,
        (error as { statusCode?: number; message?: string }).statusCode ?? (error as Error).message,
      );
    }
  }
}
const timer = startTimer();
await Promise.all(Array.from({ length: concurrency }, worker));
const result = timer.stop(`web-push, ${concurrency} in flight, keep-alive agent`, pushes, sent, failures);
agent.destroy();
print(result);

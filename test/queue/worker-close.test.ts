/**
 * A worker's close never hangs on Redis: BullMQ's own `Worker.close()` never resolves when its
 * blocking connection is between two reconnection attempts (taskforcesh/bullmq#4656), which is
 * exactly where a worker stopped just after Redis came back finds it — the hang that held a CI
 * run for its whole 5-minute file timeout.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PushClient } from '../../src/client.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { apns } from '../../src/providers/apns/index.js';
import { startWorker } from '../../src/queue/worker.js';
import { redisUnavailable, startRedis } from './redis-server.js';

const skip = redisUnavailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves to 'closed', or to 'hung' when `close` has not settled after `ms`. */
async function within(close: Promise<void>, ms: number): Promise<'closed' | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), ms);
  });
  try {
    return await Promise.race([close.then(() => 'closed' as const), hung]);
  } finally {
    clearTimeout(timer);
  }
}

let emulator: Emulator;
let client: PushClient;
before(async () => {
  if (skip) return;
  emulator = await startEmulator({ fcm: false, webpush: false, hms: false });
  client = new PushClient({ providers: [apns(emulator.apns.providerOptions)] });
});
after(async () => {
  await client?.destroy();
  await emulator?.close();
});

test('stopped the moment Redis is back: the close waits for the reconnection and resolves', {
  skip,
}, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.close());
  const lines: string[] = [];
  const worker = startWorker({
    redis: redis.url,
    prefix: 'back',
    clients: () => client,
    log: (l) => lines.push(l),
  });
  await sleep(500);
  await redis.kill();
  // Long enough for the reconnection delay to grow past a few hundred ms (100 ms × attempt).
  await sleep(1500);
  await redis.restart();
  assert.equal(await within(worker.close(1000), 20_000), 'closed');
  assert.ok(!lines.some((line) => /did not answer/.test(line)), lines.join('\n'));
});

test('Redis still down at the stop: the close gives up after the grace period, and says so', {
  skip,
}, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.close());
  const lines: string[] = [];
  // The abandoned worker's stalled checker ends after its current interval: keep it short, so
  // this file can exit.
  const worker = startWorker({
    redis: redis.url,
    prefix: 'gone',
    clients: () => client,
    log: (l) => lines.push(l),
    stalledIntervalMs: 1000,
  });
  await sleep(500);
  await redis.kill();
  await sleep(1500);
  assert.equal(await within(worker.close(500), 20_000), 'closed');
  assert.ok(
    lines.some((line) => /Redis did not answer within 5500 ms of the stop: leaving without it/.test(line)),
    lines.join('\n'),
  );
});

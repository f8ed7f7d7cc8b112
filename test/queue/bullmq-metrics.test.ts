/**
 * What the Redis queue reports for monitoring: the dispatcher's queue depth (chunk jobs not
 * finished), one shared poller behind every `settled()` (its Redis traffic does not grow with
 * the number of sends watched), and `pushline worker --metrics-port` as a real process.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { PushClient } from '../../src/client.js';
import type { Device } from '../../src/device.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { apns } from '../../src/providers/apns/index.js';
import { BullMQDispatcher } from '../../src/queue/bullmq.js';
import type { SendSpec } from '../../src/queue/dispatch.js';
import { type PushlineWorker, startWorker } from '../../src/queue/worker.js';
import { startWorkerMetrics } from '../../src/server/worker-metrics.js';
import { type RedisServer, redisUnavailable, startRedis } from './redis-server.js';
import { startWorkerProcess, workerConfig } from './workers.js';

const skip = redisUnavailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const devices = (n: number, salt: number): Device[] =>
  Array.from({ length: n }, (_, i) => ({
    platform: 'ios',
    token: `${salt.toString(16)}f${i.toString(16)}`.padStart(64, '0'),
    id: i,
  }));

function spec(list: Device[]): SendSpec {
  return {
    id: randomUUID(),
    app: 'default',
    notification: { title: 'metrics' },
    devices: { kind: 'inline', devices: list },
    createdAt: new Date().toISOString(),
  };
}

let redis: RedisServer;
let emulator: Emulator;
let client: PushClient;
let dir: string;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  emulator = await startEmulator({ apns: { record: false } });
  client = new PushClient({ providers: [apns(emulator.apns.providerOptions)] });
  dir = mkdtempSync(join(tmpdir(), 'pushline-queue-metrics-'));
});

after(async () => {
  if (skip) return;
  await client?.destroy();
  await emulator?.close();
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Redis round trips since the last `CONFIG RESETSTAT` (INFO and CONFIG left out), and EVALs
 * among them. Redis counts a script's own calls too: the settle poller's HMGETs are left out
 * (nothing else sends HMGET while no worker runs), so one EVAL counts as one round trip.
 */
async function roundTrips(admin: Redis): Promise<{ total: number; evals: number; counts: string }> {
  const text = await admin.info('commandstats');
  let total = 0;
  let evals = 0;
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const name = match[1]!;
    if (name === 'info' || name.startsWith('config') || name === 'hmget') continue;
    total += Number(match[2]);
    if (name === 'eval' || name === 'evalsha') evals += Number(match[2]);
  }
  return { total, evals, counts: text };
}

test('queue depth: the chunk jobs enqueued while no worker runs, 0 once a worker drained them', {
  skip,
}, async (t) => {
  const prefix = `depth${randomUUID().slice(0, 8)}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix, chunkSize: 100 });
  let worker: PushlineWorker | undefined;
  t.after(async () => {
    await worker?.close(1000);
    await dispatcher.close(0);
  });
  assert.equal(await dispatcher.queueDepth(), 0);
  await sleep(1100); // past the cache of the read above
  const first = spec(devices(250, 1));
  const second = spec(devices(100, 2));
  await dispatcher.submit(first);
  await dispatcher.submit(second);
  assert.equal(await dispatcher.queueDepth(), 4, '3 chunks of 100 + 1');

  worker = startWorker({ redis: redis.url, prefix, clients: () => client });
  assert.equal((await dispatcher.settled(first.id)).state, 'done');
  assert.equal((await dispatcher.settled(second.id)).state, 'done');
  let depth = await dispatcher.queueDepth();
  for (let i = 0; i < 100 && depth !== 0; i++) {
    await sleep(100);
    depth = await dispatcher.queueDepth();
  }
  assert.equal(depth, 0);
});

test('settled(): one poller for all the sends watched, its Redis calls do not grow with their number', {
  skip,
}, async (t) => {
  const SENDS = 60;
  const prefix = `poll${randomUUID().slice(0, 8)}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix, chunkSize: 100 });
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  let worker: PushlineWorker | undefined;
  t.after(async () => {
    await worker?.close(1000);
    await dispatcher.close(0);
    admin.disconnect();
  });
  const sends = Array.from({ length: SENDS }, (_, i) => spec(devices(3, 100 + i)));
  for (const send of sends) await dispatcher.submit(send);
  // No worker yet: every send stays queued while its settled() waits.
  const settling = sends.map((send) => dispatcher.settled(send.id));
  // A failed assertion below closes the dispatcher, rejecting these: not an unhandled rejection.
  for (const promise of settling) promise.catch(() => undefined);
  await sleep(300); // every settled() has made its first status read
  await admin.config('RESETSTAT');
  await sleep(1000);
  const { total, evals, counts } = await roundTrips(admin);
  // Timers never fire early: in 1 s a 150 ms tick runs at most 7 times, one call each. A poll per
  // send (a loop per settled(): MULTI, 2 × HGETALL, EXEC every 150 ms) makes at least 4 × 60.
  assert.ok(total < SENDS, `${total} Redis round trips in 1 s for ${SENDS} sends:\n${counts}`);
  assert.ok(evals >= 1, 'the poller is running');

  worker = startWorker({ redis: redis.url, prefix, clients: () => client });
  const finals = await Promise.all(settling);
  assert.equal(finals.length, SENDS);
  for (const [i, final] of finals.entries()) {
    assert.equal(final.id, sends[i]!.id);
    assert.equal(final.state, 'done');
    assert.equal(final.counts.sent, 3);
  }
  // Watching again after everything settled answers at once, and an unknown send still rejects.
  assert.equal((await dispatcher.settled(sends[0]!.id)).state, 'done');
  await assert.rejects(dispatcher.settled(randomUUID()), /no send/);
});

test('settled() waiting while the dispatcher closes rejects with closed', { skip }, async (t) => {
  const prefix = `close${randomUUID().slice(0, 8)}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix });
  t.after(() => dispatcher.close(0));
  const send = spec(devices(2, 999));
  await dispatcher.submit(send);
  const settling = dispatcher.settled(send.id);
  await sleep(200);
  await dispatcher.close(0);
  await assert.rejects(settling, (error: { code?: string }) => error.code === 'closed');
});

test('pushline worker --metrics-port: GET /metrics counts what this worker sent, by app and provider', {
  skip,
}, async (t) => {
  const N = 230;
  const prefix = `wm${randomUUID().slice(0, 8)}`;
  const config = workerConfig(emulator, join(dir, 'worker'), 100, prefix);
  const worker = await startWorkerProcess(redis.url, config, ['--metrics-port', '0']);
  t.after(async () => {
    await worker.stop();
  });
  const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(worker.log)?.[1];
  assert.ok(url, `the worker says where its metrics are:\n${worker.log}`);
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix, chunkSize: 100 });
  t.after(() => dispatcher.close(0));

  const before = await fetch(url);
  assert.equal(before.status, 200);
  assert.match(before.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const idle = await before.text();
  assert.match(idle, /^pushline_devices_in_flight 0$/m);
  assert.match(idle, /^process_cpu_user_seconds_total /m, "Node's process metrics");
  assert.doesNotMatch(idle, /^gorush_/m);

  const send = spec(devices(N, 7));
  await dispatcher.submit(send);
  const final = await dispatcher.settled(send.id);
  assert.equal(final.counts.sent, N);
  const text = await (await fetch(url)).text();
  const sent =
    /^pushline_pushes_total\{app="default",provider="apns",platform="ios",status="sent"\} (\d+)$/m.exec(text);
  assert.ok(sent, text);
  assert.equal(Number(sent[1]), N);
  assert.match(text, /^pushline_worker_chunks_total 3$/m);
  assert.equal((await fetch(url.replace('/metrics', '/nope'))).status, 404);

  const stopped = await worker.stop();
  assert.equal(stopped.code, 0, worker.log);
  await assert.rejects(fetch(url), 'the metrics server is closed with the worker');
});

test('pushline worker: redis.metricsPort in the config serves the metrics too', { skip }, async (t) => {
  const file = workerConfig(emulator, join(dir, 'config-port'), 100, `cp${randomUUID().slice(0, 8)}`);
  const config = JSON.parse(readFileSync(file, 'utf8')) as { redis: Record<string, unknown> };
  config.redis.metricsPort = 0;
  writeFileSync(file, JSON.stringify(config));
  const worker = await startWorkerProcess(redis.url, file);
  t.after(async () => {
    await worker.stop();
  });
  const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(worker.log)?.[1];
  assert.ok(url, worker.log);
  assert.match(await (await fetch(url)).text(), /^pushline_devices_in_flight 0$/m);
});

test('pushline worker: --metrics-port out of range, or --metrics-host alone, exit 64', async () => {
  const { runCli } = await import('../cli/support.js');
  const bad = await runCli(['worker', '--redis', 'redis://127.0.0.1:1', '--metrics-port', '70000']);
  assert.equal(bad.code, 64, bad.stderr);
  assert.match(bad.stderr, /--metrics-port must be a whole number from 0 to 65535/);
  const alone = await runCli(['worker', '--redis', 'redis://127.0.0.1:1', '--metrics-host', '0.0.0.0']);
  assert.equal(alone.code, 64, alone.stderr);
  assert.match(alone.stderr, /--metrics-host needs --metrics-port/);
});

test("a worker's metrics: devices in flight while its provider is slow, 0 after; chunks processed", {
  skip,
}, async (t) => {
  const slow = await startEmulator({ apns: { record: false, scenarios: { latencyMs: 400 } } });
  const slowClient = new PushClient({ providers: [apns(slow.apns.providerOptions)] });
  const server = await startWorkerMetrics({ port: 0 });
  const prefix = `inflight${randomUUID().slice(0, 8)}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix, chunkSize: 100 });
  const worker = startWorker({
    redis: redis.url,
    prefix,
    clients: () => slowClient,
    observers: [server.metrics],
  });
  server.attach(worker);
  t.after(async () => {
    await worker.close(1000);
    await dispatcher.close(0);
    await server.close();
    await slowClient.destroy();
    await slow.close();
  });
  const inFlight = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^pushline_devices_in_flight (\d+)$/m.exec(text)?.[1]);
  };
  const send = spec(devices(150, 42));
  await dispatcher.submit(send);
  let most = 0;
  for (let i = 0; i < 100 && most === 0; i++) {
    most = Math.max(most, await inFlight());
    if (most === 0) await sleep(50);
  }
  assert.ok(most > 0 && most <= 150, `devices in flight seen: ${most}`);
  assert.equal((await dispatcher.settled(send.id)).counts.sent, 150);
  assert.equal(await inFlight(), 0);
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(text, /^pushline_worker_chunks_total 2$/m);
  assert.match(
    text,
    /^pushline_pushes_total\{app="default",provider="apns",platform="ios",status="sent"\} 150$/m,
  );
});

/**
 * The BullMQ dispatcher and worker in one process, against a private redis-server and the
 * APNs emulator: chunking, counts, feedback, re-runs skipping recorded devices, abort, Redis
 * down → `unavailable`, and an idle period followed by new work.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { PushClient } from '../../src/client.js';
import type { Device } from '../../src/device.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { PushError } from '../../src/errors.js';
import { apns } from '../../src/providers/apns/index.js';
import { BullMQDispatcher } from '../../src/queue/bullmq.js';
import type { FeedbackObserver, FeedbackRecord, SendSpec } from '../../src/queue/dispatch.js';
import { deviceField, sendKeys } from '../../src/queue/redis-keys.js';
import { type PushlineWorker, startWorker } from '../../src/queue/worker.js';
import { type RedisServer, redisUnavailable, startRedis } from './redis-server.js';

const skip = redisUnavailable();

const token = (i: number, salt = 0) => (salt * 1e9 + i).toString(16).padStart(64, 'a');
const devices = (n: number, salt = 0): Device[] =>
  Array.from({ length: n }, (_, i) => ({ platform: 'ios', token: token(i, salt), id: i }));

function spec(input: SendSpec['devices'], extra: Partial<SendSpec> = {}): SendSpec {
  return {
    id: randomUUID(),
    app: 'default',
    notification: { title: 'Hello', body: 'from the queue' },
    devices: input,
    createdAt: new Date().toISOString(),
    ...extra,
  };
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

let redis: RedisServer;
let emulator: Emulator;
let client: PushClient;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  emulator = await startEmulator({ fcm: false, webpush: false });
  client = new PushClient({ providers: [apns(emulator.apns.providerOptions)] });
});

after(async () => {
  if (skip) return;
  await client?.destroy();
  await emulator?.close();
  await redis?.close();
});

function setup(
  t: import('node:test').TestContext,
  workerOptions: { concurrency?: number; observers?: FeedbackObserver[] } = {},
) {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix, chunkSize: 100 });
  let worker: PushlineWorker | undefined;
  const start = () => {
    worker = startWorker({ redis: redis.url, prefix, clients: () => client, ...workerOptions });
    return worker;
  };
  t.after(async () => {
    await worker?.close(1000);
    await dispatcher.close(0);
  });
  return { prefix, dispatcher, start };
}

test('an inline send is split into chunks; every device gets exactly one feedback', { skip }, async (t) => {
  const observed: unknown[] = [];
  const { dispatcher, start } = setup(t, {
    observers: [{ observe: (_send, feedback) => void observed.push(feedback.device.id) }],
  });
  start();
  const send = spec({ kind: 'inline', devices: devices(1050) });
  const accepted = await dispatcher.submit(send);
  assert.equal(accepted.accepted, 1050);
  const final = await dispatcher.settled(send.id);
  assert.equal(final.state, 'done');
  assert.equal(final.counts.total, 1050);
  assert.equal(final.counts.sent, 1050);
  assert.equal(final.counts.providers.apns?.sent, 1050);
  const feedback = await collect(dispatcher.feedback(send.id, { follow: false }));
  assert.equal(feedback.length, 1050);
  assert.equal(new Set(feedback.map((record) => record.device.id)).size, 1050);
  assert.ok(feedback.every((record) => record.status === 'sent' && record.provider === 'apns'));
  assert.equal(observed.length, 1050, 'the observers see each recorded feedback once');
  assert.equal(new Set(observed).size, 1050);
});

test('a streamed send is enqueued as it is read and followed live', { skip }, async (t) => {
  const { dispatcher, start } = setup(t);
  start();
  let following: Promise<FeedbackRecord[]> | undefined;
  async function* stream() {
    for (const device of devices(730, 1)) {
      // The send exists once its devices are read: follow its feedback from then on.
      following ??= collect(dispatcher.feedback(send.id));
      yield device;
    }
  }
  const send = spec({ kind: 'stream', devices: stream() });
  const accepted = await dispatcher.submit(send);
  assert.equal(accepted.accepted, 730);
  const records: FeedbackRecord[] = await following!;
  assert.equal(records.length, 730);
  const final = await dispatcher.settled(send.id);
  assert.equal(final.counts.sent, 730);
});

test('a re-run chunk skips recorded devices and flags the ones that were in flight', { skip }, async (t) => {
  const { dispatcher, prefix, start } = setup(t);
  const send = spec({ kind: 'inline', devices: devices(10, 2) });
  // Before any worker runs: pretend an earlier run recorded device 0 and had 1 and 2 in flight.
  const direct = new Redis(redis.url);
  t.after(() => direct.disconnect());
  await dispatcher.submit(send);
  const keys = sendKeys(prefix, send.id);
  await direct.hset(keys.out, deviceField(0, 0), 'd', deviceField(0, 1), 'f', deviceField(0, 2), 'f');
  start();
  const final = await dispatcher.settled(send.id);
  assert.equal(final.counts.total, 9, 'device 0 had an outcome: not sent again');
  assert.equal(final.counts.maybeDuplicates, 2);
  const feedback = await collect(dispatcher.feedback(send.id, { follow: false }));
  const flagged = feedback.filter((record) => record.maybeDuplicate).map((record) => record.device.id);
  assert.deepEqual(flagged.sort(), [1, 2]);
  assert.equal(emulator.apns.attempts(token(0, 2)), 0);
});

test('abort: devices not sent get an aborted feedback, the send ends aborted', { skip }, async (t) => {
  const { dispatcher, start } = setup(t);
  const send = spec({ kind: 'inline', devices: devices(300, 3) });
  await dispatcher.submit(send);
  assert.equal(await dispatcher.abort(send.id, 'changed my mind'), true);
  start();
  const final = await dispatcher.settled(send.id);
  assert.equal(final.state, 'aborted');
  assert.equal(final.counts.total, 300);
  assert.equal(final.counts.errors.aborted, 300);
  assert.equal(await dispatcher.abort(send.id), false, 'a finished send cannot be aborted');
});

test('an idle period followed by new work is processed', { skip }, async (t) => {
  const { dispatcher, start } = setup(t);
  start();
  const first = spec({ kind: 'inline', devices: devices(5, 4) });
  await dispatcher.submit(first);
  assert.equal((await dispatcher.settled(first.id)).counts.sent, 5);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const second = spec({ kind: 'inline', devices: devices(5, 5) });
  await dispatcher.submit(second);
  assert.equal((await dispatcher.settled(second.id)).counts.sent, 5);
});

test('status and feedback are served by another dispatcher on the same Redis', { skip }, async (t) => {
  const { dispatcher, prefix, start } = setup(t);
  start();
  const other = new BullMQDispatcher({ redis: redis.url, prefix });
  t.after(() => other.close(0));
  const send = spec({ kind: 'inline', devices: devices(20, 6) });
  await dispatcher.submit(send);
  const final = await other.settled(send.id);
  assert.equal(final.counts.sent, 20);
  assert.equal((await collect(other.feedback(send.id))).length, 20);
  assert.equal(await other.status('no-such-send'), undefined);
});

test('Redis down: submit and status reject with unavailable, healthy() is false', { skip }, async (t) => {
  const dispatcher = new BullMQDispatcher({ redis: 'redis://127.0.0.1:1', chunkSize: 10 });
  t.after(() => dispatcher.close(0));
  assert.equal(await dispatcher.healthy(), false);
  await assert.rejects(dispatcher.submit(spec({ kind: 'inline', devices: devices(3) })), (error: unknown) => {
    assert.ok(error instanceof PushError);
    assert.equal(error.code, 'unavailable');
    assert.match(error.message, /nothing was accepted/);
    return true;
  });
  await assert.rejects(dispatcher.status('x'), { code: 'unavailable' });
});

test('a source send: workers read key ranges themselves, one page at a time, every row once', {
  skip,
}, async (t) => {
  const { default: Database } = await import('better-sqlite3');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'pushline-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'devices.db');
  const db = new Database(file);
  db.exec('CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT, token TEXT, active INTEGER)');
  const insert = db.prepare('INSERT INTO devices VALUES (?, ?, ?, ?)');
  // Sparse keys (every third id), and rows the query filters out.
  for (let i = 0; i < 750; i++) insert.run(i * 3 + 1, 'ios', token(i, 7), i % 5 === 0 ? 0 : 1);
  db.close();
  const expected = 750 - 150;
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix });
  const { sqliteKeyRanges } = await import('../../src/queue/key-ranges.js');
  const reader = await sqliteKeyRanges(file);
  const worker = startWorker({
    redis: redis.url,
    prefix,
    clients: () => client,
    chunkSize: 100,
    sources: (name) => (name === 'main' ? reader : undefined),
  });
  t.after(async () => {
    await worker.close(1000);
    await dispatcher.close(0);
  });
  const send = spec({
    kind: 'source',
    database: 'main',
    query: 'SELECT id, platform, token FROM devices WHERE active = 1',
    keyColumn: 'id',
  });
  await dispatcher.submit(send);
  const final = await dispatcher.settled(send.id);
  assert.equal(final.state, 'done');
  assert.equal(final.accepted, expected);
  assert.equal(final.counts.sent, expected);
  const ids = (await collect(dispatcher.feedback(send.id))).map((record) => record.device.id as number);
  assert.equal(new Set(ids).size, expected);
  assert.ok(ids.every((id) => (id - 1) % 3 === 0 && ((id - 1) / 3) % 5 !== 0));
});

test('rate limits hold across workers: a shared token bucket per app and provider', { skip }, async (t) => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix, chunkSize: 10 });
  const rateLimits = { default: { apns: 20 } };
  const workers = [1, 2].map(() =>
    startWorker({ redis: redis.url, prefix, clients: () => client, concurrency: 2, rateLimits }),
  );
  t.after(async () => {
    for (const worker of workers) await worker.close(1000);
    await dispatcher.close(0);
  });
  const send = spec({ kind: 'inline', devices: devices(100, 8) });
  const started = Date.now();
  await dispatcher.submit(send);
  const final = await dispatcher.settled(send.id);
  const elapsed = Date.now() - started;
  assert.equal(final.counts.sent, 100);
  // 20/s with a burst of one second's worth: 100 pushes take at least 4 s whatever the worker count
  // (a lower bound only: a slow machine makes it longer, never shorter; unlimited, they take < 1 s).
  assert.ok(elapsed >= 3800, `100 pushes at 20/s took only ${elapsed} ms`);
});

test("start-up check: warns unless Redis's maxmemory-policy is noeviction", { skip }, async (t) => {
  const lru = await startRedis(['--maxmemory-policy', 'allkeys-lru']);
  t.after(() => lru.close());
  const logged: string[] = [];
  const dispatcher = new BullMQDispatcher({ redis: lru.url, log: (line) => logged.push(line) });
  t.after(() => dispatcher.close(0));
  const warnings = await dispatcher.check();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /maxmemory-policy is 'allkeys-lru'.*noeviction/);
  assert.deepEqual(logged, warnings);
  const fine = new BullMQDispatcher({ redis: redis.url, log: (line) => logged.push(line) });
  t.after(() => fine.close(0));
  assert.deepEqual(await fine.check(), []);
});

test('a stream that fails midway: submit rejects, the send is failed, its enqueued chunks are aborted unsent', {
  skip,
}, async (t) => {
  const { dispatcher, start } = setup(t);
  async function* broken(): AsyncGenerator<Device> {
    yield* devices(250, 9);
    throw new Error('the request body was cut short');
  }
  const send = spec({ kind: 'stream', devices: broken() });
  await assert.rejects(dispatcher.submit(send), (error: unknown) => {
    assert.ok(error instanceof PushError);
    assert.equal(error.code, 'bad-request');
    assert.match(
      error.message,
      /cut short.*200 devices were enqueued before it failed and may have been sent/,
    );
    return true;
  });
  // The workers start only now: the enqueued chunks are recorded as aborted, never sent.
  start();
  const final = await dispatcher.settled(send.id);
  assert.equal(final.state, 'failed');
  assert.equal(final.counts.errors.aborted, 200);
  assert.equal(final.counts.sent, 0);
  assert.match(final.error?.message ?? '', /could not be fully accepted/);
  for (let i = 0; i < 250; i++) assert.equal(emulator.apns.attempts(token(i, 9)), 0);
});

test('concurrency limits hold across workers: permits leased in Redis per app and provider', {
  skip,
}, async (t) => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix, chunkSize: 10 });
  const concurrencyLimits = { default: { apns: 4 } };
  emulator.apns.setScenarios({ latencyMs: 100 });
  const workers = [1, 2].map(() =>
    startWorker({ redis: redis.url, prefix, clients: () => client, concurrency: 2, concurrencyLimits }),
  );
  t.after(async () => {
    emulator.apns.setScenarios({ latencyMs: undefined });
    for (const worker of workers) await worker.close(1000);
    await dispatcher.close(0);
  });
  const send = spec({ kind: 'inline', devices: devices(40, 10) });
  await dispatcher.submit(send);
  const final = await dispatcher.settled(send.id);
  assert.equal(final.counts.sent, 40);
  // The emulator answers each request 100 ms after taking it. Were 5 ever in flight at once, two
  // answers 4 apart would come less than 100 ms apart; with at most 4, never.
  const ours = new Set(devices(40, 10).map((device) => device.token));
  const answered = emulator.apns.notifications
    .filter((notification) => ours.has(notification.token))
    .map((notification) => notification.receivedAt)
    .sort((a, b) => a - b);
  assert.equal(answered.length, 40);
  const gaps = answered.slice(4).map((at, i) => at - answered[i]!);
  assert.ok(
    Math.min(...gaps) >= 95,
    `5 devices in flight at once: answers 4 apart only ${Math.min(...gaps)} ms apart`,
  );
});

test('a source send naming a database no worker has fails, it does not hang', { skip }, async (t) => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix });
  const worker = startWorker({ redis: redis.url, prefix, clients: () => client, log: () => undefined });
  t.after(async () => {
    await worker.close(1000);
    await dispatcher.close(0);
  });
  const send = spec({ kind: 'source', database: 'nowhere', query: 'SELECT 1', keyColumn: 'id' });
  await dispatcher.submit(send);
  const final = await dispatcher.settled(send.id);
  assert.equal(final.state, 'failed');
  assert.match(final.error?.message ?? '', /no worker has a database named 'nowhere'/);
});

test('an Idempotency-Key already used answers with the first send, reads and sends nothing', {
  skip,
}, async (t) => {
  const { dispatcher, prefix, start } = setup(t);
  start();
  const other = new BullMQDispatcher({ redis: redis.url, prefix });
  t.after(() => other.close(0));
  const first = {
    ...spec({ kind: 'inline', devices: devices(5, 11) }),
    idempotencyKey: 'k1',
    submittedBy: 'key-a',
  };
  const accepted = await dispatcher.submit(first);
  let read = 0;
  async function* again(): AsyncGenerator<Device> {
    for (const device of devices(5, 12)) {
      read++;
      yield device;
    }
  }
  // Another serve instance, the same key and submitter: the first send, nothing read.
  const repeat = await other.submit({
    ...spec({ kind: 'stream', devices: again() }),
    idempotencyKey: 'k1',
    submittedBy: 'key-a',
  });
  assert.equal(repeat.id, accepted.id);
  assert.equal(read, 0);
  // The same key from another submitter is another send.
  const third = await other.submit({
    ...spec({ kind: 'inline', devices: devices(2, 13) }),
    idempotencyKey: 'k1',
    submittedBy: 'key-b',
  });
  assert.notEqual(third.id, accepted.id);
  assert.equal((await dispatcher.settled(accepted.id)).counts.sent, 5);
  assert.equal((await dispatcher.settled(third.id)).counts.sent, 2);
  await assert.rejects(collect(dispatcher.feedback('no-such-send')), /no send 'no-such-send'/);
});

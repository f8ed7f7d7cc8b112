/**
 * Issue #15, point 6: real `pushline worker` processes against the emulators and a private
 * redis-server. One worker is SIGKILLed mid-send, Redis is restarted mid-send; then every
 * device has exactly one final feedback, the deliveries counted at the APNs emulator match,
 * and the devices delivered twice are no more than the killed worker's in-flight limit and
 * every one of them is flagged `maybeDuplicate`.
 *
 * Size: the kill test sends the 200,000 devices (about 90 s on a shared 2-core
 * machine); the Redis-restart and SIGTERM tests 20,000. PUSHLINE_QUEUE_TEST_DEVICES overrides both.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Device } from '../../src/device.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { BullMQDispatcher } from '../../src/queue/bullmq.js';
import type { FeedbackRecord, SendStatus } from '../../src/queue/dispatch.js';
import { type RedisServer, redisUnavailable, startRedis } from './redis-server.js';
import { startWorkerProcess, type WorkerProcess, workerConfig } from './workers.js';

const skip = redisUnavailable();
const SIZE = process.env.PUSHLINE_QUEUE_TEST_DEVICES;
const KILL_DEVICES = Number(SIZE ?? 200_000);
const DEVICES = Number(SIZE ?? 20_000);
const WINDOW = 100;
const CONCURRENCY = 2;
/** What one worker may have handed to a provider without its outcome recorded (see worker.ts). */
const IN_FLIGHT_LIMIT = CONCURRENCY * (WINDOW + 100 + 100 * 4);

const token = (salt: number, i: number) => `${salt.toString(16)}f${i.toString(16)}`.padStart(64, '0');

let redis: RedisServer;
let emulator: Emulator;
let dir: string;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  emulator = await startEmulator({ apns: { record: false } });
  dir = mkdtempSync(join(tmpdir(), 'pushline-queue-'));
});

after(async () => {
  if (skip) return;
  await emulator?.close();
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** status() that rides out a Redis restart. */
async function statusOf(dispatcher: BullMQDispatcher, id: string): Promise<SendStatus | undefined> {
  for (;;) {
    try {
      return await dispatcher.status(id);
    } catch (error) {
      if ((error as { code?: string }).code !== 'unavailable') throw error;
      await sleep(200);
    }
  }
}

async function until(dispatcher: BullMQDispatcher, id: string, done: (status: SendStatus) => boolean) {
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    const status = await statusOf(dispatcher, id);
    if (status && done(status)) return status;
    assert.ok(Date.now() < deadline, `the send did not get there: ${JSON.stringify(status)}`);
    await sleep(250);
  }
}

/** Sends `count` iOS devices through `workers`; `disrupt` runs once a quarter is done. */
async function crashRun(salt: number, limit: number, disrupt: () => Promise<void>, count = DEVICES) {
  const prefix = `crash${salt}`;
  const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix });
  try {
    const id = randomUUID();
    async function* devices(): AsyncGenerator<Device> {
      for (let i = 0; i < count; i++) yield { platform: 'ios', token: token(salt, i), id: i };
    }
    const accepted = await dispatcher.submit({
      id,
      app: 'default',
      notification: { title: 'crash test' },
      devices: { kind: 'stream', devices: devices() },
      createdAt: new Date().toISOString(),
    });
    assert.equal(accepted.accepted, count);
    await until(dispatcher, id, (status) => status.counts.total >= count / 4);
    await disrupt();
    const final = await until(
      dispatcher,
      id,
      (status) => status.state !== 'queued' && status.state !== 'running',
    );
    assert.equal(final.state, 'done');
    assert.equal(final.counts.total, count);
    assert.equal(final.counts.sent, count);

    const seen = new Map<number, FeedbackRecord>();
    for await (const record of dispatcher.feedback(id, { follow: false })) {
      const deviceId = record.device.id as number;
      assert.ok(!seen.has(deviceId), `device ${deviceId} has two feedbacks`);
      seen.set(deviceId, record);
    }
    assert.equal(seen.size, count, 'every device has exactly one final feedback');

    let duplicates = 0;
    let attempts = 0;
    for (let i = 0; i < count; i++) {
      const requests = emulator.apns.attempts(token(salt, i));
      attempts += requests;
      assert.ok(requests >= 1, `device ${i} never reached the emulator`);
      if (requests > 1) {
        duplicates++;
        assert.equal(
          seen.get(i)?.maybeDuplicate,
          true,
          `device ${i} was delivered ${requests} times, unflagged`,
        );
      }
    }
    const flagged = [...seen.values()].filter((record) => record.maybeDuplicate).length;
    assert.equal(final.counts.maybeDuplicates, flagged);
    assert.ok(duplicates <= limit, `${duplicates} duplicates > in-flight limit ${limit}`);
    assert.ok(flagged <= limit, `${flagged} flagged > in-flight limit ${limit}`);
    process.stderr.write(
      `# ${count} devices: ${attempts} requests at the emulator, ${duplicates} delivered twice, ${flagged} flagged maybeDuplicate (limit ${limit})\n`,
    );
    return { duplicates, flagged };
  } finally {
    await dispatcher.close(0);
  }
}

test('3 workers, one SIGKILLed mid-send: one feedback per device, duplicates bounded and flagged', {
  skip,
  timeout: 30 * 60_000,
}, async (t) => {
  const config = workerConfig(emulator, join(dir, 'kill'), WINDOW, 'crash1');
  const flags = ['--concurrency', String(CONCURRENCY), '--takeover-after', '3000'];
  const workers: WorkerProcess[] = [];
  t.after(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
  });
  for (let i = 0; i < 3; i++) workers.push(await startWorkerProcess(redis.url, config, flags));
  await crashRun(
    1,
    IN_FLIGHT_LIMIT,
    async () => {
      const killed = await workers[0]!.stop('SIGKILL');
      assert.equal(killed.signal, 'SIGKILL');
    },
    KILL_DEVICES,
  );
  // The survivors stop gracefully: exit 0.
  for (const worker of workers.slice(1)) assert.equal((await worker.stop('SIGTERM')).code, 0, worker.log);
});

test('Redis restarted mid-send: the workers pause, resume, and every device has one feedback', {
  skip,
  timeout: 30 * 60_000,
}, async (t) => {
  const config = workerConfig(emulator, join(dir, 'restart'), WINDOW, 'crash2');
  const flags = ['--concurrency', String(CONCURRENCY), '--takeover-after', '3000'];
  const workers: WorkerProcess[] = [];
  t.after(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
  });
  for (let i = 0; i < 3; i++) workers.push(await startWorkerProcess(redis.url, config, flags));
  // Every worker may lose what it had in flight when Redis goes.
  await crashRun(2, 3 * IN_FLIGHT_LIMIT, async () => {
    await redis.kill();
    await sleep(1500);
    await redis.restart();
  });
  for (const worker of workers) assert.equal((await worker.stop('SIGTERM')).code, 0, worker.log);
});

test('a worker stopped with SIGTERM mid-send finishes what it handed over and hands the rest back: nothing sent twice', {
  skip,
  timeout: 30 * 60_000,
}, async (t) => {
  const config = workerConfig(emulator, join(dir, 'term'), WINDOW, 'crash3');
  const flags = ['--concurrency', String(CONCURRENCY), '--takeover-after', '3000', '--grace-period', '30000'];
  const workers: WorkerProcess[] = [];
  t.after(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
  });
  for (let i = 0; i < 3; i++) workers.push(await startWorkerProcess(redis.url, config, flags));
  const { duplicates } = await crashRun(3, IN_FLIGHT_LIMIT, async () => {
    const stopped = await workers[0]!.stop('SIGTERM');
    assert.equal(stopped.code, 0, workers[0]!.log);
    assert.match(workers[0]!.log, /handing the rest back/);
  });
  assert.equal(duplicates, 0, 'a graceful stop sends nothing twice');
  for (const worker of workers.slice(1)) assert.equal((await worker.stop('SIGTERM')).code, 0, worker.log);
});

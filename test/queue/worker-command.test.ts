/**
 * `pushline worker`'s command line: what it refuses before touching Redis, and a URL password
 * that never reaches its output.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { runCli, startCli } from '../cli/support.js';
import { type RedisServer, redisUnavailable, startRedis } from './redis-server.js';
import { workerConfig } from './workers.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-worker-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('without a Redis URL anywhere: exit 64, saying where to give one', async () => {
  const config = join(dir, 'no-redis.json');
  writeFileSync(config, JSON.stringify({ providers: {} }));
  const run = await runCli(['worker', '--config', config]);
  assert.equal(run.code, 64, run.stderr);
  assert.match(run.stderr, /no Redis to take work from: give --redis .*PUSHLINE_REDIS_URL.*redis\.url/);
});

test('without any provider: exit 78 naming the sections', async () => {
  const run = await runCli(['worker', '--redis', 'redis://127.0.0.1:1']);
  assert.equal(run.code, 78, run.stderr);
  assert.match(run.stderr, /no app has a provider/);
});

test('a bad flag value: exit 64', async () => {
  const run = await runCli(['worker', '--redis', 'redis://127.0.0.1:1', '--concurrency', '0']);
  assert.equal(run.code, 64, run.stderr);
  assert.match(run.stderr, /--concurrency must be a whole number from 1 to 64, got '0'/);
});

const skip = redisUnavailable();
let redis: RedisServer | undefined;
let emulator: Emulator | undefined;
after(async () => {
  await emulator?.close();
  await redis?.close();
});

test('PUSHLINE_REDIS_URL with a password: used, never printed; SIGTERM exits 0', { skip }, async () => {
  redis = await startRedis(['--requirepass', 'hunter2-secret']);
  emulator = await startEmulator();
  const config = workerConfig(emulator, join(dir, 'emu'), 100, 'cli');
  const url = `redis://:hunter2-secret@127.0.0.1:${redis.port}`;
  const worker = startCli(['worker', '--config', config], { env: { PUSHLINE_REDIS_URL: url } });
  for (let i = 0; i < 400 && !worker.stderr().includes('started:'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.match(worker.stderr(), /started: redis:\/\/:\*\*\*@127\.0\.0\.1/);
  worker.child.kill('SIGTERM');
  const run = await worker.done;
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /stopped after 0 chunks/);
  assert.doesNotMatch(run.stderr + run.stdout, /hunter2/);
});

test('Redis gone when SIGTERM comes: the worker still exits 0, saying it left without Redis', {
  skip,
}, async (t) => {
  const gone = await startRedis();
  t.after(() => gone.close());
  emulator ??= await startEmulator();
  const config = workerConfig(emulator, join(dir, 'gone'), 100, 'gone');
  // The timeout only guards against a hang (the bug: BullMQ's close waiting forever).
  const worker = startCli(['worker', '--config', config, '--redis', gone.url, '--grace-period', '0'], {
    timeoutMs: 25_000,
  });
  for (let i = 0; i < 400 && !worker.stderr().includes('started:'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000)); // connected, waiting for jobs
  await gone.kill();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  worker.child.kill('SIGTERM');
  const run = await worker.done;
  assert.equal(run.signal, null, `killed by the test's guard: it hung\n${run.stderr}`);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /Redis did not answer within 5000 ms of the stop: leaving without it/);
});

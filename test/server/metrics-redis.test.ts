/**
 * `pushline serve --redis`'s `/metrics` as a real process: the queue's depth (chunk jobs) while
 * no worker runs and once one drained them, and sends settled (fed by the dispatcher's shared
 * settle poller). Skipped loudly without Debian's redis-server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { hashApiKey } from '../../src/server/auth.js';
import { type RedisServer, redisUnavailable, startRedis } from '../queue/redis-server.js';
import { startWorkerProcess, type WorkerProcess, workerConfig } from '../queue/workers.js';
import { call, type ServeProcess, startServe } from './process-support.js';

const skip = redisUnavailable();
const KEY = `pl_${randomBytes(32).toString('base64url')}`;
const dir = mkdtempSync(join(tmpdir(), 'pushline-metrics-redis-'));
let redis: RedisServer | undefined;
let emulator: Emulator | undefined;
let server: ServeProcess | undefined;
let worker: WorkerProcess | undefined;
after(async () => {
  await server?.kill();
  if (worker && worker.child.exitCode === null) await worker.stop('SIGKILL');
  await emulator?.close();
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function metric(url: string, line: RegExp): Promise<number | undefined> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(response.status, 200);
  const found = line.exec(await response.text());
  return found === null ? undefined : Number(found[1]);
}

test('serve --redis /metrics: queue depth in chunk jobs, 0 once drained; sends settled', {
  skip,
}, async () => {
  redis = await startRedis();
  emulator = await startEmulator({ apns: { record: false } });
  const file = workerConfig(emulator, join(dir, 'emu'), 50, 'mr');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
  config['redis']!['chunkSize'] = 10;
  config['apiKeys'] = { ci: { hash: hashApiKey(KEY), apps: ['*'], permissions: ['send', 'read'] } };
  writeFileSync(file, JSON.stringify(config));
  server = await startServe(['--config', file, '--redis', redis.url]);

  const devices = Array.from({ length: 25 }, (_, id) => ({
    platform: 'ios',
    token: randomBytes(32).toString('hex'),
    id,
  }));
  const created = await call(server.url, KEY, 'POST', '/v1/sends', {
    notification: { title: 'Hi' },
    devices,
  });
  assert.equal(created.status, 202, JSON.stringify(created.json));
  const depth = /^pushline_queue_depth\{queue="chunks"\} (\d+)$/m;
  assert.equal(await metric(server.url, depth), 3, '3 chunks of ≤ 10 devices, no worker yet');

  worker = await startWorkerProcess(redis.url, file);
  const done = /^pushline_sends_settled_total\{app="default",state="done"\} (\d+)$/m;
  let settled: number | undefined;
  let left: number | undefined;
  for (let i = 0; i < 300 && (settled !== 1 || left !== 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    settled = await metric(server.url, done);
    left = await metric(server.url, depth);
  }
  assert.equal(settled, 1, 'the send settled, seen by the poller');
  assert.equal(left, 0, 'the queue drained');
  assert.equal((await worker.stop()).code, 0, worker.log);
});

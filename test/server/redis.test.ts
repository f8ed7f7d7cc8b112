/**
 * `pushline serve --redis` as real processes: two servers behind one Redis and one `pushline
 * worker` — a send accepted by one is read (status, feedback) from the other, gorush's sync
 * mode works on the queue, and `/healthz` says 503 while Redis is down. Then a server that
 * runs its own worker (`--workers 1`) sends alone and stops cleanly on SIGTERM. Skipped loudly
 * without Debian's redis-server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { hashApiKey } from '../../src/server/auth.js';
import { verifyWebhookSignature } from '../../src/stores/index.js';
import { type RedisServer, redisUnavailable, startRedis } from '../queue/redis-server.js';
import { startWorkerProcess, type WorkerProcess, workerConfig } from '../queue/workers.js';
import { call, type ServeProcess, settled, startServe } from './process-support.js';

const skip = redisUnavailable();
const KEY = `pl_${randomBytes(32).toString('base64url')}`;
const iosToken = () => randomBytes(32).toString('hex');

async function feedback(url: string, id: string): Promise<Array<Record<string, unknown>>> {
  const response = await fetch(`${url}/v1/sends/${id}/feedback`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  assert.equal(response.status, 200);
  return (await response.text())
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('pushline serve --redis, real processes', { skip, timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-serve-redis-'));
  let redis: RedisServer | undefined;
  let emulator: Emulator | undefined;
  const servers: ServeProcess[] = [];
  let worker: WorkerProcess | undefined;
  after(async () => {
    await Promise.all(servers.map((server) => server.kill()));
    if (worker && worker.child.exitCode === null) await worker.stop('SIGKILL');
    await emulator?.close();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The emulators' config (the top-level providers: the app `default`) with a key. */
  function config(prefix: string): string {
    const file = workerConfig(emulator!, join(dir, prefix), 50, prefix);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    parsed['apiKeys'] = { ci: { hash: hashApiKey(KEY), apps: ['*'], permissions: ['send', 'read'] } };
    writeFileSync(file, JSON.stringify(parsed));
    return file;
  }

  test('two servers and a worker on one Redis: a send accepted by one is read from the other', async () => {
    redis = await startRedis();
    emulator = await startEmulator({ fcm: { unregisteredTokens: ['android-dead-token-0123456789'] } });
    const file = config('pair');
    const [a, b] = await Promise.all([
      startServe(['--config', file, '--redis', redis.url]),
      startServe(['--config', file, '--redis', redis.url]),
    ]);
    servers.push(a, b);
    worker = await startWorkerProcess(redis.url, file);

    const devices = [
      ...Array.from({ length: 40 }, (_, id) => ({ platform: 'ios', token: iosToken(), id })),
      { platform: 'android', token: 'android-dead-token-0123456789', id: 40 },
    ];
    const created = await call(a.url, KEY, 'POST', '/v1/sends', { notification: { title: 'Hi' }, devices });
    assert.equal(created.status, 202, JSON.stringify(created.json));
    const id = created.json['id'] as string;
    const status = await settled(b.url, KEY, id);
    assert.equal(status['state'], 'done');
    const counts = status['counts'] as { total: number; sent: number; invalidToken: number };
    assert.equal(counts.total, 41);
    assert.equal(counts.sent, 40);
    assert.equal(counts.invalidToken, 1);
    const lines = await feedback(b.url, id);
    assert.equal(lines.length, 41);
    assert.equal(new Set(lines.map((line) => (line['device'] as { id: number }).id)).size, 41);
    assert.equal(emulator.apns.notifications.length, 40);

    // gorush's sync mode on the queue: answered when the worker has sent, with its failures.
    const sync = await call(b.url, KEY, 'POST', '/api/push?sync=true', {
      notifications: [
        { tokens: [iosToken()], platform: 1, message: 'one' },
        { tokens: ['android-dead-token-0123456789'], platform: 2, message: 'two' },
      ],
    });
    assert.equal(sync.status, 200);
    assert.equal(sync.json['counts'], 2);
    const logs = sync.json['logs'] as Array<Record<string, string>>;
    assert.equal(logs.length, 1, JSON.stringify(logs));
    assert.equal(logs[0]!['error'], 'UNREGISTERED');

    // Redis down: /healthz answers 503 (a load balancer sends elsewhere); back up: 200.
    assert.equal((await fetch(`${a.url}/healthz`)).status, 200);
    await redis.kill();
    const down = await fetch(`${a.url}/healthz`);
    assert.equal(down.status, 503);
    assert.match(JSON.stringify(await down.json()), /Redis/);
    await redis.restart();
    let up = 0;
    for (let i = 0; i < 100 && up !== 200; i++) {
      up = (await fetch(`${a.url}/healthz`)).status;
      if (up !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(up, 200);

    await worker.stop('SIGTERM');
    for (const server of [a, b]) {
      server.child.kill('SIGTERM');
      const { code } = await server.exited;
      assert.equal(code, 0, server.stderr());
    }
  });

  test('--workers 1: the server sends on its own, and stops cleanly on SIGTERM', async () => {
    redis ??= await startRedis();
    emulator ??= await startEmulator();
    emulator.apns.reset();
    const file = config('alone');
    const server = await startServe(['--config', file, '--redis', redis.url, '--workers', '1']);
    servers.push(server);
    const devices = Array.from({ length: 30 }, (_, id) => ({ platform: 'ios', token: iosToken(), id }));
    const created = await call(server.url, KEY, 'POST', '/v1/sends', {
      notification: { title: 'Hi' },
      devices,
    });
    assert.equal(created.status, 202);
    const status = await settled(server.url, KEY, created.json['id'] as string);
    assert.equal(status['state'], 'done');
    assert.equal((status['counts'] as { sent: number }).sent, 30);
    assert.equal(emulator.apns.notifications.length, 30);
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    assert.equal(code, 0, server.stderr());
  });

  test('pushline worker applies the app’s webhook and reads a source send’s key ranges from its database', async (t) => {
    redis ??= await startRedis();
    const tokens = Array.from({ length: 30 }, iosToken);
    const dead = new Set(tokens.filter((_, i) => i % 5 === 0));
    const hookEmulator = await startEmulator({ apns: { scenarios: { badTokens: [...dead] } } });
    t.after(() => hookEmulator.close());
    const dbPath = join(dir, 'devices.db');
    const db = new Database(dbPath);
    db.exec('CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT, token TEXT)');
    const insert = db.prepare('INSERT INTO devices VALUES (?, ?, ?)');
    for (const [i, token] of tokens.entries()) insert.run(i + 1, 'ios', token);
    db.close();

    const received: Array<{ device: { token: string } }> = [];
    let unverified = 0;
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (!verifyWebhookSignature('hook-secret-0123456789', req.headers, body)) unverified++;
        received.push(...JSON.parse(body.toString('utf8')));
        res.writeHead(204).end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await new Promise((resolve) => receiver.once('listening', resolve));
    t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));

    const file = workerConfig(hookEmulator, join(dir, 'hook'), 50, 'hook');
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    parsed.apps = {
      main: {
        apns: parsed.providers.apns,
        webhook: {
          url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
          secret: 'hook-secret-0123456789',
          batchDelayMs: 50,
        },
      },
    };
    parsed.providers = {};
    parsed.databases = { devices: { url: `sqlite:${dbPath}` } };
    parsed.apiKeys = { ci: { hash: hashApiKey(KEY), apps: ['*'], permissions: ['send', 'read'] } };
    writeFileSync(file, JSON.stringify(parsed));

    const server = await startServe(['--config', file, '--redis', redis.url]);
    servers.push(server);
    const hookWorker = await startWorkerProcess(redis.url, file);
    t.after(async () => {
      await hookWorker.stop('SIGKILL');
    });
    const created = await call(server.url, KEY, 'POST', '/v1/sends', {
      app: 'main',
      notification: { title: 'From the database' },
      source: { database: 'devices', query: 'SELECT id, platform, token FROM devices', keyColumn: 'id' },
    });
    assert.equal(created.status, 202, JSON.stringify(created.json));
    const status = await settled(server.url, KEY, created.json['id'] as string);
    assert.equal(status['state'], 'done', JSON.stringify(status));
    const counts = status['counts'] as { total: number; invalidToken: number };
    assert.equal(counts.total, 30);
    assert.equal(counts.invalidToken, dead.size);
    const deadline = Date.now() + 30_000;
    while (received.length < dead.size && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(unverified, 0);
    assert.deepEqual(new Set(received.map((record) => record.device.token)), dead);
    assert.equal(received.length, dead.size);
    const stopped = await hookWorker.stop('SIGTERM');
    assert.equal(stopped.code, 0, hookWorker.log);
  });
});

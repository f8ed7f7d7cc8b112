/**
 * The feedback observers of the config on a spawned `pushline serve` (in-process queue): a
 * `source` send reads its devices from a SQLite database of `databases`, the app's `webhook`
 * receives its dead tokens in signed batches (a receiver here, failing the first POST; only
 * the statuses its config names), its `deadTokens` section deletes them from the same
 * database, and /metrics counts the send, the pushes, the retries, the webhook's tries, the
 * latencies, the queue and the devices in flight.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { startEmulator } from '../../src/emulator/index.js';
import { hashApiKey } from '../../src/server/auth.js';
import { verifyWebhookSignature } from '../../src/stores/index.js';
import { call, settled, startServe } from './process-support.js';

const KEY = `pl_${randomBytes(32).toString('base64url')}`;
const SECRET = 'webhook-secret-0123456789abcdef';
const DEVICES = 60;
const tokenOf = () => randomBytes(32).toString('hex');

test('a source send: dead tokens reach the signed webhook once and are deleted from the database; metrics count it all', {
  timeout: 300_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-serve-observers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));

  const tokens = Array.from({ length: DEVICES }, tokenOf);
  const dead = new Set(tokens.filter((_, i) => i % 6 === 0));
  const dbPath = join(dir, 'devices.db');
  const db = new Database(dbPath);
  t.after(() => db.close());
  db.exec('CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT, token TEXT)');
  const insert = db.prepare('INSERT INTO devices VALUES (?, ?, ?)');
  for (const [i, token] of tokens.entries()) insert.run(i + 1, 'ios', token);
  // A device the app has no provider for: `failed`, which this webhook's statuses leave out.
  insert.run(DEVICES + 1, 'android', 'no-fcm-in-this-app');

  // One live token is refused once (500), then accepted: a retry.
  const flaky = tokens[1]!;
  const emulator = await startEmulator({
    // Each answer takes 1.5 s: the send is still running when /metrics is first read.
    apns: { scenarios: { badTokens: [...dead], flaky: { tokens: [flaky], failures: 1 }, latencyMs: 1500 } },
  });
  t.after(() => emulator.close());

  // The webhook receiver: checks each signature, fails the first POST (the sink retries).
  const received: Array<{ device: { token: string }; status: string }> = [];
  let posts = 0;
  let unverified = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      posts++;
      if (posts === 1) {
        res.writeHead(500).end();
        return;
      }
      if (!verifyWebhookSignature(SECRET, req.headers, body)) unverified++;
      received.push(...(JSON.parse(body.toString('utf8')) as typeof received));
      res.writeHead(204).end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await new Promise((resolve) => receiver.once('listening', resolve));
  t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const files = writeEmulatorFiles(emulator, dir);
  const config = JSON.parse(readFileSync(files.configFile, 'utf8')) as {
    providers: Record<string, unknown>;
  } & Record<string, unknown>;
  config['apps'] = {
    main: {
      apns: config.providers['apns'],
      webhook: { url: hook, secret: SECRET, batchDelayMs: 50, attempts: 5, statuses: ['invalid-token'] },
      deadTokens: { database: 'devices', table: 'devices', keyColumn: 'id', mode: 'delete' },
    },
  };
  config['providers'] = {};
  config['databases'] = { devices: { url: `sqlite:${dbPath}` } };
  config['apiKeys'] = { ci: { hash: hashApiKey(KEY), apps: ['*'], permissions: ['send', 'read'] } };
  writeFileSync(files.configFile, JSON.stringify(config));

  const server = await startServe(['--config', files.configFile]);
  t.after(() => server.kill());

  const created = await call(server.url, KEY, 'POST', '/v1/sends', {
    app: 'main',
    notification: { title: 'From the database' },
    source: { database: 'devices', query: 'SELECT id, platform, token FROM devices' },
  });
  assert.equal(created.status, 202, JSON.stringify(created.json));
  const scrape = async () =>
    (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
  // While it runs, the devices in the push service's hands are in flight.
  const running = await scrape();
  assert.match(running, /^pushline_devices_in_flight [1-9]\d*$/m);
  const status = await settled(server.url, KEY, created.json['id'] as string);
  assert.equal(status['state'], 'done');
  const counts = status['counts'] as { total: number; sent: number; invalidToken: number; failed: number };
  assert.equal(counts.total, DEVICES + 1);
  assert.equal(counts.invalidToken, dead.size);
  assert.equal(counts.sent, DEVICES - dead.size);
  assert.equal(counts.failed, 1);

  // The dead-token sink: every dead row deleted, the live ones kept.
  const left = db.prepare('SELECT token FROM devices').all() as Array<{ token: string }>;
  assert.equal(left.length, DEVICES - dead.size + 1);
  assert.ok(left.every((row) => !dead.has(row.token)));

  // The webhook: each dead token once (after the 500, retried), every batch signed; not the
  // failed device (statuses: invalid-token only).
  const deadline = Date.now() + 30_000;
  while (received.length < dead.size && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(unverified, 0);
  assert.ok(posts >= 2, 'the first POST failed and was retried');
  assert.deepEqual(new Set(received.map((record) => record.device.token)), dead);
  assert.equal(received.length, dead.size, 'each once');
  assert.ok(received.every((record) => record.status === 'invalid-token'));

  const metrics = await scrape();
  assert.match(metrics, /^pushline_sends_submitted_total\{app="main"\} 1$/m);
  assert.match(metrics, /^pushline_sends_settled_total\{app="main",state="done"\} 1$/m);
  assert.match(
    metrics,
    new RegExp(
      `^pushline_pushes_total\\{app="main",provider="[a-z]+",platform="ios",status="sent"\\} ${DEVICES - dead.size}$`,
      'm',
    ),
  );
  assert.match(metrics, /^pushline_webhook_deliveries_total\{app="main",outcome="retry"\} 1$/m);
  // Point 7's list: retries, latency histograms (push services and this API), queue depth and
  // devices in flight (both back to 0 once the send is done).
  assert.match(metrics, /^pushline_push_retries_total\{app="main",provider="[a-z]+"\} 1$/m);
  assert.match(metrics, /^pushline_provider_request_duration_seconds_count\{provider="[^"]+"\} [1-9]\d*$/m);
  assert.match(
    metrics,
    /^pushline_provider_request_duration_seconds_bucket\{provider="[^"]+",le="\+Inf"\} [1-9]\d*$/m,
  );
  assert.match(
    metrics,
    /^pushline_http_request_duration_seconds_count\{method="POST",route="\/v1\/sends"\} 1$/m,
  );
  assert.match(metrics, /^pushline_queue_depth\{queue="sends"\} 0$/m);
  assert.match(metrics, /^pushline_devices_in_flight 0$/m);

  server.child.kill('SIGTERM');
  const { code } = await server.exited;
  assert.equal(code, 0, server.stderr());
});

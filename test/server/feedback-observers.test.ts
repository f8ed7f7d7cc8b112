/**
 * The feedback observers together, as what runs a send calls them: a real PushClient send,
 * each final feedback handed to the app's webhook, its dead-token database and the metrics,
 * waiting when one asks to (backpressure). The receiver fails every third POST.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Device } from '../../src/device.js';
import { PushClient } from '../../src/index.js';
import type { FeedbackObserver, SendSpec } from '../../src/queue/dispatch.js';
import { forApp, sinkObserver } from '../../src/queue/sink-observer.js';
import { createMetrics } from '../../src/server/metrics.js';
import {
  sqliteFeedbackSink,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
  webhookSink,
} from '../../src/stores/index.js';
import { platformFor, TokenProvider } from '../stores/support.js';

const SECRET = 'integration-secret-0123456789';
const DEVICES = 2000;
const tokenOf = (i: number) => (i % 7 === 3 ? `dead-${i}` : i % 11 === 5 ? `bad-${i}` : `live-${i}`);

test('a send through PushClient: every dead token and failure reaches a flaky webhook once, the database and the metrics agree', {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-observers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'devices.db');
  const db = new Database(path);
  db.exec('CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT, token TEXT)');
  const insert = db.prepare('INSERT INTO devices VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < DEVICES; i++) insert.run(i, platformFor(i), tokenOf(i));
  })();
  db.close();

  // The receiver: every third request answered 500; records kept per batch id from 2xx answers.
  const deliveredBatches = new Map<
    string,
    Array<{ sendId: string; app: string; status: string; device: Device }>
  >();
  let requests = 0;
  let unverified = 0;
  // Counted here and asserted below: an assertion thrown in the handler would leave its POST unanswered.
  const twice: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (!verifyWebhookSignature(SECRET, req.headers, body)) unverified++;
    const fail = ++requests % 3 === 0;
    if (!fail) {
      const id = String(req.headers[WEBHOOK_HEADERS.id]);
      if (deliveredBatches.has(id)) twice.push(id);
      deliveredBatches.set(id, JSON.parse(body.toString('utf8')));
    }
    res.writeHead(fail ? 500 : 204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });

  const metrics = createMetrics({ processMetrics: false });
  t.after(() => metrics.close());
  const hookErrors: unknown[] = [];
  const hook = webhookSink({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    secret: SECRET,
    batchSize: 50,
    maxPending: 100,
    retry: { baseDelayMs: 1, maxDelayMs: 10 },
    onError: (error) => hookErrors.push(error),
    onDelivery: (event) => metrics.webhookDelivery('shop', event),
  });
  const dbErrors: unknown[] = [];
  const deadTokens = sinkObserver(
    () => sqliteFeedbackSink(path, { table: 'devices', keyColumn: 'id', mode: 'delete', batchSize: 40 }),
    { onError: (error) => dbErrors.push(error) },
  );
  const observers: FeedbackObserver[] = [forApp('shop', hook), forApp('shop', deadTokens), metrics];

  const spec: SendSpec = {
    id: 'send-42',
    app: 'shop',
    notification: { title: 'hi' },
    devices: { kind: 'inline', devices: [] },
    createdAt: new Date().toISOString(),
  };
  const client = new PushClient({ providers: [new TokenProvider()], window: 64 });
  t.after(() => client.close());
  const devices = Array.from({ length: DEVICES }, (_, i) => ({
    id: i,
    platform: platformFor(i),
    token: tokenOf(i),
  }));
  metrics.sendAccepted(spec);
  const delivery = client.send({ title: 'hi' }, devices);
  for await (const feedback of delivery) {
    const waits = observers.map((o) => o.observe(spec, feedback)).filter((r) => r instanceof Promise);
    if (waits.length > 0) await Promise.all(waits);
    assert.ok(hook.pending <= 100, 'the webhook holds at most maxPending records');
  }
  for (const observer of observers) await observer.flush?.();
  metrics.sendSettled({ app: 'shop', state: 'done' });
  for (const observer of observers) await observer.close?.();

  const summary = delivery.summary;
  const expected = devices.filter((d) => !d.token.startsWith('live-')).map((d) => d.token);
  const records = [...deliveredBatches.values()].flat();
  assert.equal(unverified, 0);
  assert.deepEqual(twice, [], 'no batch delivered twice');
  assert.deepEqual(hookErrors, []);
  assert.deepEqual(dbErrors, []);
  assert.ok(requests > deliveredBatches.size, 'some POSTs failed and were retried');
  assert.equal(records.length, expected.length, 'each record exactly once');
  assert.deepEqual(records.map((r) => r.device.token).sort(), expected.sort());
  assert.ok(records.every((r) => r.sendId === 'send-42' && r.app === 'shop'));
  assert.equal(records.filter((r) => r.status === 'invalid-token').length, summary.invalidToken);
  assert.equal(records.filter((r) => r.status === 'failed').length, summary.failed);

  const check = new Database(path, { readonly: true });
  const left = check.prepare("SELECT count(*) FROM devices WHERE token LIKE 'dead-%'").pluck().get();
  const rows = check.prepare('SELECT count(*) FROM devices').pluck().get();
  check.close();
  assert.equal(left, 0);
  assert.equal(rows, DEVICES - summary.invalidToken);

  const text = await metrics.metricsText();
  const sample = (line: string) =>
    Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  assert.equal(sample('gorush_total_push_count'), DEVICES);
  let success = 0;
  for (const platform of ['ios', 'android', 'huawei'] as const) {
    const ok = devices.filter((d) => d.platform === platform && d.token.startsWith('live-')).length;
    success += ok;
    const name = platform === 'ios' ? 'gorush_ios_success' : `gorush_${platform}_success`;
    assert.equal(sample(name), ok, name);
  }
  assert.equal(success, summary.sent);
  assert.equal(
    sample(
      'pushline_pushes_total{app="shop",provider="by-token",platform="ios",status="invalid-token",code="invalid-token"}',
    ),
    devices.filter((d) => d.platform === 'ios' && d.token.startsWith('dead-')).length,
  );
  assert.equal(sample('pushline_webhook_records_total{app="shop",outcome="delivered"}'), expected.length);
  assert.equal(sample('gorush_success_tasks'), 1);
});

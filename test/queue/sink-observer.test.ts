import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PushError } from '../../src/errors.js';
import type { Feedback, FeedbackStatus } from '../../src/feedback.js';
import type { FeedbackObserver, SendSpec } from '../../src/queue/dispatch.js';
import { forApp, sinkObserver } from '../../src/queue/sink-observer.js';
import { openFeedbackSink, StoreError, sqliteFeedbackSink } from '../../src/stores/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-sink-observer-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function makeDb(rows: number): string {
  const path = join(dir, `devices-${++counter}.db`);
  const db = new Database(path);
  db.exec('CREATE TABLE devices (id INTEGER PRIMARY KEY, token TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO devices (id, token) VALUES (?, ?)');
  for (let i = 0; i < rows; i++) insert.run(i, `tok-${i}`);
  db.close();
  return path;
}

const ids = (path: string): number[] => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT id FROM devices ORDER BY id').pluck().all() as number[];
  } finally {
    db.close();
  }
};

const send = (app = 'shop'): SendSpec => ({
  id: `send-${app}`,
  app,
  notification: { title: 'hi' },
  devices: { kind: 'inline', devices: [] },
  createdAt: new Date(0).toISOString(),
});

const feedbackOf = (id: number, status: FeedbackStatus): Feedback => ({
  device: { platform: 'ios', token: `tok-${id}`, id },
  status,
  attempts: 1,
  ...(status === 'invalid-token' || status === 'failed'
    ? { error: new PushError(status === 'failed' ? 'bad-request' : 'invalid-token', 'x') }
    : {}),
});

describe('sinkObserver', () => {
  test('applies invalid-token feedback to the database; other statuses cost nothing', async () => {
    const path = makeDb(10);
    const observer = sinkObserver(() =>
      sqliteFeedbackSink(path, { table: 'devices', keyColumn: 'id', mode: 'delete' }),
    );
    await observer.ready();
    const statuses: FeedbackStatus[] = ['sent', 'validated', 'invalid-token', 'failed'];
    for (let i = 0; i < 8; i++) {
      const status = statuses[i % 4]!;
      const result = observer.observe(send(), feedbackOf(i, status));
      if (status === 'invalid-token') await result;
      else assert.equal(result, undefined);
    }
    await observer.flush!();
    assert.deepEqual(ids(path), [0, 1, 3, 4, 5, 7, 8, 9]);
    await observer.close!();
  });

  test('a sink that fails for good is reported, not thrown, and replaced by a fresh one', async () => {
    const path = makeDb(10);
    const errors: unknown[] = [];
    const observer = sinkObserver(
      () =>
        sqliteFeedbackSink(path, {
          table: 'devices',
          keyColumn: 'id',
          mode: 'delete',
          batchSize: 1,
          retry: { attempts: 2, baseDelayMs: 1 },
        }),
      { onError: (error) => errors.push(error) },
    );
    const first = observer.sink;
    // The table goes away under the sink: its next batch cannot be applied.
    const admin = new Database(path);
    admin.exec('ALTER TABLE devices RENAME TO devices_old');
    await observer.observe(send(), feedbackOf(1, 'invalid-token')); // resolves: reported, not thrown
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof StoreError && errors[0].code === 'store-write');
    assert.equal(observer.sink, undefined);
    admin.exec('ALTER TABLE devices_old RENAME TO devices');
    admin.close();
    await observer.observe(send(), feedbackOf(2, 'invalid-token'));
    assert.notEqual(observer.sink, undefined);
    assert.notEqual(observer.sink, first, 'a fresh sink');
    await observer.close!();
    assert.deepEqual(ids(path), [0, 1, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(observer.failures, 1);
  });

  test('a device without the key field is reported; the sink goes on', async () => {
    const path = makeDb(3);
    const errors: unknown[] = [];
    const observer = sinkObserver(
      () => sqliteFeedbackSink(path, { table: 'devices', keyColumn: 'id', mode: 'delete' }),
      { onError: (error) => errors.push(error) },
    );
    const sink = observer.sink;
    await observer.observe(send(), {
      device: { platform: 'ios', token: 'x' },
      status: 'invalid-token',
      attempts: 1,
    });
    await observer.observe(send(), feedbackOf(0, 'invalid-token'));
    assert.equal(observer.sink, sink, 'the same sink goes on');
    await observer.close!();
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as StoreError).code, 'store-config');
    assert.equal(observer.sink, undefined);
    assert.ok(sink);
    assert.deepEqual(ids(path), [1, 2]);
  });
});

describe('openFeedbackSink', () => {
  test('opens a sqlite: spec (as sinkObserver factories do); refuses what is no database, unechoed', async () => {
    const path = makeDb(3);
    const sink = openFeedbackSink(`sqlite:${path}`, { table: 'devices', keyColumn: 'id', mode: 'delete' });
    await sink.write(feedbackOf(1, 'invalid-token'));
    await sink.close();
    assert.deepEqual(ids(path), [0, 2]);
    for (const spec of ['devices.ndjson', 'mysql://root:hunter2-password@db/x', '']) {
      assert.throws(
        () => openFeedbackSink(spec, { table: 'devices', keyColumn: 'id', mode: 'delete' }),
        (error: StoreError) =>
          error.code === 'store-config' &&
          /database only/.test(error.message) &&
          !error.message.includes('hunter2'),
      );
    }
  });
});

describe('sinkObserver on PostgreSQL', {
  skip: process.env.DATABASE_URL ? false : 'DATABASE_URL is not set',
}, () => {
  test('a postgres:// spec through openFeedbackSink: dead tokens deleted', async (t) => {
    const url = process.env.DATABASE_URL!;
    const table = `pushline_sink_observer_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    t.after(async () => {
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await admin.end();
    });
    await admin.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, token text)`);
    await admin.query(`INSERT INTO ${table} SELECT i, 'tok-' || i FROM generate_series(0, 4) AS i`);
    const observer = sinkObserver(() => openFeedbackSink(url, { table, keyColumn: 'id', mode: 'delete' }));
    await observer.ready();
    await observer.observe(send(), feedbackOf(1, 'invalid-token'));
    await observer.observe(send(), feedbackOf(3, 'invalid-token'));
    await observer.close!();
    const { rows } = await admin.query(`SELECT id FROM ${table} ORDER BY id`);
    assert.deepEqual(
      rows.map((row) => Number(row.id)),
      [0, 2, 4],
    );
  });
});

describe('forApp', () => {
  test("passes only the app's sends", async () => {
    const seen: string[] = [];
    let flushed = 0;
    const inner: FeedbackObserver = {
      observe: (s, f) => {
        seen.push(`${s.app}:${f.device['id']}`);
      },
      flush: async () => {
        flushed++;
      },
    };
    const observer = forApp('shop', inner);
    observer.observe(send('shop'), feedbackOf(1, 'sent'));
    observer.observe(send('news'), feedbackOf(2, 'sent'));
    observer.observe(send('shop'), feedbackOf(3, 'sent'));
    await observer.flush!();
    assert.deepEqual(seen, ['shop:1', 'shop:3']);
    assert.equal(flushed, 1);
    assert.equal(observer.close, undefined);
  });
});

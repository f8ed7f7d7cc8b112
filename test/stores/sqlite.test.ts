import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Device } from '../../src/device.js';
import { PushError } from '../../src/errors.js';
import type { Feedback } from '../../src/feedback.js';
import { PushClient } from '../../src/index.js';
import { StoreError, sqliteDevices, sqliteFeedbackSink } from '../../src/stores/index.js';
import { DEAD_SINCE, platformFor, TokenProvider, tokenFor } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

/** A fresh database file with `rows` devices (every 7th token dead), closed again. */
function makeDb(rows: number, extraColumns = ''): string {
  const path = join(dir, `devices-${++counter}.db`);
  const db = new Database(path);
  db.exec(`CREATE TABLE devices (
    id INTEGER PRIMARY KEY, platform TEXT NOT NULL, token TEXT NOT NULL, app TEXT,
    user_id TEXT, invalidated_at TEXT ${extraColumns})`);
  const insert = db.prepare('INSERT INTO devices (id, platform, token, user_id) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(i, platformFor(i), tokenFor(i), `user-${i}`);
  })();
  db.close();
  return path;
}

const ids = (path: string, where = '1'): number[] => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT id FROM devices WHERE ${where} ORDER BY id`).pluck().all() as number[];
  } finally {
    db.close();
  }
};

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

const invalid = (device: Device, invalidatedAt?: Date): Feedback => ({
  device,
  status: 'invalid-token',
  attempts: 1,
  error: new PushError('invalid-token', 'gone', invalidatedAt ? { invalidatedAt } : {}),
});

describe('sqliteDevices', () => {
  test('maps the token/platform/app columns and carries every other column along', async () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE d (id INTEGER, os TEXT, device_token TEXT, bundle TEXT, note TEXT);
      INSERT INTO d VALUES (1, 'ios', 'abc', 'com.example.a', 'x'), (2, 'android', 'def', NULL, NULL),
        (3, 'web', '{"endpoint":"https://push.example/1","keys":{"p256dh":"p","auth":"a"}}', '', 'w');`);
    const devices = await collect(
      sqliteDevices(db, {
        query: 'SELECT * FROM d ORDER BY id',
        columns: { token: 'device_token', platform: 'os', app: 'bundle' },
      }),
    );
    assert.deepEqual(devices, [
      { platform: 'ios', token: 'abc', app: 'com.example.a', id: 1, note: 'x' },
      { platform: 'android', token: 'def', id: 2, note: null },
      {
        platform: 'web',
        // A subscription stored as JSON text is passed through as the string (Web Push parses it).
        token: '{"endpoint":"https://push.example/1","keys":{"p256dh":"p","auth":"a"}}',
        id: 3,
        note: 'w',
      },
    ]);
    db.close();
  });

  test('takes positional and named params, and a fixed platform for a table without one', async () => {
    const path = makeDb(30);
    const positional = await collect(
      sqliteDevices(path, {
        query: 'SELECT id, token FROM devices WHERE id < ? ORDER BY id',
        params: [3],
        platform: 'ios',
      }),
    );
    assert.deepEqual(positional, [
      { platform: 'ios', token: 'live-0', id: 0 },
      { platform: 'ios', token: 'live-1', id: 1 },
      { platform: 'ios', token: 'live-2', id: 2 },
    ]);
    const named = await collect(
      sqliteDevices(path, {
        query: 'SELECT id, platform, token FROM devices WHERE id = @id',
        params: { id: 10 },
      }),
    );
    assert.deepEqual(named, [{ platform: 'android', token: 'dead-10', id: 10 }]);
  });

  test('a query without a token column fails with the columns it returned and the fix', async () => {
    const path = makeDb(3);
    await assert.rejects(
      collect(sqliteDevices(path, { query: 'SELECT id, platform, user_id FROM devices' })),
      (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, 'store-config');
        assert.match(error.message, /returned the columns id, platform, user_id but no token column 'token'/);
        assert.match(error.message, /columns: \{ token:/);
        return true;
      },
    );
    await assert.rejects(
      collect(sqliteDevices(path, { query: 'SELECT id, token FROM devices' })),
      /no platform column/,
    );
    await assert.rejects(collect(sqliteDevices(path, { query: 'DELETE FROM devices' })), /returns no rows/);
    await assert.rejects(
      collect(sqliteDevices(join(dir, 'missing.db'), { query: 'SELECT 1' })),
      /cannot open/,
    );
  });

  test('yields to the event loop between chunks of a long cursor', async () => {
    const path = makeDb(20_000);
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    let rows = 0;
    // Consuming without any await of our own: only the source's pauses let `tick` run.
    for await (const _device of sqliteDevices(path, {
      query: 'SELECT id, platform, token FROM devices',
      chunkSize: 500,
    }))
      rows++;
    running = false;
    assert.equal(rows, 20_000);
    assert.ok(
      ticks >= 20,
      `the event loop ran ${ticks} times during the read; expected one per chunk of 500`,
    );
  });

  test('a consumer that stops early ends the cursor, so the connection can write again', async () => {
    const db = new Database(makeDb(100));
    let seen = 0;
    for await (const _device of sqliteDevices(db, { query: 'SELECT id, platform, token FROM devices' })) {
      if (++seen === 5) break;
    }
    assert.equal(seen, 5, 'stopped early, with rows left to read');
    // Would throw "This database connection is busy executing a query" with the cursor still open.
    assert.equal(db.prepare('DELETE FROM devices WHERE id = 0').run().changes, 1);
    db.close();
  });
});

describe('sqliteDevices when the file is locked', () => {
  test('a lock held past the busy timeout is a store-read error (exit 74), not a query that does not compile', async () => {
    const path = makeDb(3);
    const writer = new Database(path);
    writer.exec('BEGIN EXCLUSIVE'); // rollback journal: readers are shut out until it ends
    const reader = new Database(path, { readonly: true, timeout: 0 });
    try {
      await assert.rejects(
        async () => {
          for await (const _ of sqliteDevices(reader, { query: 'SELECT id, platform, token FROM devices' })) {
          }
        },
        (error: unknown) => {
          assert.ok(error instanceof StoreError);
          assert.equal(error.code, 'store-read');
          assert.match(error.message, /database is locked/);
          return true;
        },
      );
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
      reader.close();
    }
  });
});

describe('sqliteFeedbackSink', () => {
  test('end to end through PushClient: exactly the invalid-token rows are deleted, and a re-run is harmless', async () => {
    const path = makeDb(2000);
    const expectedDead = ids(path, "token LIKE 'dead-%'");
    const client = new PushClient({ providers: [new TokenProvider()], window: 64 });
    // Small batches, so commits happen while the source's cursor on the same file is still open.
    const sink = sqliteFeedbackSink(path, {
      table: 'devices',
      keyColumn: 'id',
      mode: 'delete',
      batchSize: 25,
    });
    const source = sqliteDevices(path, {
      query: 'SELECT id, platform, token, user_id FROM devices',
      chunkSize: 100,
    });
    const delivery = client.send({ title: 'hi' }, source);
    const seen: Feedback[] = [];
    await sink.consume(
      (async function* () {
        for await (const fb of delivery) {
          seen.push(fb);
          yield fb;
        }
      })(),
    );
    await sink.close();
    const summary = await delivery.done;
    assert.equal(seen.length, 2000);
    assert.equal(summary.total, 2000);
    assert.equal(sink.invalidTokens, expectedDead.length);
    assert.equal(sink.removed, expectedDead.length);
    assert.deepEqual(ids(path, "token LIKE 'dead-%'"), []);
    assert.equal(ids(path).length, 2000 - expectedDead.length);
    // The row's own columns came back on the feedback.
    const one = seen.find((fb) => fb.device.id === 3)!;
    assert.equal(one.status, 'invalid-token');
    assert.equal(one.device.user_id, 'user-3');

    // Applying the same feedback again (a re-run after a crash) deletes nothing more and does not fail.
    const again = sqliteFeedbackSink(path, { table: 'devices', keyColumn: 'id', mode: 'delete' });
    await again.consume(seen);
    await again.close();
    assert.equal(again.invalidTokens, expectedDead.length);
    assert.equal(again.removed, 0);
    assert.equal(ids(path).length, 2000 - expectedDead.length);
    await client.close();
  });

  test('mark mode sets the provider’s invalidation time (else now) once, and leaves marked rows alone', async () => {
    const path = makeDb(10);
    const sink = sqliteFeedbackSink(path, {
      table: 'devices',
      keyColumn: 'id',
      mode: 'mark',
      markColumn: 'invalidated_at',
    });
    const before = Date.now();
    await sink.write(invalid({ platform: 'ios', token: 'x', id: 1 }, DEAD_SINCE));
    await sink.write(invalid({ platform: 'ios', token: 'y', id: 2 }));
    await sink.write({ device: { platform: 'ios', token: 'z', id: 4 }, status: 'sent', attempts: 1 });
    await sink.flush();
    assert.equal(sink.marked, 2);
    const db = new Database(path);
    const marks = db
      .prepare('SELECT id, invalidated_at FROM devices WHERE invalidated_at IS NOT NULL ORDER BY id')
      .all() as {
      id: number;
      invalidated_at: string;
    }[];
    assert.equal(marks.length, 2);
    assert.deepEqual(marks[0], { id: 1, invalidated_at: DEAD_SINCE.toISOString() });
    assert.ok(Date.parse(marks[1]!.invalidated_at) >= before - 1000);
    db.close();
    // A second mark with another time keeps the first one.
    await sink.write(invalid({ platform: 'ios', token: 'x', id: 1 }, new Date('2030-01-01T00:00:00Z')));
    await sink.close();
    assert.equal(sink.marked, 2);
    assert.deepEqual(ids(path, `invalidated_at = '${DEAD_SINCE.toISOString()}'`), [1]);
  });

  test('a failed batch is retried with backoff, and committed once the lock goes away', async () => {
    const path = makeDb(10);
    const sink = sqliteFeedbackSink(path, {
      table: 'devices',
      keyColumn: 'id',
      mode: 'delete',
      busyTimeoutMs: 0,
      retry: { attempts: 12, baseDelayMs: 20, maxDelayMs: 200 },
    });
    // Another connection holds the write lock (the sink has switched the file to WAL by now).
    const blocker = new Database(path);
    blocker.exec('BEGIN EXCLUSIVE');
    await sink.write(invalid({ platform: 'ios', token: 'dead-3', id: 3 }));
    setTimeout(() => blocker.exec('COMMIT'), 60);
    const started = Date.now();
    await sink.close();
    // It could only commit after the lock was released, i.e. after failing and waiting at least once.
    assert.ok(Date.now() - started >= 50);
    blocker.close();
    assert.equal(sink.removed, 1);
    assert.deepEqual(ids(path, 'id = 3'), []);
  });

  test('a batch that keeps failing is reported after the bounded retries, never dropped silently', async () => {
    const path = makeDb(10);
    const sink = sqliteFeedbackSink(path, {
      table: 'devices',
      keyColumn: 'id',
      mode: 'delete',
      batchSize: 2,
      busyTimeoutMs: 0,
      retry: { attempts: 3, baseDelayMs: 5 },
    });
    // Another connection holds the write lock (the sink has switched the file to WAL by now).
    const blocker = new Database(path);
    blocker.exec('BEGIN EXCLUSIVE');
    await sink.write(invalid({ platform: 'ios', token: 'dead-3', id: 3 }));
    // The second write fills the batch and waits for its commit, which fails.
    await assert.rejects(
      sink.write(invalid({ platform: 'ios', token: 'dead-5', id: 5 })),
      (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, 'store-write');
        assert.match(error.message, /could not delete 2 rows of dead tokens after 3 attempts/);
        assert.match(error.message, /database is locked/);
        return true;
      },
    );
    // The failure sticks: later writes and close() report it too.
    await assert.rejects(
      sink.write(invalid({ platform: 'ios', token: 'dead-6', id: 6 })),
      /after 3 attempts/,
    );
    await assert.rejects(sink.close(), /after 3 attempts/);
    blocker.exec('ROLLBACK');
    blocker.close();
    assert.equal(sink.removed, 0);
    assert.equal(ids(path).length, 10);
  });

  test('refuses a missing table or column, and feedback whose device has no key', async () => {
    const path = makeDb(2);
    assert.throws(
      () => sqliteFeedbackSink(path, { table: 'nope', keyColumn: 'id', mode: 'delete' }),
      /no table nope/,
    );
    assert.throws(
      () =>
        sqliteFeedbackSink(path, { table: 'devices', keyColumn: 'id', mode: 'mark', markColumn: 'gone_at' }),
      /has no column 'gone_at'/,
    );
    assert.throws(
      () => sqliteFeedbackSink(path, { table: 'devices', keyColumn: 'id', mode: 'mark' }),
      /needs markColumn/,
    );
    const sink = sqliteFeedbackSink(path, { table: 'devices', keyColumn: 'id', mode: 'delete' });
    await assert.rejects(sink.write(invalid({ platform: 'ios', token: 't' })), /has no 'id' field/);
    await sink.close();
  });

  test('a sink on the connection the source is still reading through says so', async () => {
    const db = new Database(makeDb(10));
    const sink = sqliteFeedbackSink(db, { table: 'devices', keyColumn: 'id', mode: 'delete', batchSize: 1 });
    const source = sqliteDevices(db, { query: 'SELECT id, platform, token FROM devices' });
    await assert.rejects(
      (async () => {
        for await (const device of source) await sink.write(invalid(device));
      })(),
      /reading through this same connection/,
    );
    await assert.rejects(sink.close(), /reading through this same connection/);
    db.close();
  });
});

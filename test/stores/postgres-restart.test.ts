/**
 * The PostgreSQL stores when the server restarts under them, on a private throwaway cluster
 * (never the shared DATABASE_URL server). A dead connection must surface as a StoreError
 * through the iteration or the sink, never as an unhandled 'error' event that crashes the
 * process (node:test fails a file on an uncaught exception). Skipped loudly without the
 * server binaries, except under CI, where their absence is a failure.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PushError } from '../../src/errors.js';
import type { Feedback } from '../../src/feedback.js';
import { postgresDevices, postgresFeedbackSink, StoreError } from '../../src/stores/index.js';
import { type PgCluster, pgClusterUnavailable, startPgCluster } from '../support/pg-cluster.js';

const unavailable = pgClusterUnavailable();
if (unavailable && !process.env.CI) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPING the PostgreSQL restart tests: ${unavailable}.\n` +
      '!! Install the server (`bash .ci/services.sh` as root does) to run them.\n' +
      `${'!'.repeat(78)}\n`,
  );
}
test('a private PostgreSQL cluster can be started', {
  skip: unavailable && !process.env.CI ? `${unavailable}: restart tests skipped` : false,
}, () => {
  assert.equal(unavailable, undefined, `${unavailable}; CI must install PostgreSQL (.ci/services.sh)`);
});
const skip = unavailable ? `${unavailable}: restart tests skipped` : false;

describe('PostgreSQL stores across a server restart', { skip }, () => {
  let cluster: PgCluster;
  before(async () => {
    cluster = await startPgCluster();
    const client = new pg.Client(cluster.url);
    await client.connect();
    await client.query(
      `CREATE TABLE devices (id int PRIMARY KEY, platform text, token text);
       INSERT INTO devices SELECT i, 'ios', 'live-' || i FROM generate_series(1, 100) AS i`,
    );
    await client.end();
  });
  after(async () => {
    await cluster?.destroy();
  });

  const query = 'SELECT id, platform, token FROM devices ORDER BY id';

  test('a restart between two batches: the rows already fetched come out, then a store-read error', async () => {
    const read: unknown[] = [];
    let failure: unknown;
    try {
      for await (const device of postgresDevices(cluster.url, { query, batchSize: 10 })) {
        read.push(device);
        // Holding the 3rd row of the first batch: the connection dies under the open cursor.
        if (read.length === 3) {
          await cluster.stop('immediate');
          await cluster.start();
        }
      }
    } catch (error) {
      failure = error;
    }
    assert.ok(failure instanceof StoreError, `a StoreError, got ${String(failure)}`);
    assert.equal((failure as StoreError).code, 'store-read');
    assert.match((failure as Error).message, /reading devices failed after 10 rows/);
    assert.equal(read.length, 10, 'the batch already fetched was handed out');
  });

  test('a consumer that stops after the connection died ends at once (no close sent to a dead server)', async () => {
    const read: unknown[] = [];
    const started = Date.now();
    for await (const device of postgresDevices(cluster.url, { query, batchSize: 10 })) {
      read.push(device);
      if (read.length === 2) {
        await cluster.stop('immediate');
        await cluster.start();
        await sleep(100); // let the client see its socket close
      }
      if (read.length === 4) break;
    }
    assert.equal(read.length, 4);
    assert.ok(Date.now() - started < 30_000);
  });

  test('a pool client lent to the source: its error is heard, the pool drops it and goes on', async () => {
    const pool = new pg.Pool({ connectionString: cluster.url, max: 2 });
    pool.on('error', () => {}); // the caller's own pool: its idle clients are the caller's to watch
    try {
      let failure: unknown;
      let read = 0;
      try {
        for await (const _ of postgresDevices(pool, { query, batchSize: 10 })) {
          if (++read === 5) {
            await cluster.stop('immediate');
            await cluster.start();
          }
        }
      } catch (error) {
        failure = error;
      }
      assert.equal((failure as StoreError)?.code, 'store-read');
      const again = [];
      for await (const device of postgresDevices(pool, { query, batchSize: 50 })) again.push(device);
      assert.equal(again.length, 100, 'the next read gets a fresh connection');
    } finally {
      await pool.end();
    }
  });

  test('the sink: an idle connection dying in its own pool is not a crash; the next batch applies', async () => {
    const sink = postgresFeedbackSink(cluster.url, {
      table: 'devices',
      keyColumn: 'id',
      mode: 'delete',
      batchSize: 1,
    });
    const dead = (id: number): Feedback => ({
      device: { id, platform: 'ios', token: `live-${id}` },
      status: 'invalid-token',
      attempts: 1,
      error: new PushError('invalid-token', 'gone'),
    });
    await sink.write(dead(1)); // a batch of one: applied now, its connection left idle in the pool
    await cluster.stop('immediate');
    await cluster.start();
    await sleep(200); // the idle connection's error reaches the pool
    await sink.write(dead(2));
    await sink.close();
    assert.equal(sink.removed, 2);
    const client = new pg.Client(cluster.url);
    await client.connect();
    const { rows } = await client.query('SELECT count(*)::int AS n FROM devices WHERE id IN (1, 2)');
    await client.end();
    assert.equal(rows[0].n, 0);
  });
});

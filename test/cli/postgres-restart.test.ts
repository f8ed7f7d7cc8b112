/**
 * `pushline send` from PostgreSQL while the server restarts (a private throwaway cluster,
 * never the shared DATABASE_URL one): the run ends with exit 74 and its summary, every device
 * read has exactly one --out line, and the dead tokens among them are still deleted once the
 * server is back. Before, pg's unhandled 'error' event crashed the process (exit 1, no
 * summary, dead tokens left in the table). Skipped loudly without the server binaries,
 * except under CI.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { type EmulatorFiles, writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type PgCluster, pgClusterUnavailable, startPgCluster } from '../support/pg-cluster.js';
import { iosToken, ndjson, startCli } from './support.js';

const unavailable = pgClusterUnavailable();
if (unavailable && !process.env.CI) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! SKIPPING the CLI PostgreSQL restart test: ${unavailable}.\n` +
      '!! Install the server (`bash .ci/services.sh` as root does) to run it.\n' +
      `${'!'.repeat(78)}\n`,
  );
}
test('a private PostgreSQL cluster can be started', {
  skip: unavailable && !process.env.CI ? `${unavailable}: restart test skipped` : false,
}, () => {
  assert.equal(unavailable, undefined, `${unavailable}; CI must install PostgreSQL (.ci/services.sh)`);
});

const ROWS = 1500;
/** pushline's cursor fetches 1000 rows a round trip: those are read before the restart cuts the rest. */
const FIRST_BATCH = 1000;

describe('pushline send while PostgreSQL restarts', { skip: unavailable ? `${unavailable}` : false }, () => {
  let cluster: PgCluster;
  let emulator: Emulator;
  let files: EmulatorFiles;
  const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-pg-restart-'));

  before(async () => {
    cluster = await startPgCluster();
    // 200 ms an answer, 50 at once: the first batch takes ~4 s to send, time to restart under it.
    emulator = await startEmulator({
      apns: { scenarios: { latencyMs: 200, unregistered: { rate: 0.1 } }, record: false },
    });
    files = writeEmulatorFiles(emulator, dir, { subscriptions: 0, tokens: 0 });
    const client = new pg.Client(cluster.url);
    await client.connect();
    await client.query('CREATE TABLE devices (id int PRIMARY KEY, platform text, token text)');
    const tokens = Array.from({ length: ROWS }, () => iosToken());
    await client.query(
      `INSERT INTO devices SELECT i, 'ios', t FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i)`,
      [tokens],
    );
    await client.end();
  });
  after(async () => {
    await emulator?.close();
    await cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('exit 74 with the summary; one line per device read; the dead tokens read are deleted', async () => {
    const out = join(dir, 'out.ndjson');
    const run = startCli([
      'send',
      '--config',
      files.configFile,
      '--devices',
      cluster.url,
      '--query',
      'SELECT id, platform, token FROM devices ORDER BY id',
      '--title',
      'Hi',
      '--window',
      '50',
      '--no-progress',
      '--apply-feedback',
      '--table',
      'devices',
      '--out',
      out,
    ]);
    for (let i = 0; i < 3000; i++) {
      const text = existsSync(out) ? readFileSync(out, 'utf8') : '';
      if (text.split('\n').length > 100) break;
      await sleep(10);
    }
    await cluster.stop('immediate');
    await cluster.start();
    const result = await run.done;

    assert.equal(result.code, 74, `stderr: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /Connection terminated unexpectedly\n\s+at /, 'no crash stack');
    assert.match(result.stderr, /the device source failed: postgres: reading devices failed after 1000 rows/);
    assert.match(result.stderr, /Every device read before it has its feedback/);
    assert.match(result.stdout, /Sent: postgres:/, 'the summary is printed');

    const lines = ndjson(readFileSync(out, 'utf8'));
    const ids = lines.map((line) => Number(line.device.id)).sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      Array.from({ length: FIRST_BATCH }, (_, i) => i + 1),
      'exactly one line for each device read, none for the rest',
    );
    const dead = lines
      .filter((line) => line.status === 'invalid-token')
      .map((line) => Number(line.device.id));
    assert.ok(dead.length > 0, 'the emulator reported some dead tokens');
    assert.ok(
      lines.every((line) => line.status === 'sent' || line.status === 'invalid-token'),
      'nothing failed',
    );

    const client = new pg.Client(cluster.url);
    await client.connect();
    try {
      const { rows } = await client.query<{ id: number }>('SELECT id FROM devices ORDER BY id');
      const left = new Set(rows.map((row) => row.id));
      assert.deepEqual(
        dead.filter((id) => left.has(id)),
        [],
        'every dead token read was deleted after the restart',
      );
      assert.equal(left.size, ROWS - dead.length, 'only the dead ones');
    } finally {
      await client.end();
    }
  });
});

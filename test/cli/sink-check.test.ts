/**
 * `--apply-feedback` that cannot work is refused before the first device is sent: a query
 * without the key column, a table or column the database does not have (SQLite and
 * PostgreSQL). The emulators the test runs count what reached them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type EmulatorFiles, writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type CliRun, iosToken, runCli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-sink-check-'));
let emulator: Emulator;
let files: EmulatorFiles;
let db: string;

before(async () => {
  // Every token is dead: without the check, the send stopped at the first one, after sending it.
  emulator = await startEmulator({ apns: { scenarios: { unregistered: { rate: 1 } } } });
  files = writeEmulatorFiles(emulator, dir, { subscriptions: 0, tokens: 0 });
  db = join(dir, 'devices.db');
  const sqlite = new Database(db);
  sqlite.exec('CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT, token TEXT)');
  const insert = sqlite.prepare('INSERT INTO devices (id, platform, token) VALUES (?, ?, ?)');
  for (let id = 1; id <= 20; id++) insert.run(id, 'ios', iosToken());
  sqlite.close();
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

function assertRefusedBeforeSending(run: CliRun, code: number, pattern: RegExp, out: string): void {
  assert.equal(run.code, code, run.stderr);
  assert.match(run.stderr, pattern);
  assert.equal(emulator.apns.stats().requests, 0, 'no device was sent');
  assert.equal(existsSync(out) ? readFileSync(out, 'utf8') : '', '', 'no device was read');
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

function send(devices: string[], sink: string[], out: string): Promise<CliRun> {
  return runCli([
    'send',
    '--config',
    files.configFile,
    ...devices,
    '--title',
    'Hi',
    '--apply-feedback',
    ...sink,
    '--out',
    out,
    '--no-progress',
  ]);
}

describe('--apply-feedback is checked before the first device is sent', () => {
  test('a query without the key column (--key-column left at id): 65, nothing sent, the table untouched', async () => {
    emulator.apns.reset();
    const out = join(dir, 'no-key.ndjson');
    const run = await send(
      ['--devices', `sqlite:${db}`, '--query', 'SELECT platform, token FROM devices'],
      ['--table', 'devices'],
      out,
    );
    assertRefusedBeforeSending(
      run,
      65,
      /the --query returns the columns platform, token but not the key column 'id' \(--key-column, default id\)/,
      out,
    );
    const count = new Database(db, { readonly: true });
    assert.equal(count.prepare('SELECT count(*) FROM devices').pluck().get(), 20);
    count.close();
  });

  test('a table the SQLite database does not have: 64, nothing sent', async () => {
    emulator.apns.reset();
    const out = join(dir, 'no-table.ndjson');
    const run = await send(
      ['--devices', `sqlite:${db}`, '--query', 'SELECT id, platform, token FROM devices'],
      ['--table', 'devicez'],
      out,
    );
    assertRefusedBeforeSending(run, 64, /there is no table devicez/, out);
  });

  const url = process.env.DATABASE_URL;
  test('PostgreSQL: a missing table or mark column: 64, nothing sent', {
    skip: url ? false : 'DATABASE_URL is not set',
  }, async () => {
    const table = `pushline_sink_check_${process.pid}`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, platform text, token text)`);
      await client.query(`INSERT INTO ${table} VALUES (1, 'ios', $1), (2, 'ios', $2)`, [
        iosToken(),
        iosToken(),
      ]);
      const devices = ['--devices', url!, '--query', `SELECT id, platform, token FROM ${table}`];
      emulator.apns.reset();
      const noTable = join(dir, 'pg-no-table.ndjson');
      assertRefusedBeforeSending(
        await send(devices, ['--table', `${table}_nope`], noTable),
        64,
        /there is no table/,
        noTable,
      );
      const noColumn = join(dir, 'pg-no-column.ndjson');
      assertRefusedBeforeSending(
        await send(devices, ['--table', table, '--mark-column', 'invalidated_at'], noColumn),
        64,
        /has no column 'invalidated_at'/,
        noColumn,
      );
    } finally {
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      await client.end();
    }
  });
});

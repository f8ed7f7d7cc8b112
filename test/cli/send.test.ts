/**
 * `pushline send` end to end in a subprocess, against emulators started by the test (through
 * the config file `pushline emulate` would write) or by the command itself (`--emulator`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { type EmulatorFiles, writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { fcmToken, iosToken, ndjson, runCli } from './support.js';

let emulator: Emulator;
let files: EmulatorFiles;
const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-send-'));

before(async () => {
  emulator = await startEmulator({ apns: { scenarios: { unregistered: { rate: 0.2 } } } });
  files = writeEmulatorFiles(emulator, dir, { subscriptions: 0, tokens: 0 });
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Row {
  id: number;
  platform: string;
  token: string;
  dead: boolean;
}

/** 60 devices over the three platforms, with dead ones on each, known in advance. */
function makeDevices(): Row[] {
  const rows: Row[] = [];
  const fcmDead: string[] = [];
  for (let id = 1; id <= 60; id++) {
    const kind = id % 3;
    if (kind === 0) {
      // The first iOS row is one the emulator answers Unregistered (the rate alone could give none).
      let token = iosToken();
      while (id === 3 && emulator.apns.classify(token) !== 'unregistered') token = iosToken();
      rows.push({ id, platform: 'ios', token, dead: emulator.apns.classify(token) === 'unregistered' });
    } else if (kind === 1) {
      const token = fcmToken();
      const dead = id % 4 === 1;
      if (dead) fcmDead.push(token);
      rows.push({ id, platform: 'android', token, dead });
    } else {
      const subscription = emulator.webpush.subscribe();
      const dead = id % 5 === 0;
      if (dead) emulator.webpush.unsubscribe(subscription);
      rows.push({ id, platform: 'web', token: JSON.stringify(subscription), dead });
    }
  }
  emulator.fcm.setScenarios({ unregisteredTokens: fcmDead });
  return rows;
}

function makeDatabase(path: string, rows: Row[], markColumn = false): void {
  const db = new Database(path);
  db.exec(
    `CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT, token TEXT${markColumn ? ', invalidated_at TEXT' : ''})`,
  );
  const insert = db.prepare('INSERT INTO devices (id, platform, token) VALUES (?, ?, ?)');
  for (const row of rows) insert.run(row.id, row.platform, row.token);
  db.close();
}

describe('pushline send', () => {
  test('from SQLite with --apply-feedback: dead rows deleted, one NDJSON line per device, JSON summary', async () => {
    const rows = makeDevices();
    const dead = rows.filter((row) => row.dead);
    assert.ok(dead.some((row) => row.platform === 'ios'));
    const db = join(dir, 'send.db');
    makeDatabase(db, rows);
    const out = join(dir, 'send.ndjson');
    const run = await runCli([
      'send',
      '--config',
      files.configFile,
      '--devices',
      `sqlite:${db}`,
      '--query',
      'SELECT id, platform, token FROM devices',
      '--title',
      'Hello',
      '--body',
      'World',
      '--data',
      'campaign=42',
      '--apply-feedback',
      '--table',
      'devices',
      '--key-column',
      'id',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.summary.total, 60);
    assert.equal(result.summary.sent, 60 - dead.length);
    assert.equal(result.summary.invalidToken, dead.length);
    assert.deepEqual(result.feedback, { mode: 'delete', table: 'devices', removed: dead.length, marked: 0 });

    const lines = ndjson(readFileSync(out, 'utf8'));
    assert.equal(lines.length, 60);
    const byId = new Map(lines.map((line) => [line.device.id, line]));
    assert.equal(byId.size, 60, 'one line per device');
    for (const row of rows) {
      const line = byId.get(row.id)!;
      assert.equal(line.status, row.dead ? 'invalid-token' : 'sent', `device ${row.id} (${row.platform})`);
      if (row.dead) assert.equal(line.error?.code, 'invalid-token');
    }
    const left = new Database(db, { readonly: true });
    const ids = (left.prepare('SELECT id FROM devices ORDER BY id').pluck().all() as number[]).sort(
      (a, b) => a - b,
    );
    left.close();
    assert.deepEqual(
      ids,
      rows.filter((row) => !row.dead).map((row) => row.id),
    );
    // The data flag reached the app: FCM got it as strings.
    const fcmMessage = emulator.fcm.messages.at(-1)!.message as { data?: Record<string, string> };
    assert.equal(fcmMessage.data?.['campaign'], '42');
  });

  test('--mark-column marks dead rows instead of deleting them; the table prints for people', async () => {
    const rows = makeDevices();
    const db = join(dir, 'mark.db');
    makeDatabase(db, rows, true);
    const run = await runCli([
      'send',
      '--config',
      files.configFile,
      '--devices',
      `sqlite:${db}`,
      '--query',
      'SELECT id, platform, token FROM devices',
      '--title',
      'Hi',
      '--apply-feedback',
      '--table',
      'devices',
      '--mark-column',
      'invalidated_at',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const dead = rows.filter((row) => row.dead).length;
    assert.match(run.stdout, new RegExp(`dead tokens: ${dead} rows marked in devices.invalidated_at`));
    assert.match(run.stdout, /provider\s+sent\s+dead token\s+failed\s+total/);
    const check = new Database(db, { readonly: true });
    const marked = check
      .prepare('SELECT count(*) FROM devices WHERE invalidated_at IS NOT NULL')
      .pluck()
      .get();
    const total = check.prepare('SELECT count(*) FROM devices').pluck().get();
    check.close();
    assert.equal(marked, dead);
    assert.equal(total, 60);
  });

  test('from NDJSON on stdin with --emulator and --out: a line per device, malformed lines included', async () => {
    const devices = [
      { id: 'a', platform: 'ios', token: iosToken() },
      { id: 'b', platform: 'android', token: fcmToken() },
      { id: 'c', platform: 'ios', token: 'not-hex' },
    ];
    const input = `${devices.map((device) => JSON.stringify(device)).join('\n')}\n{oops\n`;
    const out = join(dir, 'stdin.ndjson');
    const run = await runCli(['send', '--emulator', '--devices', '-', '--title', 'Hi', '--out', out], {
      input,
    });
    // The malformed token is dead (APNs would say BadDeviceToken); the malformed line failed: a partial failure.
    assert.equal(run.code, 1, run.stderr);
    const lines = ndjson(readFileSync(out, 'utf8'));
    assert.equal(lines.length, 4);
    const status = Object.fromEntries(
      lines.map((line) => [line.device.id ?? `line ${line.device.line}`, line.status]),
    );
    assert.deepEqual(status, { a: 'sent', b: 'sent', c: 'invalid-token', 'line 4': 'failed' });
    assert.match(run.stdout, /all\s+2\s+1\s+1\s+4/);
    assert.match(run.stdout, /failures by code: invalid-device 1/);
  });

  test('from an NDJSON file written by the test, --out - streams the lines to stdout', async () => {
    const file = join(dir, 'devices.jsonl');
    // The emulator kills 20% of iOS tokens by hash: take one it keeps.
    let token = iosToken();
    while (emulator.apns.classify(token) !== 'ok') token = iosToken();
    writeFileSync(file, `${JSON.stringify({ n: 1, platform: 'ios', token })}\n`);
    const run = await runCli([
      'send',
      '--config',
      files.configFile,
      '--devices',
      file,
      '--body',
      'x',
      '--out',
      '-',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const [line] = ndjson(run.stdout);
    assert.equal(line!.device.n, 1);
    assert.equal(line!.status, 'sent');
    assert.match(run.stderr, /provider\s+sent/);
  });
});

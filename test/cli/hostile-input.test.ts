/**
 * Input written by strangers, through the command: a hostile device row fails alone instead of
 * aborting the send, text quoted from databases and arguments cannot drive the terminal, bad
 * `--table` / `--window` / `--dir` values are usage errors, and `emulate` never writes a key
 * through a planted symbolic link or leaves it readable by others.
 */
import assert from 'node:assert/strict';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { CliError } from '../../src/cli/exit-codes.js';
import { table } from '../../src/cli/format.js';
import { reportError } from '../../src/cli/report.js';
import { sanitize } from '../../src/cli/sanitize.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { PushError } from '../../src/errors.js';
import { type CliRun, iosToken, ndjson, runCli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Control characters a terminal acts on: ESC, BEL, the 8-bit CSI, a bidi override. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0007\u001b\u009b\u202e]/;

function assertUsage(run: CliRun, pattern: RegExp): void {
  assert.equal(run.code, 64, `exit code; stderr: ${run.stderr}`);
  const errors = run.stderr.split('\n').filter((line) => line.startsWith('pushline: error:'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0]!, pattern);
  assert.doesNotMatch(run.stderr, /internal error/);
}

function devicesDb(name: string): string {
  const path = join(dir, name);
  const db = new Database(path);
  db.exec('CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT, token TEXT)');
  db.prepare("INSERT INTO devices VALUES (1, 'ios', ?)").run(iosToken());
  db.close();
  return path;
}

const send = ['send', '--emulator', '--title', 'Hi', '--no-progress'];

describe('a hostile device row', () => {
  test('a row nested 10,000 deep among 1,000 devices fails alone: every device has its line, no abort', async () => {
    const lines = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({ id: i + 1, platform: 'ios', token: iosToken() }),
    );
    lines.splice(
      500,
      0,
      `{"id":"hostile","platform":"ios","token":"${iosToken()}","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    );
    const devices = join(dir, 'deep.ndjson');
    writeFileSync(devices, `${lines.join('\n')}\n`);
    const out = join(dir, 'deep-out.ndjson');
    const run = await runCli([...send, '--devices', devices, '--out', out, '--json'], { timeoutMs: 90_000 });
    assert.equal(
      run.code,
      1,
      `partial failure (one invalid device), not an I/O error; stderr: ${run.stderr}`,
    );
    const summary = JSON.parse(run.stdout).summary;
    assert.equal(summary.total, 1001);
    assert.equal(summary.failed, 1);
    const feedback = ndjson(readFileSync(out, 'utf8'));
    assert.equal(feedback.length, 1001, 'one line per device');
    const failed = feedback.filter((line) => line.status === 'failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.error?.code, 'invalid-device');
    assert.match(
      (failed[0]!.error as { message?: string }).message ?? '',
      /line 501 of .*deep\.ndjson: nested deeper than 64 levels/,
    );
    assert.equal(feedback.filter((line) => line.status === 'aborted').length, 0);
  });
});

describe('output for humans is sanitised', () => {
  test('sanitize escapes C0, C1, DEL and bidi controls; keeps newlines only when asked', () => {
    assert.equal(sanitize('plain text, é ✓'), 'plain text, é ✓');
    assert.equal(sanitize('a\u001b]0;owned\u0007b'), 'a\\x1b]0;owned\\x07b');
    assert.equal(sanitize('\u009b2J\u007f\u202egnp.exe'), '\\x9b2J\\x7f\\u202egnp.exe');
    assert.equal(sanitize('one\ntwo\r'), 'one\\x0atwo\\x0d');
    assert.equal(sanitize('one\ntwo\u001b[2J', { keepNewlines: true }), 'one\ntwo\\x1b[2J');
  });

  test("a provider's error text is escaped on stderr, with --debug too", () => {
    const stderr = new PassThrough();
    let text = '';
    stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const error = new PushError(
      'auth',
      'fcm: 401 UNAUTHENTICATED: \u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007\u001b[2J',
    );
    reportError(error, stderr, true);
    assert.doesNotMatch(text, CONTROL);
    assert.match(
      text,
      /^pushline: error: fcm: 401 UNAUTHENTICATED: \\x1b]8;;https:\/\/evil\.example\\x07click/,
    );
    assert.match(text, /\n\s+at /, '--debug still shows the stack, line by line');
  });

  test('table cells are escaped (and measured escaped)', () => {
    const text = table([
      ['provider', 'sent'],
      ['apns\u001b[31m', '1'],
    ]);
    assert.doesNotMatch(text, CONTROL);
    const [header, row] = text.split('\n');
    assert.equal(row, '  apns\\x1b[31m     1');
    assert.equal(header!.length, row!.length, 'the columns line up');
  });

  test("a database's error quoting a hostile name is escaped on stderr", async () => {
    const db = devicesDb('quote.db');
    const run = await runCli([
      ...send,
      '--devices',
      `sqlite:${db}`,
      '--query',
      'SELECT * FROM "\u001b]0;owned\u0007\u001b[2J"',
    ]);
    assert.equal(run.code, 65, run.stderr);
    assert.match(run.stderr, /no such table: \\x1b]0;owned\\x07\\x1b\[2J/);
    assert.doesNotMatch(run.stderr + run.stdout, CONTROL);
  });
});

describe('command-line input errors are usage errors (64), never internal ones (70)', () => {
  test('an unknown option is quoted escaped', async () => {
    const run = await runCli(['send', '--col\u001b]0;owned\u0007']);
    assert.equal(run.code, 64, run.stderr);
    assert.match(run.stderr, /unknown option '--col\\x1b]0;owned\\x07'/);
    assert.doesNotMatch(run.stderr, CONTROL);
  });

  test('--table x.y.z, devices. and a schema that does not exist name the problem and the accepted forms', async () => {
    const db = devicesDb('table.db');
    const base = [
      ...send,
      '--devices',
      `sqlite:${db}`,
      '--query',
      'SELECT * FROM devices',
      '--apply-feedback',
    ];
    const dotted = await runCli([...base, '--table', 'x.y.z']);
    assertUsage(
      dotted,
      /--table must be a name or schema\.name \(e\.g\. devices or public\.devices\), got 'x\.y\.z'/,
    );
    const trailing = await runCli([...base, '--table', 'devices.']);
    assertUsage(trailing, /--table must be a name or schema\.name/);
    const schema = await runCli([...base, '--table', 'nosuch.devices']);
    assertUsage(schema, /--apply-feedback: cannot use --table 'nosuch\.devices': unknown database 'nosuch'/);
    const hostile = await runCli([...base, '--table', 'a.b.\u001b]0;owned\u0007']);
    assertUsage(hostile, /got 'a\.b\.\\x1b]0;owned\\x07'/);
    assert.doesNotMatch(hostile.stderr, CONTROL);
  });

  test('--window 0.5 is a usage error (it was a stuck process), --dir naming a file too', async () => {
    const devices = join(dir, 'one.ndjson');
    writeFileSync(devices, `${JSON.stringify({ platform: 'ios', token: iosToken() })}\n`);
    const window = await runCli([...send, '--devices', devices, '--window', '0.5'], { timeoutMs: 20_000 });
    assertUsage(window, /--window must be a whole number ≥ 1, got '0\.5'/);
    const emulate = await runCli(['emulate', '--dir', devices], { timeoutMs: 20_000 });
    assertUsage(emulate, /--dir '.*one\.ndjson' exists and is not a directory/);
  });
});

describe('emulate --dir writes its keys safely', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(async () => {
    await emulator.close();
  });
  const options = { subscriptions: 0, tokens: 0 };
  const mode = (path: string) => statSync(path).mode & 0o777;

  test('key files that existed with 0644 end as 0600; the others are 0644', () => {
    const target = join(dir, 'modes');
    mkdirSync(target);
    const key = join(target, `AuthKey_${emulator.apns.keyId}.p8`);
    for (const name of [key, join(target, 'service-account.json'), join(target, 'vapid-private-key.txt')]) {
      writeFileSync(name, 'old, and longer than what replaces it? no: just old\n'.repeat(200), {
        mode: 0o644,
      });
    }
    const files = writeEmulatorFiles(emulator, target, options);
    for (const secret of [files.apnsKeyFile, files.serviceAccountFile, files.vapidPrivateKeyFile]) {
      assert.equal(mode(secret), 0o600, secret);
    }
    assert.equal(readFileSync(files.apnsKeyFile, 'utf8'), emulator.apns.key, 'the old content is gone');
    assert.equal(mode(files.configFile), 0o644);
  });

  test('a planted symbolic link is refused with a clear error, and nothing is written through it', () => {
    const target = join(dir, 'planted');
    mkdirSync(target);
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'untouched\n', { mode: 0o644 });
    const key = join(target, `AuthKey_${emulator.apns.keyId}.p8`);
    symlinkSync(victim, key);
    assert.throws(
      () => writeEmulatorFiles(emulator, target, options),
      (error: unknown) =>
        error instanceof CliError &&
        error.exitCode === 64 &&
        /refusing to write '.*AuthKey_.*\.p8': it is a symbolic link/.test(error.message),
    );
    assert.equal(readFileSync(victim, 'utf8'), 'untouched\n');
    assert.equal(mode(victim), 0o644);
    assert.ok(lstatSync(key).isSymbolicLink());
  });

  test('a dangling symbolic link is refused too (it would create the file where it points)', () => {
    const target = join(dir, 'dangling');
    mkdirSync(target);
    const elsewhere = join(dir, 'created-elsewhere.json');
    symlinkSync(elsewhere, join(target, 'service-account.json'));
    assert.throws(() => writeEmulatorFiles(emulator, target, options), /it is a symbolic link/);
    assert.equal(existsSync(elsewhere), false);
  });

  test('a file or a directory that belongs to another user is refused', {
    skip: process.getuid?.() !== 0 && 'needs root to chown',
  }, () => {
    const target = join(dir, 'foreign-file');
    mkdirSync(target);
    const planted = join(target, 'vapid-private-key.txt');
    writeFileSync(planted, 'theirs\n', { mode: 0o666 });
    chownSync(planted, 65534, 65534);
    assert.throws(
      () => writeEmulatorFiles(emulator, target, options),
      /'.*vapid-private-key\.txt': it belongs to another user/,
    );
    assert.equal(readFileSync(planted, 'utf8'), 'theirs\n');
    const foreignDir = join(dir, 'foreign-dir');
    mkdirSync(foreignDir);
    chownSync(foreignDir, 65534, 65534);
    assert.throws(
      () => writeEmulatorFiles(emulator, foreignDir, options),
      /the directory belongs to another user/,
    );
  });

  test('the command says so in one line, exit 64', async () => {
    const target = join(dir, 'cli-planted');
    mkdirSync(target);
    symlinkSync(join(dir, 'cli-victim.json'), join(target, 'pushline.json'));
    const run = await runCli(['emulate', '--dir', target], { timeoutMs: 30_000 });
    assertUsage(run, /refusing to write '.*pushline\.json': it is a symbolic link/);
    assert.equal(existsSync(join(dir, 'cli-victim.json')), false);
  });
});

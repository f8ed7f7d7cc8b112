/**
 * Secrets never printed by `pushline send` (issue #12, point 3): each case is a way a key or a
 * password reached an error message, `--debug` output or the summary, checked on everything
 * the process writes, with `--debug` on. Plus `--devices-env`, the way to keep a database
 * password out of the process's argv.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { type EmulatorFiles, writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type CliRun, type CliRunOptions, fcmToken, iosToken, runCli as run } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-secrets-'));
let emulator: Emulator;
let files: EmulatorFiles;
/** A loaded 2-core machine runs several of these at once: a generous limit. */
const runCli = (args: string[], options: CliRunOptions = {}) => run(args, { timeoutMs: 120_000, ...options });
const send = ['send', '--title', 'Hi', '--no-progress', '--debug'];

/** One device from a query, so a PostgreSQL source is read and the Sent: line printed. */
const DEVICE_QUERY = `SELECT 1 AS id, 'ios' AS platform, '${'ab'.repeat(32)}' AS token`;

/**
 * The test PostgreSQL's URL with its password in the userinfo or as ?password=, and the
 * Sent: line expected for it (as a RegExp source); undefined, with the test's skip noted,
 * without DATABASE_URL (`source /tmp/services.env`).
 */
function realDatabase(
  t: { diagnostic(message: string): void },
  form: 'userinfo' | 'query',
): { url: string; password: string; masked: string } | undefined {
  const given = process.env.DATABASE_URL;
  if (!given) {
    t.diagnostic('DATABASE_URL is not set: the Sent: line against a real PostgreSQL was NOT checked');
    return undefined;
  }
  const url = new URL(given);
  const password = decodeURIComponent(url.password);
  assert.ok(password.length >= 4, 'DATABASE_URL needs a password for this test');
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  if (form === 'userinfo') {
    const masked = `${url.protocol}//${url.username}:***@${url.host}${url.pathname}`;
    return { url: url.href, password, masked: literal(masked) };
  }
  url.password = '';
  url.searchParams.set('password', password);
  const masked = `${url.protocol}//${url.username}@${url.host}${url.pathname}?password=***`;
  return { url: url.href, password, masked: literal(masked) };
}

before(async () => {
  emulator = await startEmulator();
  files = writeEmulatorFiles(emulator, dir, { subscriptions: 0, tokens: 0 });
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The base64 body of a PEM, without its BEGIN/END lines and line breaks. */
const pemBody = (pem: string): string =>
  pem
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .join('');

/** Fails when any 12-character piece of `secret` shows anywhere in what the run wrote. */
function assertNotPrinted(run: CliRun, secret: string, label: string): void {
  const printed = run.stdout + run.stderr;
  const compact = secret.replace(/\\n|\s/g, '');
  for (let at = 0; at + 12 <= compact.length; at += 6) {
    const piece = compact.slice(at, at + 12);
    assert.ok(!printed.includes(piece), `a piece of the ${label} was printed: ${printed}`);
  }
}

function devicesFile(name: string, platform: 'ios' | 'android'): string {
  const path = join(dir, name);
  const token = platform === 'ios' ? iosToken() : fcmToken();
  writeFileSync(path, `${JSON.stringify({ id: 1, platform, token })}\n`);
  return path;
}

const apnsEnv = () => ({
  PUSHLINE_APNS_TEAM_ID: emulator.apns.teamId,
  PUSHLINE_APNS_KEY_ID: emulator.apns.keyId,
  PUSHLINE_APNS_TOPIC: emulator.apns.topic,
  PUSHLINE_APNS_ENDPOINT: emulator.apns.origin,
  PUSHLINE_CA_FILE: files.caFiles.apns,
});

describe('secrets are never printed', { concurrency: true }, () => {
  test('GOOGLE_APPLICATION_CREDENTIALS holding the JSON itself is used as the key, and never printed', async () => {
    const json = JSON.stringify(emulator.fcm.serviceAccount);
    const env = {
      GOOGLE_APPLICATION_CREDENTIALS: json,
      PUSHLINE_FCM_ENDPOINT: emulator.fcm.origin,
      PUSHLINE_CA_FILE: files.caFiles.fcm,
    };
    const run = await runCli([...send, '--devices', devicesFile('fcm.ndjson', 'android')], { env });
    assertNotPrinted(run, pemBody(emulator.fcm.serviceAccount.private_key), 'service-account key');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /fcm\s+1\s+0\s+0\s+1/);

    // Malformed JSON: the message says where, never what (V8's own message would quote it).
    const broken = await runCli([...send, '--devices', devicesFile('fcm2.ndjson', 'android')], {
      env: { ...env, GOOGLE_APPLICATION_CREDENTIALS: json.replace('"client_email"', 'client_email') },
    });
    assertNotPrinted(broken, pemBody(emulator.fcm.serviceAccount.private_key), 'service-account key');
    assert.equal(broken.code, 78, broken.stderr);
    assert.match(
      broken.stderr,
      /the service-account JSON held in GOOGLE_APPLICATION_CREDENTIALS is malformed/,
    );
  });

  test('PUSHLINE_APNS_KEY_FILE holding the PEM itself: 78, the key is not printed', async () => {
    const run = await runCli([...send, '--devices', devicesFile('k1.ndjson', 'ios')], {
      env: { ...apnsEnv(), PUSHLINE_APNS_KEY_FILE: emulator.apns.key },
    });
    assertNotPrinted(run, pemBody(emulator.apns.key), '.p8 key');
    assert.equal(run.code, 78, run.stderr);
    assert.match(
      run.stderr,
      /PUSHLINE_APNS_KEY_FILE holds a PEM 'PRIVATE KEY' block \(not shown\), not a file path: .*PUSHLINE_APNS_KEY/,
    );
  });

  test('PUSHLINE_APNS_KEY without its BEGIN/END lines is read as the key; a damaged one is not printed', async () => {
    const body = pemBody(emulator.apns.key);
    const good = await runCli([...send, '--devices', devicesFile('k2.ndjson', 'ios')], {
      env: { ...apnsEnv(), PUSHLINE_APNS_KEY: body },
    });
    assertNotPrinted(good, body, '.p8 key');
    assert.equal(good.code, 0, good.stderr);

    const damaged = `${body.slice(0, 40)}${body.slice(60)}`;
    const bad = await runCli([...send, '--devices', devicesFile('k3.ndjson', 'ios')], {
      env: { ...apnsEnv(), PUSHLINE_APNS_KEY: damaged },
    });
    assertNotPrinted(bad, damaged, '.p8 key');
    assert.equal(bad.code, 78, bad.stderr);
    assert.match(
      bad.stderr,
      /key is neither PEM text nor the path of a file: it holds base64 text .*\(not shown\)/,
    );
  });

  test('keyEnv holding the PEM instead of a variable name: 78, the key is not printed', async () => {
    const apns = JSON.parse(readFileSync(files.configFile, 'utf8')).providers.apns;
    delete apns.keyFile;
    const config = join(dir, 'key-env.json');
    writeFileSync(config, JSON.stringify({ providers: { apns: { ...apns, keyEnv: emulator.apns.key } } }));
    const run = await runCli([...send, '--config', config, '--devices', devicesFile('k4.ndjson', 'ios')]);
    assertNotPrinted(run, pemBody(emulator.apns.key), '.p8 key');
    assert.equal(run.code, 78, run.stderr);
    assert.match(
      run.stderr,
      /providers\.apns\.keyEnv in .* must be the name of an environment variable .*a PEM 'PRIVATE KEY' block \(not shown\)/,
    );
  });

  test('a postgres URL with ?password=: masked on the Sent: line, and a warning about argv', async (t) => {
    const password = 'Pg-S3cret-in-query';
    const url = `postgres://pushline@127.0.0.1:1/app?password=${password}&sslmode=disable`;
    const run = await runCli([
      ...send.filter((flag) => flag !== '--debug'),
      '--emulator',
      '--devices',
      url,
      '--query',
      'SELECT 1',
    ]);
    assert.ok(!(run.stdout + run.stderr).includes(password), run.stdout + run.stderr);
    // Nothing was read: the error alone, no summary of zeros.
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /warning: --devices carries a password on the command line.*--devices-env NAME.*PGPASSWORD/,
    );
    const real = realDatabase(t, 'query');
    if (real === undefined) return;
    const sent = await runCli([...send, '--emulator', '--devices', real.url, '--query', DEVICE_QUERY]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, new RegExp(`^Sent: ${real.masked}$`, 'm'));
    assert.ok(!(sent.stdout + sent.stderr).includes(`password=${real.password}`), sent.stdout + sent.stderr);
  });

  test('--devices-env reads the source from a variable: no password in argv, none printed, no warning', async (t) => {
    const db = join(dir, 'devices.db');
    const sqlite = new Database(db);
    sqlite.exec('CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT, token TEXT)');
    sqlite.prepare('INSERT INTO devices VALUES (1, ?, ?)').run('ios', iosToken());
    sqlite.close();
    const fromEnv = await runCli(
      [
        ...send,
        '--emulator',
        '--devices-env',
        'APP_DEVICES',
        '--query',
        'SELECT id, platform, token FROM devices',
      ],
      { env: { APP_DEVICES: `sqlite:${db}` } },
    );
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.match(fromEnv.stdout, /^Sent: sqlite:.*devices\.db$/m);
    assert.match(fromEnv.stdout, /apns\s+1\s+0\s+0\s+1/);

    const password = 'Pg-S3cret-in-env';
    const postgres = await runCli(
      [...send, '--emulator', '--devices-env', 'APP_DEVICES', '--query', 'SELECT 1'],
      { env: { APP_DEVICES: `postgres://pushline:${password}@127.0.0.1:1/app` } },
    );
    assert.equal(postgres.stdout, '', 'nothing was read: the error alone, no summary of zeros');
    assert.doesNotMatch(postgres.stderr, /warning/);
    assert.ok(!(postgres.stdout + postgres.stderr).includes(password), postgres.stderr);
    const real = realDatabase(t, 'userinfo');
    if (real !== undefined) {
      const sent = await runCli(
        [...send, '--emulator', '--devices-env', 'APP_DEVICES', '--query', DEVICE_QUERY],
        {
          env: { APP_DEVICES: real.url },
        },
      );
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, new RegExp(`^Sent: ${real.masked}$`, 'm'));
      assert.doesNotMatch(sent.stderr, /warning/);
      // The test server's password may equal its user name: look for it where a URL holds it.
      assert.ok(!(sent.stdout + sent.stderr).includes(`:${real.password}@`), sent.stderr);
    }

    const unset = await runCli([...send, '--emulator', '--devices-env', 'NOT_SET_ANYWHERE']);
    assert.equal(unset.code, 64, unset.stderr);
    assert.match(
      unset.stderr,
      /--devices-env names the environment variable NOT_SET_ANYWHERE, which is not set/,
    );
  });
});

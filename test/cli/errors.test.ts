/**
 * Bad input ends with ONE clear message naming the problem and the fix, the documented exit
 * code, no stack trace (unless --debug), no secret in the output, and a feedback line in
 * --out for every device that was read.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { type EmulatorFiles, writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type CliRun, iosToken, ndjson, runCli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-errors-'));
let emulator: Emulator;
let files: EmulatorFiles;
const SECRET = 'S3CRET-do-not-print-me';

before(async () => {
  emulator = await startEmulator();
  files = writeEmulatorFiles(emulator, dir, { subscriptions: 0, tokens: 0 });
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

function writeJson(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

function devicesFile(name: string, count: number): string {
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({ id: i, platform: 'ios', token: iosToken() }),
  );
  return writeJson(name, `${lines.join('\n')}\n`);
}

/** One `pushline: error:` line, the expected code, no stack trace. */
function assertOneError(run: CliRun, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, `exit code; stderr: ${run.stderr}`);
  const errors = run.stderr.split('\n').filter((line) => line.startsWith('pushline: error:'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0]!, pattern);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'a stack trace was printed');
}

const apnsSection = () => JSON.parse(readFileSync(files.configFile, 'utf8')).providers.apns;
const send = ['send', '--title', 'Hi', '--no-progress'];

// At most four CLI children at once: each starts a Node process (~2 s of CPU), and a dozen at
// once on a loaded 2-core machine ran into the 40 s kill with no output.
describe('bad input', { concurrency: 4 }, () => {
  test('a missing key file: 78, names the file and the config field', async () => {
    const config = writeJson('missing-key.json', {
      providers: { apns: { ...apnsSection(), keyFile: 'nope/AuthKey.p8' } },
    });
    const run = await runCli([...send, '--config', config, '--devices', devicesFile('d1.ndjson', 1)]);
    assertOneError(
      run,
      78,
      /cannot read the file '.*nope\/AuthKey\.p8' named by providers\.apns\.keyFile .*\(no such file\): fix the path/,
    );
  });

  test('a key file that is not a key: 78, and its content is never printed', async () => {
    const keyFile = writeJson(
      'bad.p8',
      `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----\n`,
    );
    const config = writeJson('bad-key.json', { providers: { apns: { ...apnsSection(), keyFile } } });
    const run = await runCli([...send, '--config', config, '--devices', devicesFile('d2.ndjson', 1)]);
    assertOneError(run, 78, /apns: key is not a PKCS#8 EC P-256 private key/);
    assert.ok(!run.stderr.includes(SECRET) && !run.stdout.includes(SECRET));
  });

  test('a secret in an environment variable is not printed, even with --debug', async () => {
    const run = await runCli([...send, '--devices', devicesFile('d3.ndjson', 1), '--debug'], {
      env: {
        PUSHLINE_APNS_TEAM_ID: 'ABCDE12345',
        PUSHLINE_APNS_KEY_ID: 'KEY1234567',
        PUSHLINE_APNS_KEY: `-----BEGIN PRIVATE KEY-----\\n${SECRET}\\n-----END PRIVATE KEY-----`,
        PUSHLINE_APNS_TOPIC: 'com.example.app',
        PUSHLINE_APNS_PRODUCTION: 'false',
      },
    });
    assert.equal(run.code, 78, run.stderr);
    assert.ok(!run.stderr.includes(SECRET) && !run.stdout.includes(SECRET), run.stderr);
  });

  test('a malformed config file: 78, with the line and column but no quoted text', async () => {
    const config = writeJson(
      'malformed.json',
      `{\n  "providers": {\n    "webpush": { "privateKey": "${SECRET}" oops }\n  }\n}\n`,
    );
    const run = await runCli([...send, '--config', config, '--devices', devicesFile('d4.ndjson', 1)]);
    assertOneError(
      run,
      78,
      /the config file '.*malformed\.json' is malformed: it is not valid JSON \(syntax error at line 3, column \d+\)/,
    );
    assert.ok(!run.stderr.includes(SECRET));
  });

  test('a config with an unknown field: 78, listing the known ones', async () => {
    const config = writeJson('typo.json', { providers: { fcm: { serviceAcountFile: 'x.json' } } });
    const run = await runCli([...send, '--config', config, '--devices', devicesFile('d5.ndjson', 1)]);
    assertOneError(
      run,
      78,
      /providers\.fcm has an unknown field 'serviceAcountFile'; known fields: serviceAccountFile/,
    );
  });

  test('no provider configured at all: 78, pointing at --config, the variables and --emulator', async () => {
    const run = await runCli([...send, '--devices', devicesFile('d6.ndjson', 1)]);
    assertOneError(run, 78, /no provider is configured: give --config FILE.*--emulator/);
  });

  test('an unknown source scheme: 64, listing the supported ones', async () => {
    const run = await runCli([...send, '--config', files.configFile, '--devices', 'mysql://u:pw@db/app']);
    assertOneError(
      run,
      64,
      /unknown device source scheme in 'mysql:\/\/u:\*\*\*@db\/app'; use sqlite:<path>, postgres:/,
    );
    assert.ok(!run.stderr.includes('pw@'), 'the password was printed');
  });

  test('a database source without --query: 64', async () => {
    const db = join(dir, 'noquery.db');
    new Database(db).close();
    const run = await runCli([...send, '--config', files.configFile, '--devices', `sqlite:${db}`]);
    assertOneError(run, 64, /a sqlite source needs a query, e\.g\. --query 'SELECT/);
  });

  test('a devices file that does not exist: 66', async () => {
    const run = await runCli([
      ...send,
      '--config',
      files.configFile,
      '--devices',
      join(dir, 'absent.ndjson'),
    ]);
    assertOneError(run, 66, /the device source '.*absent\.ndjson' does not exist/);
  });

  test('a query that returns no token column: 65, naming the columns it did return', async () => {
    const db = join(dir, 'columns.db');
    const setup = new Database(db);
    setup.exec(
      "CREATE TABLE devices (id INTEGER, os TEXT, device_token TEXT); INSERT INTO devices VALUES (1, 'ios', 'x')",
    );
    setup.close();
    const out = join(dir, 'columns.ndjson');
    const run = await runCli([
      ...send,
      '--config',
      files.configFile,
      '--devices',
      `sqlite:${db}`,
      '--query',
      'SELECT id, os, device_token FROM devices',
      '--out',
      out,
    ]);
    assertOneError(
      run,
      65,
      /returned the columns id, os, device_token but no token column 'token'.*alias it/,
    );
    assert.equal(readFileSync(out, 'utf8'), '', 'no device was read');
  });

  test('--apply-feedback on a file source, and with --dry-run: 64', async () => {
    const file = devicesFile('d7.ndjson', 1);
    const onFile = await runCli([
      ...send,
      '--config',
      files.configFile,
      '--devices',
      file,
      '--apply-feedback',
      '--table',
      't',
    ]);
    assertOneError(onFile, 64, /--apply-feedback needs a database source/);
    const dry = await runCli([
      ...send,
      '--config',
      files.configFile,
      '--devices',
      file,
      '--apply-feedback',
      '--dry-run',
    ]);
    assertOneError(dry, 64, /--dry-run and --apply-feedback do not mix/);
  });

  test('usage errors: unknown option, missing --devices, nothing to send: 64', async () => {
    const unknown = await runCli(['send', '--colour', 'red']);
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /pushline: error: unknown option '--colour'/);
    const noDevices = await runCli(['send', '--title', 'x', '--emulator']);
    assertOneError(noDevices, 64, /give the devices with --devices/);
    const nothing = await runCli(['send', '--emulator', '--devices', devicesFile('d8.ndjson', 1)]);
    assertOneError(nothing, 64, /nothing to send: give --title/);
  });

  test('credentials the provider refuses: 78, and every device still has its line in --out', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyFile = writeJson('other.p8', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const config = writeJson('refused.json', { providers: { apns: { ...apnsSection(), keyFile } } });
    const out = join(dir, 'refused.ndjson');
    const run = await runCli([
      ...send,
      '--config',
      config,
      '--devices',
      devicesFile('d9.ndjson', 50),
      '--out',
      out,
    ]);
    assertOneError(run, 78, /apns stopped: .*InvalidProviderToken.*check its credentials/);
    const lines = ndjson(readFileSync(out, 'utf8'));
    assert.equal(lines.length, 50);
    assert.ok(lines.every((line) => line.status === 'failed' && line.error?.code === 'auth'));
  });

  test('the database goes away mid-run: 74, and every device read has its line in --out', async () => {
    const slow = await startEmulator({ apns: { scenarios: { latencyMs: 20 } }, fcm: false, webpush: false });
    try {
      const config = writeJson('slow.json', {
        providers: {
          apns: {
            teamId: slow.apns.teamId,
            keyId: slow.apns.keyId,
            key: slow.apns.key,
            topic: slow.apns.topic,
            endpoint: slow.apns.origin,
            caFile: writeJson('slow-ca.pem', slow.apns.ca),
          },
        },
      });
      const db = join(dir, 'vanishing.db');
      const setup = new Database(db);
      setup.exec('CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT, token TEXT, pad TEXT)');
      const insert = setup.prepare("INSERT INTO devices VALUES (?, 'ios', ?, ?)");
      setup.transaction(() => {
        for (let id = 1; id <= 20_000; id++) insert.run(id, iosToken(), 'x'.repeat(300));
      })();
      setup.close();
      const out = join(dir, 'vanishing.ndjson');
      const running = runCli([
        ...send,
        '--config',
        config,
        '--devices',
        `sqlite:${db}`,
        '--query',
        'SELECT id, platform, token FROM devices',
        '--window',
        '200',
        '--out',
        out,
        '--json',
      ]);
      // Once feedback flows, the file is cut to nothing under the reading cursor.
      for (let i = 0; i < 400 && !(existsSync(out) && statSync(out).size > 0); i++) await sleep(25);
      truncateSync(db, 0);
      const run = await running;
      assertOneError(
        run,
        74,
        /the device source failed: sqlite: reading devices failed after \d+ rows: .*fix the source and run again/,
      );
      const summary = JSON.parse(run.stdout).summary;
      const lines = ndjson(readFileSync(out, 'utf8'));
      assert.ok(summary.total > 0 && summary.total < 20_000, `read ${summary.total}`);
      assert.equal(lines.length, summary.total);
      assert.equal(new Set(lines.map((line) => line.device.id)).size, summary.total);
    } finally {
      await slow.close();
    }
  });
});

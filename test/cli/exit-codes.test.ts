/**
 * The README's exit-code table, row by row: it is parsed from README.md, must list exactly the
 * codes of `EXIT` (and of `--help`), and every code in it has at least one case here that
 * makes `pushline` end with it — so a row added without a test, or a code the table does not
 * list, fails this file. Every error case also checks the error is ONE line on stderr.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { EXIT, EXIT_CODES_HELP } from '../../src/cli/exit-codes.js';
import { reportError } from '../../src/cli/report.js';
import { startEmulator } from '../../src/emulator/index.js';
import { type CliRun, iosToken, ROOT, runCli, startCli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-exit-codes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Simulates a missing optional package: see fixtures/hide-packages.cjs. */
const HIDE = join(ROOT, 'test/cli/fixtures/hide-packages.cjs');
const without = (pkg: string) => ({ HIDE_PACKAGES: pkg, NODE_OPTIONS: `--require ${HIDE}` });

/** The codes of the README's "### Exit codes" table, in its order. */
function readmeCodes(): number[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('\n### Exit codes\n')[1]?.split('\n#')[0];
  assert.ok(section, 'README.md has no "### Exit codes" section');
  return [...section.matchAll(/^\| (\d+) \|/gm)].map((match) => Number(match[1]));
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const device = () => JSON.stringify({ id: 1, platform: 'ios', token: iosToken() });
const send = (...args: string[]) => ['send', '--emulator', '--title', 'Hi', '--no-progress', ...args];

/** The code, and for an error exactly one stderr line, `pushline: error: …`, matching `pattern`. */
function assertExit(run: CliRun, code: number, pattern?: RegExp): void {
  assert.equal(run.code, code, `exit code; stderr: ${run.stderr}`);
  if (pattern === undefined) return;
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0]!, /^pushline: error: /);
  assert.match(lines[0]!, pattern);
}

/** The codes that have a case below, filled as the cases are declared. */
const covered = new Set<number>();
function row(code: number, name: string, fn: (t: TestContext) => Promise<void> | void): void {
  covered.add(code);
  test(`${code}: ${name}`, fn);
}

// At most three CLI children at once on a 2-core machine shared with other test files.
describe('each row of the table', { concurrency: 3 }, () => {
  row(0, 'every device sent', async () => {
    assertExit(await runCli(send('--devices', write('ok.ndjson', `${device()}\n`))), 0);
  });

  row(1, 'a malformed device line fails alone: partial failure', async () => {
    const run = await runCli(send('--devices', write('partial.ndjson', `${device()}\n{oops\n`)));
    assertExit(run, 1);
    assert.match(run.stderr, /1 device failed, each for its own reason/);
  });

  row(64, 'an unknown option: one line naming the --help to read', async () => {
    assertExit(
      await runCli(['send', '--colour', 'red']),
      64,
      /^pushline: error: unknown option '--colour' \(see pushline send --help\)$/,
    );
  });

  row(64, 'a misspelt option or command: the did-you-mean on the same line', async () => {
    assertExit(
      await runCli(['send', '--dry-rn']),
      64,
      /^pushline: error: unknown option '--dry-rn': did you mean --dry-run\? \(see pushline send --help\)$/,
    );
    assertExit(
      await runCli(['sned']),
      64,
      /^pushline: error: unknown command 'sned': did you mean send\? \(see pushline --help\)$/,
    );
  });

  row(64, 'a bad choice or a missing option value: one line', async () => {
    assertExit(
      await runCli(['send', '--priority', 'urgent']),
      64,
      /argument 'urgent' is invalid\. Allowed choices are high, normal, low \(see pushline send --help\)$/,
    );
    assertExit(await runCli(['demo', '--db']), 64, /argument missing \(see pushline demo --help\)$/);
  });

  row(64, 'a database source without --query, in the flags’ words', async () => {
    const db = join(dir, 'noquery.db');
    new Database(db).close();
    assertExit(
      await runCli(send('--devices', `sqlite:${db}`)),
      64,
      /a sqlite source needs a query, e\.g\. --query 'SELECT/,
    );
  });

  row(65, 'a notification file with an unknown field', async () => {
    const notification = write('typo.json', '{"titel":"x"}');
    const run = await runCli([
      'send',
      '--emulator',
      '--no-progress',
      '--devices',
      write('d65.ndjson', `${device()}\n`),
      '--notification',
      notification,
    ]);
    assertExit(run, 65, /unknown field 'titel' \(did you mean 'title'\?\)/);
  });

  row(65, 'a query without a platform column: the hint names --platform-column and --platform', async () => {
    const db = join(dir, 'columns.db');
    const setup = new Database(db);
    setup.exec(
      "CREATE TABLE devices (id INTEGER, os TEXT, token TEXT); INSERT INTO devices VALUES (1, 'ios', 'x')",
    );
    setup.close();
    const run = await runCli(
      send('--devices', `sqlite:${db}`, '--query', 'SELECT id, os, token FROM devices'),
    );
    assertExit(
      run,
      65,
      /no platform column 'platform': name yours with --platform-column <column>, alias it .*or give --platform ios\|android\|web\|huawei when/,
    );
    assert.doesNotMatch(run.stderr, /columns: \{|platform: 'ios'/, 'a library option in a CLI hint');
    assert.doesNotMatch(run.stdout, /provider/, 'a summary table of zeros before the error');
  });

  row(66, 'a devices file that does not exist', async () => {
    assertExit(
      await runCli(send('--devices', join(dir, 'absent.ndjson'))),
      66,
      /the device source '.*absent\.ndjson' does not exist: check the path given to --devices/,
    );
  });

  row(66, 'serve and worker with a --config file that does not exist', async () => {
    const missing = join(dir, 'absent.json');
    for (const command of ['serve', 'worker']) {
      assertExit(
        await runCli([command, '--config', missing]),
        66,
        /cannot read the config file '.*absent\.json' \(ENOENT\): check the path given to --config/,
      );
    }
  });

  row(70, 'an internal error (a bug): one line pointing at --debug, the stack only with it', () => {
    const stderr = new PassThrough();
    assert.equal(reportError(new TypeError('x is not a function'), stderr, false), 70);
    const text = String(stderr.read());
    assert.match(
      text,
      /^pushline: error: internal error: x is not a function \(run again with --debug for the stack trace, and please report it\)\n$/,
    );
    const debug = new PassThrough();
    assert.equal(reportError(new TypeError('x is not a function'), debug, true), 70);
    assert.match(String(debug.read()), /\n\s+at /);
  });

  row(74, '--out cannot be written', async () => {
    assertExit(
      await runCli(
        send('--devices', write('d74.ndjson', `${device()}\n`), '--out', join(dir, 'no/such/dir.ndjson')),
      ),
      74,
      /cannot write --out '.*' \(ENOENT\): check the directory/,
    );
  });

  row(78, 'no provider configured', async () => {
    assertExit(
      await runCli([
        'send',
        '--title',
        'Hi',
        '--no-progress',
        '--devices',
        write('d78.ndjson', `${device()}\n`),
      ]),
      78,
      /no provider is configured: give --config FILE/,
    );
  });

  row(
    78,
    'a missing optional driver (better-sqlite3): one line naming the install, for send and demo',
    async () => {
      const db = join(dir, 'nodriver.db');
      new Database(db).close();
      const pattern =
        /^pushline: error: the SQLite store needs the better-sqlite3 package: npm install better-sqlite3$/;
      const query = ['--query', 'SELECT 1 AS id, 2 AS platform, 3 AS token'];
      assertExit(
        await runCli(send('--devices', `sqlite:${db}`, ...query), { env: without('better-sqlite3') }),
        78,
        pattern,
      );
      assertExit(
        await runCli(send('--devices', `sqlite:${db}`, ...query, '--apply-feedback', '--table', 't'), {
          env: without('better-sqlite3'),
        }),
        78,
        pattern,
      );
      assertExit(
        await runCli(['demo', '--devices-count', '10'], { env: without('better-sqlite3') }),
        78,
        pattern,
      );
    },
  );

  row(78, 'a missing optional driver (csv-parse)', async () => {
    const csv = write('devices.csv', `platform,token\nios,${iosToken()}\n`);
    assertExit(
      await runCli(send('--devices', csv), { env: without('csv-parse') }),
      78,
      /^pushline: error: the CSV source needs the csv-parse package: npm install csv-parse$/,
    );
  });

  row(
    78,
    'PostgreSQL refusing the password at start: configuration, and the password is not echoed',
    async (t) => {
      if (!process.env.DATABASE_URL) {
        t.skip('DATABASE_URL is not set: source /tmp/services.env (PostgreSQL) to run this test');
        return;
      }
      const url = new URL(process.env.DATABASE_URL);
      url.password = 'wrong-Pa55word-w17';
      const query = ['--query', 'SELECT 1 AS id, 2 AS platform, 3 AS token'];
      for (const extra of [[], ['--apply-feedback', '--table', 'devices']]) {
        const run = await runCli(send('--devices-env', 'PUSHLINE_TEST_DB', ...query, ...extra), {
          env: { PUSHLINE_TEST_DB: url.href },
        });
        assertExit(
          run,
          78,
          /the database refused the connection: .*password authentication failed .*: check the user, password and database name in --devices/,
        );
        assert.ok(!run.stderr.includes('wrong-Pa55word') && !run.stdout.includes('wrong-Pa55word'));
        assert.equal(run.stdout, '', 'a summary table of zeros before the error');
      }
    },
  );

  row(130, 'SIGINT mid-send', async (t) => {
    // Answers take 200 ms and 20 are in flight at most: 400 devices last ~4 s, long enough to
    // be interrupted.
    const slow = await startEmulator({ apns: { scenarios: { latencyMs: 200 }, record: false } });
    t.after(() => slow.close());
    const files = writeEmulatorFiles(slow, mkdtempSync(join(dir, 'slow-')), { subscriptions: 0, tokens: 0 });
    const devices = write(
      'd130.ndjson',
      Array.from({ length: 400 }, (_, i) =>
        JSON.stringify({ id: i, platform: 'ios', token: iosToken() }),
      ).join('\n'),
    );
    const cli = startCli([
      'send',
      '--config',
      files.configFile,
      '--devices',
      devices,
      '--title',
      'Hi',
      '--window',
      '20',
      '--progress-interval',
      '0.1',
    ]);
    try {
      // A progress line with a device sent: the command is under way, devices are in flight.
      for (let i = 0; i < 600 && !/sent [1-9]/.test(cli.stderr()); i++) await sleep(50);
      assert.match(cli.stderr(), /sent [1-9]/, 'the send never got under way');
      cli.child.kill('SIGINT');
      const run = await cli.done;
      assert.equal(run.code, 130, run.stderr);
      assert.match(run.stdout, /interrupted: the devices read so far have their feedback/);
    } finally {
      cli.child.kill('SIGKILL');
    }
  });

  row(
    130,
    'SIGINT while stdin waits on a producer that lives on: the send ends at the first signal',
    async () => {
      const cli = startCli(
        ['send', '--emulator', '--devices', '-', '--title', 'Hi', '--progress-interval', '0.1'],
        { input: `${device()}\n`, keepStdinOpen: true, timeoutMs: 30_000 },
      );
      try {
        // The device is sent and the source waits for the next line, which never comes.
        for (let i = 0; i < 600 && !/sent 1\b/.test(cli.stderr()); i++) await sleep(50);
        assert.match(cli.stderr(), /sent 1\b/, 'the send never got under way');
        cli.child.kill('SIGINT');
        const run = await cli.done;
        assert.equal(run.code, 130, run.stderr);
        assert.match(run.stdout, /apns\s+1\s+0\s+0\s+1/);
        assert.match(run.stdout, /interrupted: the devices read so far have their feedback/);
      } finally {
        cli.child.stdin.end();
        cli.child.kill('SIGKILL');
      }
    },
  );
});

// Declared last: every row() above has registered its code by now.
test('the README table, EXIT and --help list the same exit codes, and each has a case here', () => {
  const codes = readmeCodes();
  assert.ok(codes.length >= 9, `parsed ${codes.length} rows`);
  const sorted = (values: Iterable<number>) => [...new Set(values)].sort((a, b) => a - b);
  assert.deepEqual(sorted(codes), sorted(Object.values(EXIT)), 'README table vs EXIT');
  const help = [...EXIT_CODES_HELP.matchAll(/^ {2}(\d+) /gm)].map((match) => Number(match[1]));
  assert.deepEqual(sorted(help), sorted(codes), '--help vs README table');
  assert.deepEqual(sorted(covered), sorted(codes), 'a README row without a case in this file');
});

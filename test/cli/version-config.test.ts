/**
 * Rows of the exit-code table: `--version` (0) and a --config file that does not exist (66,
 * "a file named on the command line is missing"), as against a file the config names (78).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT, runCli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-version-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('pushline --version prints the package version and exits 0', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const run = await runCli(['--version']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, `${version}\n`);
});

test('a --config file that does not exist: 66, one line naming the path and the flag', async () => {
  const missing = join(dir, 'nope.json');
  const devices = join(dir, 'devices.ndjson');
  const run = await runCli([
    'send',
    '--title',
    'Hi',
    '--no-progress',
    '--config',
    missing,
    '--devices',
    devices,
  ]);
  assert.equal(run.code, 66, run.stderr);
  const errors = run.stderr.split('\n').filter((line) => line.startsWith('pushline: error:'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(
    errors[0]!,
    /cannot read the config file '.*nope\.json' \(ENOENT\): check the path given to --config/,
  );
});

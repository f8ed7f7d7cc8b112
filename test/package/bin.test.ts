/**
 * The bin from a checkout that was never built: one line saying what to run, not a stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

test('bin/pushline.js without dist/ exits 70 with one line naming npm run build', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-bin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(resolve(import.meta.dirname, '../../bin/pushline.js'), join(dir, 'bin/pushline.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  const result = spawnSync(process.execPath, [join(dir, 'bin/pushline.js'), '--help'], { encoding: 'utf8' });
  assert.equal(result.status, 70);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, /npm run build/);
});

/**
 * `instanceof PushError` across two installed copies of pushline (issue #11): an app and a
 * library it uses may each load their own copy; a PushError from one must be recognised by the
 * other, as undici's errors are.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PushError } from '../src/errors.js';

test('a PushError from another copy of the module is instanceof PushError, and nothing else is', async (t) => {
  // A second copy of errors.ts at another path: a separate module instance with its own class.
  const dir = mkdtempSync(join(tmpdir(), 'pushline-copy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(fileURLToPath(new URL('../src/errors.ts', import.meta.url)), join(dir, 'errors.ts'));
  const other = (await import(
    pathToFileURL(join(dir, 'errors.ts')).href
  )) as typeof import('../src/errors.js');
  assert.notEqual(other.PushError, PushError, 'two distinct classes');
  const foreign = new other.PushError('invalid-token', 'dead');
  assert.ok(foreign instanceof PushError);
  assert.ok(new PushError('timeout', 'late') instanceof other.PushError);
  assert.ok(foreign instanceof Error);
  assert.equal(new Error('plain') instanceof PushError, false);
  assert.equal(Object.assign(new Error('look-alike'), { code: 'invalid-token' }) instanceof PushError, false);
  assert.equal((null as unknown) instanceof PushError, false);
});

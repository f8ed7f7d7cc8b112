/**
 * `pushline send --delivery`: the library's delivery semantics on the command line
 * (at-least-once by default; at-most-once never re-sends a device whose answer was lost).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { iosToken, runCli } from './support.js';

test('--delivery takes at-least-once or at-most-once, and refuses anything else as a usage error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-delivery-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const devices = join(dir, 'devices.ndjson');
  writeFileSync(devices, `${JSON.stringify({ platform: 'ios', token: iosToken(), id: 1 })}\n`);
  const send = ['send', '--emulator', '--devices', devices, '--title', 'Hi', '--no-progress', '--json'];
  const bad = await runCli([...send, '--delivery', 'exactly-once']);
  assert.equal(bad.code, 64, bad.stderr);
  assert.match(bad.stderr, /--delivery must be at-least-once or at-most-once, got 'exactly-once'/);
  for (const semantics of ['at-most-once', 'at-least-once']) {
    const run = await runCli([...send, '--delivery', semantics]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).summary.sent, 1);
  }
});

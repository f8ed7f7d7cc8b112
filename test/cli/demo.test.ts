/**
 * `pushline demo` in a subprocess, checked from outside through SQLite: exactly the tokens
 * the emulators' scenarios make dead are deleted. The dead iOS and Android tokens are
 * recomputed here from the scenarios' hash rules, independently of the demo's own table.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { tokenFraction } from '../../src/emulator/apns/scenarios.js';
import { runCli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-demo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pushline demo', () => {
  test('2,000 devices: deletes exactly the dead tokens and reports it as JSON', async () => {
    const db = join(dir, 'demo.db');
    // Half web devices: dead web subscriptions are picked by a hash of random endpoints at 2%, so
    // 200 of them would have none ~2% of the time; 1,000 never in practice (0.98^1000).
    const run = await runCli([
      'demo',
      '--devices-count',
      '2000',
      '--db',
      db,
      '--json',
      '--seed',
      '7',
      '--web-share',
      '0.5',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.passed, true);
    assert.equal(result.devices, 2000);
    // Huawei's 10% of the total is taken from the other half: 200 of its 1,000.
    assert.deepEqual(result.created, { ios: 400, android: 400, web: 1000, huawei: 200 });
    assert.equal(result.summary.total, 2000);
    assert.equal(result.summary.failed, 0);

    const sqlite = new Database(db, { readonly: true });
    try {
      const dead = sqlite.prepare('SELECT id, platform FROM demo_dead').all() as {
        id: number;
        platform: string;
      }[];
      const remaining = sqlite.prepare('SELECT id, platform, token FROM devices').all() as {
        id: number;
        platform: string;
        token: string;
      }[];
      // A realistic share died on every platform.
      for (const platform of ['ios', 'android', 'web', 'huawei']) {
        assert.ok(
          dead.some((row) => row.platform === platform),
          `no dead ${platform} device`,
        );
      }
      assert.equal(result.summary.invalidToken, dead.length);
      assert.equal(remaining.length, 2000 - dead.length);
      const deadIds = new Set(dead.map((row) => row.id));
      assert.ok(
        remaining.every((row) => !deadIds.has(row.id)),
        'a dead token is still in the table',
      );
      // Independently of demo_dead: no remaining token is one the scenarios' rules make dead.
      for (const row of remaining) {
        if (row.platform === 'ios') assert.ok(tokenFraction(row.token, 'unregistered') >= 0.03, row.token);
        if (row.platform === 'android') assert.ok(tokenFraction(row.token, 'demo-fcm-7') >= 0.02, row.token);
        if (row.platform === 'huawei') assert.ok(tokenFraction(row.token, 'demo-hms-7') >= 0.02, row.token);
      }
      const removedIos = 400 - remaining.filter((row) => row.platform === 'ios').length;
      assert.equal(removedIos, result.removed.ios);
    } finally {
      sqlite.close();
    }
  });

  test('prints the summary, the rows removed per platform and its checks for people', async () => {
    const run = await runCli(['demo', '--devices-count', '300', '--progress-interval', '0.05']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /provider\s+sent\s+dead token\s+failed\s+total/);
    assert.match(run.stdout, /platform\s+before\s+removed\s+remaining/);
    assert.match(run.stdout, /check: remaining rows [\d,]+ = 300 − \d+ removed: ok/);
    assert.match(run.stdout, /exactly the \d+ tokens the emulators made dead are gone \(0 left\): ok/);
    assert.match(run.stdout, /web devices are 10% of the total/);
    assert.doesNotMatch(run.stdout, /FAILED/);
  });
});

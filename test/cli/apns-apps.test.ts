/**
 * One APNs key, many apps, from `pushline.json`: `providers.apns.apps` makes one provider per
 * app of the key — one connection and one provider token for all — and `pushline send` reports
 * each app on its own row. Against the APNs emulator, whose team owns both bundle ids.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { loadSendConfig } from '../../src/cli/config.js';
import { providersFromConfig } from '../../src/cli/providers.js';
import type { ApnsEmulator } from '../../src/emulator/apns/index.js';
import { startApnsEmulator } from '../../src/emulator/apns/index.js';
import { cleanEnv, iosToken, runCli } from './support.js';

const CONSUMER = 'com.example.app';
const PRO = 'com.example.pro';
const TEAM = 'TEAMAPPS01';

let emulator: ApnsEmulator;
const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-apns-apps-'));

before(async () => {
  emulator = await startApnsEmulator({ teamId: TEAM, topic: CONSUMER, teams: { [TEAM]: [CONSUMER, PRO] } });
  writeFileSync(join(dir, 'AuthKey.p8'), emulator.key);
  writeFileSync(join(dir, 'ca.pem'), emulator.ca);
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => emulator.reset());

/** A config file with one APNs key and `apns` extra fields; returns its path. */
function config(name: string, apns: Record<string, unknown>): string {
  const path = join(dir, `${name}.json`);
  const base = {
    teamId: TEAM,
    keyId: emulator.keyId,
    keyFile: 'AuthKey.p8',
    caFile: 'ca.pem',
    endpoint: (emulator.providerOptions as { endpoint: string }).endpoint,
    connections: 1,
  };
  writeFileSync(path, JSON.stringify({ providers: { apns: { ...base, ...apns } } }));
  return path;
}

describe('providers.apns.apps', () => {
  test('parses into one apns() per app: the section’s own, then each app with its topic and name', async () => {
    const file = config('parse', {
      topic: CONSUMER,
      name: 'consumer',
      apps: [
        { app: 'pro', topic: PRO },
        { app: 'kids', topic: 'com.example.kids', name: 'apns-kids' },
      ],
    });
    const { providers } = loadSendConfig(file, cleanEnv());
    assert.deepEqual(
      providers.apns!.map((o) => [o.app, o.topic, o.name]),
      [
        [undefined, CONSUMER, 'consumer'],
        ['pro', PRO, undefined],
        ['kids', 'com.example.kids', 'apns-kids'],
      ],
    );
    const built = providersFromConfig(providers);
    try {
      assert.deepEqual(
        built.map((p) => [p.name, p.app]),
        [
          ['consumer', undefined],
          ['apns:pro', 'pro'],
          ['apns-kids', 'kids'],
        ],
      );
    } finally {
      await Promise.all(built.map((p) => p.close()));
    }
  });

  test('without a topic, only the apps are served', () => {
    const { providers } = loadSendConfig(
      config('only-apps', { apps: [{ app: 'pro', topic: PRO }] }),
      cleanEnv(),
    );
    assert.deepEqual(
      providers.apns!.map((o) => [o.app, o.topic]),
      [['pro', PRO]],
    );
  });

  test('an app entry without its topic is a config error naming the field', async () => {
    const run = await runCli(
      [
        'send',
        '--config',
        config('no-topic', { topic: CONSUMER, apps: [{ app: 'pro' }] }),
        '--devices',
        '-',
        '--title',
        'x',
      ],
      { input: '' },
    );
    assert.equal(run.code, 78, run.stderr);
    assert.match(run.stderr, /providers\.apns\.apps\[0\] .*lacks topic/);
  });

  test('pushline send: both apps over one connection and one token, one summary row per app', async () => {
    const devices = [
      { platform: 'ios', token: iosToken() },
      { platform: 'ios', token: iosToken(), app: 'pro' },
      { platform: 'ios', token: iosToken(), app: 'pro' },
    ];
    const run = await runCli(
      [
        'send',
        '--config',
        config('send', { topic: CONSUMER, apps: [{ app: 'pro', topic: PRO }] }),
        '--devices',
        '-',
        '--title',
        'Hi',
        '--json',
      ],
      { input: devices.map((d) => JSON.stringify(d)).join('\n') },
    );
    assert.equal(run.code, 0, run.stderr);
    const { summary } = JSON.parse(run.stdout);
    assert.equal(summary.sent, 3);
    assert.deepEqual(summary.providers, {
      apns: { sent: 1, validated: 0, invalidToken: 0, failed: 0 },
      'apns:pro': { sent: 2, validated: 0, invalidToken: 0, failed: 0 },
    });
    const topics = new Map(emulator.notifications.map((n) => [n.token, n.topic]));
    assert.deepEqual(
      devices.map((d) => topics.get(d.token)),
      [CONSUMER, PRO, PRO],
    );
    assert.equal(emulator.stats().connections, 1);
    assert.equal(emulator.stats().providerTokens, 1);
  });

  test('pushline send prints a row per app in its table', async () => {
    const run = await runCli(
      [
        'send',
        '--config',
        config('table', { topic: CONSUMER, apps: [{ app: 'pro', topic: PRO, name: 'apns-pro' }] }),
        '--devices',
        '-',
        '--title',
        'Hi',
      ],
      {
        input: [
          { platform: 'ios', token: iosToken() },
          { platform: 'ios', token: iosToken(), app: 'pro' },
        ]
          .map((d) => JSON.stringify(d))
          .join('\n'),
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const rows = run.stdout.split('\n').map((line) => line.trim().split(/\s+/));
    assert.ok(
      rows.some((cells) => cells[0] === 'apns' && cells[1] === '1'),
      run.stdout,
    );
    assert.ok(
      rows.some((cells) => cells[0] === 'apns-pro' && cells[1] === '1'),
      run.stdout,
    );
  });
});

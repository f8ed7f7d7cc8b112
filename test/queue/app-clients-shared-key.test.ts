/**
 * `pushline serve` / `pushline worker` apps sharing one APNs key (issue #18): each entry of
 * `apps` has its own client, yet apps signed by the same key share one connection and one
 * provider token; `apns.apps` inside a section adds per-app providers to that client.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { CONFIG_SCHEMA, loadConfig } from '../../src/config/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import { appClients } from '../../src/queue/app-clients.js';

const TEAM = 'TEAMSERVE1';
const SHOP = 'com.example.shop';
const PRO = 'com.example.pro';
const token = (i: number) => (0x77000 + i).toString(16).padStart(64, '0');

test('apps with the same APNs key share one connection and one token; apns.apps adds providers by app', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-app-clients-key-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const emulator = await startEmulator({
    apns: { teamId: TEAM, topic: SHOP, teams: { [TEAM]: [SHOP, PRO] } },
  });
  t.after(() => emulator.close());
  const files = writeEmulatorFiles(emulator, dir);
  const written = JSON.parse(readFileSync(files.configFile, 'utf8'));
  const key = { ...written.providers.apns, connections: 1 };
  written.apps = {
    shop: { apns: { ...key, topic: SHOP, apps: [{ app: 'pro', topic: PRO }] } },
    pro: { apns: { ...key, topic: PRO } },
  };
  writeFileSync(files.configFile, JSON.stringify(written));
  const clients = appClients(loadConfig(CONFIG_SCHEMA, files.configFile, {}));
  t.after(() => clients.close());

  assert.deepEqual(
    clients.providers('shop').map((provider) => [provider.name, provider.app]),
    [
      ['apns', undefined],
      ['apns:pro', 'pro'],
    ],
  );
  const send = async (app: string, devices: { platform: 'ios'; token: string; app?: string }[]) => {
    const statuses = [];
    for await (const fb of clients.get(app)!.send({ title: 'Hi' }, devices)) statuses.push(fb.status);
    return statuses;
  };
  assert.deepEqual(
    await send('shop', [
      { platform: 'ios', token: token(1) },
      { platform: 'ios', token: token(2), app: 'pro' },
    ]),
    ['sent', 'sent'],
  );
  assert.deepEqual(await send('pro', [{ platform: 'ios', token: token(3) }]), ['sent']);
  const topics = new Map(emulator.apns.notifications.map((n) => [n.token, n.topic]));
  assert.deepEqual([topics.get(token(1)), topics.get(token(2)), topics.get(token(3))], [SHOP, PRO, PRO]);
  assert.equal(emulator.apns.stats().connections, 1, 'one pool for every app of the key');
  assert.equal(emulator.apns.stats().providerTokens, 1, 'one JWT for every app of the key');
});

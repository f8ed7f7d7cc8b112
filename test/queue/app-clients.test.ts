/**
 * `appClients(config)`: the one builder of the apps' clients for `pushline serve` and
 * `pushline worker` — every provider section, HMS included, and what each app can send to.
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

test('every section builds its provider, hms too; an app sends to its platforms', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-app-clients-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const emulator = await startEmulator();
  t.after(() => emulator.close());
  const files = writeEmulatorFiles(emulator, dir);
  const written = JSON.parse(readFileSync(files.configFile, 'utf8'));
  written.apps = { huawei: { hms: written.providers.hms } };
  writeFileSync(files.configFile, JSON.stringify(written));
  const clients = appClients(loadConfig(CONFIG_SCHEMA, files.configFile, {}));
  t.after(() => clients.close());

  assert.deepEqual([...clients.names].sort(), ['default', 'huawei']);
  assert.deepEqual(
    clients.providers('default').map((provider) => provider.name),
    ['apns', 'fcm', 'webpush', 'hms'],
  );
  assert.deepEqual(
    clients.providers('huawei').map((provider) => provider.name),
    ['hms'],
  );
  assert.deepEqual(clients.providers('unknown'), []);
  assert.equal(clients.clients.get('huawei'), clients.get('huawei'));

  const client = clients.get('huawei')!;
  const feedback = [];
  for await (const item of client.send({ title: 'Hi', body: 'from appClients' }, [
    { platform: 'huawei', token: 'huawei-token-0123456789' },
  ]))
    feedback.push(item);
  assert.equal(feedback.length, 1);
  assert.equal(feedback[0]!.status, 'sent', feedback[0]!.error?.message);
  assert.equal(emulator.hms.deliveries('huawei-token-0123456789'), 1);
});

/** `pushline subscribe` / `unsubscribe` end to end in a subprocess, against the FCM emulator. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type FcmEmulator, startFcmEmulator } from '../../../src/emulator/fcm/index.js';
import { runCli } from '../../cli/support.js';

let emu: FcmEmulator;
let dir: string;
let config: string;
let devices: string;

before(async () => {
  emu = await startFcmEmulator({ projectId: 'cli-topics', unregisteredTokens: ['dead-1'] });
  dir = mkdtempSync(join(tmpdir(), 'pushline-cli-topics-'));
  writeFileSync(join(dir, 'sa.json'), JSON.stringify(emu.serviceAccount));
  writeFileSync(join(dir, 'ca.pem'), emu.ca);
  config = join(dir, 'pushline.json');
  writeFileSync(
    config,
    JSON.stringify({
      providers: {
        fcm: {
          serviceAccountFile: 'sa.json',
          endpoint: emu.origin,
          topicEndpoint: emu.origin,
          caFile: 'ca.pem',
        },
      },
    }),
  );
  devices = join(dir, 'devices.ndjson');
  writeFileSync(
    devices,
    ['a-1', 'a-2', 'dead-1', 'a-3']
      .map((token, id) => JSON.stringify({ id, platform: 'android', token }))
      .join('\n'),
  );
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pushline subscribe / unsubscribe', () => {
  it('subscribes every device of the source and writes one feedback line each', async () => {
    const out = join(dir, 'out.ndjson');
    const run = await runCli([
      'subscribe',
      '--config',
      config,
      '--devices',
      devices,
      '--topic',
      'news',
      '--out',
      out,
      '--json',
      '--no-progress',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    assert.equal(result.operation, 'subscribe');
    assert.equal(result.summary.sent, 3);
    assert.equal(result.summary.invalidToken, 1);
    assert.deepEqual(emu.subscribers('news').sort(), ['a-1', 'a-2', 'a-3']);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, 4);

    const un = await runCli([
      'unsubscribe',
      '--config',
      config,
      '--devices',
      devices,
      '--topic',
      '/topics/news',
      '--no-progress',
    ]);
    assert.equal(un.code, 0, un.stderr);
    assert.match(un.stdout, /Unsubscribed from \/topics\/news/);
    assert.deepEqual(emu.subscribers('news'), []);
  });

  it('refuses a bad topic name before reading a device or making a request', async () => {
    const before = emu.stats.topicRequests;
    const run = await runCli(['subscribe', '--config', config, '--devices', devices, '--topic', 'no spaces']);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /not a topic name/);
    assert.equal(emu.stats.topicRequests, before);
  });
});

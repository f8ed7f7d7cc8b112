/**
 * `pushline serve --emulator` sends `huawei` devices to its HMS emulator: through the send API
 * (every device `sent` by the `hms` provider, 1,000 tokens a request) and through gorush's
 * `/api/push` with platform 3. Without the HMS wiring they would all fail `no-provider`, and
 * the send would still end: only their statuses tell.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hashApiKey } from '../../../src/server/auth.js';
import { hmsToken } from '../../providers/hms/support.js';
import { call, settled, startServe } from '../../server/process-support.js';

const KEY = `pl_${randomBytes(32).toString('base64url')}`;
const COUNT = 2500;

describe('pushline serve --emulator, huawei devices', { timeout: 180_000 }, () => {
  it('every huawei device is sent by the hms provider, by the API and by gorush platform 3', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pushline-hms-serve-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'pushline.json');
    writeFileSync(
      config,
      JSON.stringify({
        apiKeys: { hms: { hash: hashApiKey(KEY), apps: ['*'], permissions: ['send', 'read'] } },
      }),
    );
    const server = await startServe(['--config', config, '--emulator']);
    t.after(() => server.kill());

    const devices = Array.from({ length: COUNT }, (_, id) => ({
      platform: 'huawei',
      token: hmsToken(id),
      id,
    }));
    const created = await call(server.url, KEY, 'POST', '/v1/sends', {
      notification: { title: 'Hello', body: 'from serve' },
      devices,
    });
    assert.equal(created.status, 202, JSON.stringify(created.json));
    const id = String(created.json['id']);
    const done = await settled(server.url, KEY, id);
    assert.equal(done['state'], 'done', JSON.stringify(done));
    assert.deepEqual(done['counts'], { ...(done['counts'] as object), sent: COUNT, failed: 0 });

    const response = await fetch(`${server.url}/v1/sends/${id}/feedback`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    assert.equal(response.status, 200);
    const lines = (await response.text())
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { status: string; provider?: string; device: { id: number } });
    assert.equal(lines.length, COUNT);
    assert.deepEqual(
      lines.filter((line) => !(line.status === 'sent' && line.provider === 'hms')).slice(0, 3),
      [],
    );
    assert.equal(new Set(lines.map((line) => line.device.id)).size, COUNT);

    const gorush = await call(server.url, KEY, 'POST', '/api/push?sync=true', {
      notifications: [{ platform: 3, tokens: [hmsToken(1), hmsToken(2)], title: 'Hi', message: 'gorush' }],
    });
    assert.equal(gorush.status, 200, JSON.stringify(gorush.json));
    assert.deepEqual(gorush.json, { counts: 2, logs: [], success: 'ok' });
  });
});

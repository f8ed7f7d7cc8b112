/**
 * `pushline emulate` in the foreground, used by `pushline send` from another process, then
 * stopped with SIGTERM; and `--help` for every command.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnv, ndjson, ROOT, runCli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-emulate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pushline emulate', () => {
  test('prints how to connect, serves a send from another process, stops cleanly on SIGTERM', async () => {
    const emulatorDir = join(dir, 'emu');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)),
        'emulate',
        '--json',
        '--dir',
        emulatorDir,
        '--tokens',
        '6',
        '--subscriptions',
        '6',
        '--unregistered-rate',
        '0.34',
      ],
      { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(child, 'exit');
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await once(lines, 'line')) as [string];
      const info = JSON.parse(first);
      assert.match(info.apns.origin, /^https:\/\/127\.0\.0\.1:\d+$/);
      assert.match(info.apns.keyId, /^[A-Z0-9]{10}$/);
      assert.match(info.webpush.vapidPublicKey, /^B[A-Za-z0-9_-]{86}$/);
      for (const file of [
        info.apns.keyFile,
        info.fcm.serviceAccountFile,
        info.configFile,
        info.caFiles.apns,
      ]) {
        assert.ok(existsSync(file), file);
      }
      assert.deepEqual(info.devices, { ios: 6, android: 6, web: 6, huawei: 6 });
      assert.ok(existsSync(info.hms.clientSecretFile), info.hms.clientSecretFile);
      // 2 Android + 2 Huawei + 2 web by position, iOS by hash
      assert.ok(info.dead.length >= 6, `dead: ${info.dead.length}`);

      const out = join(dir, 'emulate.ndjson');
      const run = await runCli([
        'send',
        '--config',
        info.configFile,
        '--devices',
        info.devicesFile,
        '--title',
        'Hello',
        // Huawei refuses a notification without a body.
        '--body',
        'from pushline',
        '--out',
        out,
        '--json',
      ]);
      assert.equal(run.code, 0, run.stderr);
      const feedback = ndjson(readFileSync(out, 'utf8'));
      assert.equal(feedback.length, 24);
      const dead = feedback
        .filter((line) => line.status === 'invalid-token')
        .map((line) =>
          typeof line.device.token === 'string' ? line.device.token : line.device.token?.endpoint,
        )
        .sort();
      assert.deepEqual(dead, [...info.dead].sort());
      assert.ok(feedback.every((line) => line.status !== 'failed'));
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    assert.equal(code, 0, stderr);
  });
});

describe('--help', { concurrency: true }, () => {
  const secret = 'vapid-private-value-never-shown';
  for (const command of [[], ['send'], ['emulate'], ['demo']]) {
    test(`pushline ${command.join(' ')} --help exits 0`, async () => {
      const run = await runCli([...command, '--help'], { env: { PUSHLINE_VAPID_PRIVATE_KEY: secret } });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Usage: pushline/);
      assert.ok(!run.stdout.includes(secret));
      if (command[0] === 'send') {
        assert.match(run.stdout, /Config file \(--config FILE, JSON/);
        assert.match(run.stdout, /PUSHLINE_APNS_KEY_FILE/);
        assert.match(run.stdout, /Exit codes:\n\s+0\s+every device was sent/);
        assert.match(run.stdout, /--apply-feedback/);
      }
      if (command.length === 0) assert.match(run.stdout, /send \[options\]/);
    });
  }
});

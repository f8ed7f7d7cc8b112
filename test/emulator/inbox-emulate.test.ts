/**
 * `pushline emulate` serves the inbox on a listener of its own and says where: what
 * `pushline send` then delivers to the emulators shows up there, escaped, Web Push included.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { cleanEnv, ROOT, runCli } from '../cli/support.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

test('pushline emulate prints the inbox address; a send shows up there', { timeout: 90_000 }, async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'emulate', '--json'], {
    cwd: ROOT,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.on('close', resolve));
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  const info = await new Promise<{ inbox: string; configFile: string; devicesFile: string }>(
    (resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line !== undefined && stdout.includes('\n')) resolve(JSON.parse(line));
      });
      child.on('close', (code) => reject(new Error(`emulate exited (${code}): ${stdout}`)));
    },
  );
  assert.match(info.inbox, /^http:\/\/127\.0\.0\.1:\d+\/inbox$/);
  const empty = await fetch(info.inbox);
  assert.equal(empty.status, 200);
  assert.match(await empty.text(), /Nothing yet/);

  const sent = await runCli(
    [
      'send',
      '--config',
      info.configFile,
      '--devices',
      info.devicesFile,
      '--title',
      'Hi <i>there</i>',
      '--body',
      'from the inbox test',
    ],
    { timeoutMs: 60_000 },
  );
  assert.ok(sent.code === 0 || sent.code === 2, `send: ${sent.code} ${sent.stderr}`);
  // The inbox reads the emulators four times a second.
  let page = '';
  for (let i = 0; i < 40 && !page.includes('class="screen web"'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    page = await (await fetch(info.inbox)).text();
  }
  assert.ok(page.includes('Hi &lt;i&gt;there&lt;/i&gt;') && !page.includes('<i>there'), 'the title, escaped');
  assert.ok(page.includes('from the inbox test'));
  for (const look of ['ios', 'android', 'web'])
    assert.match(page, new RegExp(`class="screen ${look}"`), look);
  assert.match(page, /the body as the browser decrypted it/);
});

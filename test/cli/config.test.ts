/**
 * `pushline send` and the config schema: its errors become exit code 78 (with the fs error,
 * not the message twice, as the cause), and the file's `client` section reaches the
 * PushClient, with the flags over it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { loadSendConfig } from '../../src/cli/config.js';
import { CliError, EXIT } from '../../src/cli/exit-codes.js';
import { run } from '../../src/cli/program.js';
import { PushClient } from '../../src/client.js';
import type { EngineSettings } from '../../src/engine/delivery.js';
import { generateVapidKeys } from '../../src/providers/webpush/index.js';

test('config errors are CliErrors with exit code 78; an unreadable file keeps the fs error as the cause', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'pushline.json');
  writeFileSync(config, JSON.stringify({ providers: { apns: { keyFile: 'missing.p8' } } }));
  assert.throws(
    () => loadSendConfig(config, {}),
    (error: unknown) =>
      error instanceof CliError &&
      error.exitCode === EXIT.config &&
      /cannot read the file '.*missing\.p8' named by providers\.apns\.keyFile/.test(error.message) &&
      (error.cause as NodeJS.ErrnoException).code === 'ENOENT',
  );
  writeFileSync(config, JSON.stringify({ client: { window: 0 } }));
  assert.throws(
    () => loadSendConfig(config, {}),
    (error: unknown) =>
      error instanceof CliError && /client\.window in '.*' must be a whole number ≥ 1/.test(error.message),
  );
});

test("the config file's client section reaches the PushClient; --window and --delivery win over it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = generateVapidKeys();
  const config = join(dir, 'pushline.json');
  writeFileSync(
    config,
    JSON.stringify({
      providers: {
        webpush: {
          subject: 'mailto:ops@example.com',
          publicKey: keys.publicKey,
          privateKey: keys.privateKey,
        },
      },
      client: { window: 5, slowAnswerMs: 900, laneOverflow: 'wait', delivery: 'at-most-once' },
    }),
  );
  const devices = join(dir, 'devices.ndjson');
  writeFileSync(devices, '');

  // The settings the client was built with, taken when the send starts (nothing is sent).
  const settings: EngineSettings[] = [];
  t.mock.method(PushClient.prototype, 'send', function (this: { base: EngineSettings }) {
    settings.push(this.base);
    throw new Error('stop here');
  });
  const send = async (...flags: string[]) => {
    const io = {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      stdin: new PassThrough(),
      env: {},
      stderrIsTTY: false,
      signal: new AbortController().signal,
    };
    await run(
      ['send', '--config', config, '--devices', devices, '--title', 'Hi', '--no-progress', ...flags],
      io,
    );
  };
  await send();
  await send('--window', '7', '--delivery', 'at-least-once');
  assert.equal(settings.length, 2);
  assert.deepEqual(
    [settings[0]!.window, settings[0]!.slowAnswerMs, settings[0]!.laneOverflow, settings[0]!.delivery],
    [5, 900, 'wait', 'at-most-once'],
  );
  assert.deepEqual([settings[1]!.window, settings[1]!.delivery], [7, 'at-least-once']);
});

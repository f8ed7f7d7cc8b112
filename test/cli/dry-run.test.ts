/**
 * `pushline send --dry-run` delivers nothing on any provider (the emulators the test runs
 * count what reached them), says what was validated and how, and writes `validated` lines.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type EmulatorFiles, writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { fcmToken, iosToken, ndjson, runCli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-dry-run-'));
let emulator: Emulator;
let files: EmulatorFiles;

before(async () => {
  emulator = await startEmulator();
  files = writeEmulatorFiles(emulator, dir, { subscriptions: 0, tokens: 0 });
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Two devices per platform, and one APNs token that is not hex. */
function devicesFile(name: string): string {
  const devices = [
    { id: 1, platform: 'ios', token: iosToken() },
    { id: 2, platform: 'ios', token: iosToken() },
    { id: 3, platform: 'ios', token: 'not-a-hex-token' },
    { id: 4, platform: 'android', token: fcmToken() },
    { id: 5, platform: 'android', token: fcmToken() },
    { id: 6, platform: 'web', token: emulator.webpush.subscribe() },
    { id: 7, platform: 'web', token: emulator.webpush.subscribe() },
  ];
  const path = join(dir, name);
  writeFileSync(path, `${devices.map((device) => JSON.stringify(device)).join('\n')}\n`);
  return path;
}

function assertNothingDelivered(): void {
  assert.equal(emulator.apns.stats().requests, 0, 'APNs got no request');
  assert.equal(emulator.webpush.stats.requests, 0, 'Web Push got no request');
  assert.equal(emulator.webpush.messages().length, 0, 'no browser received a message');
  assert.equal(emulator.fcm.stats.delivered, 0, 'FCM delivered nothing');
  assert.ok(emulator.fcm.messages.every((message) => message.validateOnly));
}

describe('pushline send --dry-run', () => {
  test('delivers nothing, says what was checked and how, and the --out lines say validated', async () => {
    emulator.apns.reset();
    emulator.fcm.reset();
    emulator.webpush.reset();
    const out = join(dir, 'dry-feedback.ndjson');
    const run = await runCli([
      'send',
      '--config',
      files.configFile,
      '--devices',
      devicesFile('dry.ndjson'),
      '--title',
      'Hello',
      '--dry-run',
      '--out',
      out,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Dry run, nothing delivered: /);
    assert.match(run.stdout, /apns\s+checked locally, no request: token format/);
    assert.match(run.stdout, /fcm\s+checked remotely, nothing delivered: .*validate_only/);
    assert.match(run.stdout, /webpush\s+checked locally, no request: subscription, endpoint, VAPID/);
    const header = run.stdout.split('\n').find((line) => line.trim().startsWith('provider'));
    assert.match(header ?? '', /validated/);
    assert.doesNotMatch(header ?? '', /\bsent\b/, 'a dry run has no "sent" column');
    assert.match(run.stdout, /all\s+6\s+1\s+0\s+7/);

    const lines = ndjson(readFileSync(out, 'utf8'));
    assert.equal(lines.length, 7);
    const byId = Object.fromEntries(lines.map((line) => [line.device.id, line.status]));
    assert.deepEqual(byId, {
      1: 'validated',
      2: 'validated',
      3: 'invalid-token',
      4: 'validated',
      5: 'validated',
      6: 'validated',
      7: 'validated',
    });
    assert.ok(!lines.some((line) => line.status === 'sent'));
    assertNothingDelivered();
    assert.equal(emulator.fcm.stats.sendRequests, 2, 'FCM checked each message');
  });

  test('--json: validated counts and how each provider checked', async () => {
    const run = await runCli([
      'send',
      '--config',
      files.configFile,
      '--devices',
      devicesFile('dry-json.ndjson'),
      '--title',
      'Hello',
      '--dry-run',
      '--json',
      '--no-progress',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.summary.sent, 0);
    assert.equal(result.summary.validated, 6);
    assert.equal(result.summary.invalidToken, 1);
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(result.dryRun).map(([name, how]) => [name, (how as { mode: string }).mode]),
      ),
      { apns: 'local', fcm: 'remote', webpush: 'local' },
    );
    assertNothingDelivered();
  });
});

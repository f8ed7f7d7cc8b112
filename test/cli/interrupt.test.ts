/**
 * Interrupting `pushline send` (SIGINT in a real subprocess) against an APNs emulator that
 * answers slowly, so devices are in flight when the signal comes; and resuming afterwards.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EmulatorFiles, writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type FeedbackLine, iosToken, ndjson, runCli, type StartedCli, startCli } from './support.js';

const DEVICES = 400;
let emulator: Emulator;
let files: EmulatorFiles;
const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-interrupt-'));
const devicesFile = join(dir, 'devices.ndjson');
const tokens: string[] = [];

before(async () => {
  // 200 ms an answer and a window of 20: ~100 devices a second, so a run lasts ~4 s.
  emulator = await startEmulator({ apns: { scenarios: { latencyMs: 200 }, record: false } });
  files = writeEmulatorFiles(emulator, dir, { subscriptions: 0, tokens: 0 });
  for (let id = 1; id <= DEVICES; id++) tokens.push(iosToken());
  writeFileSync(
    devicesFile,
    tokens.map((token, i) => JSON.stringify({ id: i + 1, platform: 'ios', token })).join('\n'),
  );
});
beforeEach(() => emulator.apns.reset());
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

const sendArgs = (out: string, ...more: string[]) => [
  'send',
  '--config',
  files.configFile,
  '--devices',
  devicesFile,
  '--title',
  'Hi',
  '--window',
  '20',
  '--no-progress',
  ...(out ? ['--out', out] : []),
  ...more,
];

const lines = (path: string): FeedbackLine[] => (existsSync(path) ? ndjson(readFileSync(path, 'utf8')) : []);

/** Waits until `--out` holds at least `count` lines (the run is under way, devices are in flight). */
async function linesReach(path: string, count: number, run: StartedCli): Promise<void> {
  for (let i = 0; i < 1500; i++) {
    // A partial last line is possible mid-write: count newlines, not parsed lines.
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (text.split('\n').length - 1 >= count) return;
    await sleep(10);
  }
  throw new Error(`--out never reached ${count} lines; stderr: ${run.stderr()}`);
}

async function stderrMatches(run: StartedCli, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 1500 && !pattern.test(run.stderr()); i++) await sleep(10);
  assert.match(run.stderr(), pattern);
}

const ids = (feedback: FeedbackLine[]) => feedback.map((line) => Number(line.device.id));

describe('pushline send, interrupted', () => {
  test('one SIGINT: reading stops, the devices in flight finish (no aborted line), exit 130', async () => {
    const out = join(dir, 'once.ndjson');
    const run = startCli(sendArgs(out, '--grace-period', '30'));
    await linesReach(out, 20, run);
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /stopping: no more devices are read; finishing the \d+ in flight/);
    const feedback = lines(out);
    assert.ok(feedback.length < DEVICES, `reading stopped: ${feedback.length} lines`);
    assert.deepEqual(
      feedback.filter((line) => line.status !== 'sent').map((line) => line.error?.code),
      [],
      'the devices in flight finished: none aborted',
    );
    assert.equal(new Set(ids(feedback)).size, feedback.length, 'one line per device');
    // Every device read was delivered once, and nothing was delivered without a line.
    assert.equal(emulator.apns.stats().accepted, feedback.length);
    assert.match(result.stdout, /interrupted: .*--resume/);
  });

  test('a second SIGINT aborts what is in flight; each device read still has exactly one line', async (t) => {
    // Slow answers, so devices are still in flight when the second signal comes.
    emulator.apns.setScenarios({ latencyMs: 1500 });
    t.after(() => emulator.apns.setScenarios({ latencyMs: 200 }));
    const out = join(dir, 'twice.ndjson');
    const run = startCli(sendArgs(out, '--grace-period', '30'));
    await linesReach(out, 20, run);
    run.child.kill('SIGINT');
    await stderrMatches(run, /stopping:/);
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    assert.equal(result.signal, null, 'ended by itself, not killed');
    assert.match(result.stderr, /aborting the \d+ still in flight/);
    const feedback = lines(out);
    const aborted = feedback.filter((line) => line.error?.code === 'aborted');
    assert.ok(aborted.length > 0, 'the devices in flight were aborted');
    assert.equal(aborted.length + feedback.filter((line) => line.status === 'sent').length, feedback.length);
    assert.equal(new Set(ids(feedback)).size, feedback.length, 'one line per device');
    for (const line of feedback.filter((line) => line.status === 'sent')) {
      assert.equal(emulator.apns.attempts(String(line.device.token)), 1);
    }
    assert.match(result.stdout, /interrupted/);
  });

  test('the grace period running out aborts what is still in flight', async () => {
    emulator.apns.setScenarios({ latencyMs: 3000 });
    try {
      const out = join(dir, 'grace.ndjson');
      const run = startCli(sendArgs(out, '--grace-period', '0.2'));
      // Nothing answers for 3 s: wait until the requests are out, then interrupt.
      for (let i = 0; i < 1500 && emulator.apns.stats().connections === 0; i++) await sleep(10);
      await sleep(300);
      run.child.kill('SIGINT');
      const result = await run.done;
      assert.equal(result.code, 130, result.stderr);
      assert.match(result.stderr, /the 0\.2 s grace period is over: aborting the \d+ still in flight/);
      const feedback = lines(out);
      assert.ok(feedback.length > 0 && feedback.every((line) => line.error?.code === 'aborted'));
    } finally {
      emulator.apns.setScenarios({ latencyMs: 200 });
    }
  });

  test('--resume after an interrupt sends only what was not done, appending to the same file', async () => {
    const out = join(dir, 'resume.ndjson');
    const first = startCli(sendArgs(out, '--grace-period', '30'));
    await linesReach(out, 20, first);
    first.child.kill('SIGINT');
    assert.equal((await first.done).code, 130);
    const firstRun = lines(out);
    assert.ok(firstRun.length > 0 && firstRun.length < DEVICES);

    const second = await runCli(sendArgs('', '--resume', out));
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`resumed: ${firstRun.length} devices skipped`));
    const all = lines(out);
    assert.equal(all.length, DEVICES, 'the file is the record of the whole send');
    assert.deepEqual(
      ids(all).sort((a, b) => a - b),
      Array.from({ length: DEVICES }, (_, i) => i + 1),
      'every device has exactly one line across the two runs',
    );
    assert.ok(all.every((line) => line.status === 'sent'));
    // Nobody got the notification twice.
    for (const token of tokens) assert.equal(emulator.apns.attempts(token), 1, token);
  });
});

/**
 * `--resume`: which lines of an earlier run count as done, how a device is named across
 * runs, and the digest set that holds them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DoneSet, deviceKey, readResume, skipDone, verdict } from '../../src/cli/resume.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-resume-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const failed = (code: string, extra: Record<string, unknown> = {}) => ({
  device: {},
  status: 'failed',
  error: { code, ...extra },
});

describe('resume', () => {
  test('verdicts: answered and repeating failures are done; possibly delivered is uncertain; the rest again', () => {
    assert.equal(verdict({ status: 'sent' }), 'done');
    assert.equal(verdict({ status: 'invalid-token' }), 'done');
    for (const code of ['bad-request', 'payload-too-large', 'invalid-device'])
      assert.equal(verdict(failed(code)), 'done', code);
    for (const code of [
      'aborted',
      'rate-limited',
      'unavailable',
      'timeout',
      'auth',
      'config',
      'no-provider',
      'internal',
    ])
      assert.equal(verdict(failed(code)), 'again', code);
    assert.equal(verdict(failed('aborted', { maybeDelivered: true })), 'uncertain');
    assert.equal(verdict(failed('timeout', { maybeDelivered: true, retryable: true })), 'uncertain');
    assert.equal(verdict({ status: 'something new' }), 'again');
    assert.equal(verdict(null), 'again');
  });

  test('a device is named by its key column, else by platform and token (a web subscription by endpoint)', () => {
    assert.equal(deviceKey({ id: 7n }), deviceKey({ id: '7' }), 'a bigint id is written to --out as digits');
    assert.equal(deviceKey({ id: 7 }), deviceKey({ id: '7' }));
    assert.notEqual(deviceKey({ id: 7 }), deviceKey({ id: 8 }));
    assert.equal(deviceKey({ row: 3, id: 1 }, 'row'), deviceKey({ row: 3 }, 'row'));
    assert.equal(
      deviceKey({ platform: 'ios', token: 'ab' }),
      deviceKey({ platform: 'ios', token: 'ab', x: 1 }),
    );
    assert.notEqual(
      deviceKey({ platform: 'ios', token: 'ab' }),
      deviceKey({ platform: 'android', token: 'ab' }),
    );
    const web = {
      platform: 'web',
      token: { endpoint: 'https://push.example/1', keys: { p256dh: 'a', auth: 'b' } },
    };
    assert.equal(
      deviceKey(web),
      deviceKey({ platform: 'web', token: { endpoint: 'https://push.example/1' } }),
    );
    assert.equal(deviceKey({ line: 4, malformed: 'oops' }), undefined, 'a malformed line is never done');
  });

  test('DoneSet: membership after seal, duplicates counted once', () => {
    const set = new DoneSet();
    for (let i = 0; i < 5000; i++) set.add(`k${i % 2500}`);
    set.seal();
    assert.equal(set.size, 2500);
    for (let i = 0; i < 2500; i++) assert.ok(set.has(`k${i}`));
    for (let i = 2500; i < 5000; i++) assert.ok(!set.has(`k${i}`));
    assert.throws(() => set.add('late'), /add\(\) after seal\(\)/);
  });

  test('readResume: counts each kind; a partial last line is unreadable; --resend-uncertain sends those again', async () => {
    const file = join(dir, 'earlier.ndjson');
    const lines = [
      { device: { id: 1 }, status: 'sent' },
      { device: { id: 2 }, status: 'invalid-token' },
      { ...failed('aborted'), device: { id: 3 } },
      { ...failed('timeout', { maybeDelivered: true }), device: { id: 4 } },
      { ...failed('aborted'), device: { id: 5 } },
      { device: { id: 5 }, status: 'sent' }, // a later run finished it
    ];
    writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n{"device":{"id":6},"sta`);
    const state = await readResume(file);
    assert.deepEqual(
      { done: state.done.size, uncertain: state.uncertain, again: state.again, unreadable: state.unreadable },
      { done: 4, uncertain: 1, again: 2, unreadable: 1 },
    );
    assert.equal(state.endsWithNewline, false);
    const counts = { skipped: 0 };
    async function* source() {
      for (let id = 1; id <= 7; id++) yield { id, platform: 'ios', token: `t${id}` };
    }
    const left: number[] = [];
    for await (const device of skipDone(source(), state.done, undefined, counts)) left.push(device.id);
    assert.deepEqual(left, [3, 6, 7]);
    assert.equal(counts.skipped, 4);

    const again = await readResume(file, { resendUncertain: true });
    assert.equal(again.done.size, 3);
    assert.ok(!again.done.has(deviceKey({ id: 4 })!));
  });

  test('readResume: a missing file is an error naming it (exit 66)', async () => {
    await assert.rejects(readResume(join(dir, 'nope.ndjson')), (error: Error & { exitCode?: number }) => {
      assert.match(error.message, /nope\.ndjson/);
      assert.equal(error.exitCode, 66);
      return true;
    });
  });
});

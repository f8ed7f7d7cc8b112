/**
 * The spool file a send's feedback is recorded to: whole lines only, every reader from the
 * first line, followers waiting at the end until it is ended, and the records it holds.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { type Feedback, PushError } from '../../src/index.js';
import { feedbackRecord, parseFeedbackLine } from '../../src/queue/feedback-record.js';
import { FeedbackSpool } from '../../src/queue/feedback-spool.js';
import { feedbackLine } from '../../src/stores/ndjson-writer.js';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function spoolIn(t: TestContext): Promise<FeedbackSpool> {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-spool-test-'));
  const spool = await FeedbackSpool.create(join(dir, 'send.ndjson'));
  t.after(async () => {
    await spool.delete();
    rmSync(dir, { recursive: true, force: true });
  });
  return spool;
}

describe('FeedbackSpool', () => {
  test('a follower part-way through the memory part when the spool is deleted still gets every line', async (t) => {
    // The dispatcher deletes its spools at shutdown while an HTTP client may still be reading
    // a send's feedback: a slow reader must not skip the lines kept in memory.
    const spool = await spoolIn(t);
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(200)}`);
    for (const line of lines) await spool.write(`${line}\n`);
    const reader = spool.lines(true)[Symbol.asyncIterator]();
    const first = await reader.next();
    assert.equal(first.value, lines[0]);
    await spool.delete();
    assert.equal(existsSync(spool.path), true, 'kept while a reader is part-way through');
    const rest: string[] = [];
    for (let next = await reader.next(); !next.done; next = await reader.next()) rest.push(next.value);
    assert.equal(rest.length, lines.length - 1, 'every line after the first, memory part and file');
    assert.deepEqual([first.value, ...rest], lines);
    assert.equal(existsSync(spool.path), false, 'the file goes with its last reader');
  });

  test('a line past the memory part reaches a follower without end(): a batch that does not fill is written all the same', async (t) => {
    const spool = await spoolIn(t);
    // Past the memory part (16 Ki characters), then one short line: far from a full batch.
    const lines = [...Array.from({ length: 80 }, (_, i) => `${i} ${'x'.repeat(300)}`), 'the last one'];
    for (const line of lines) await spool.write(`${line}\n`);
    const follower = spool.lines(true)[Symbol.asyncIterator]();
    const seen: string[] = [];
    while (seen.length < lines.length) {
      const next = await follower.next();
      assert.equal(next.done, false);
      seen.push(next.value);
    }
    assert.deepEqual(seen, lines);
    await follower.return?.(undefined);
  });

  test('followers from the first line, live until the end; lines longer than a read come whole', async (t) => {
    const spool = await spoolIn(t);
    // Lines of every length around the 64 KiB read size, with multi-byte characters.
    const lines = Array.from({ length: 40 }, (_, i) => `${i}:${'é'.repeat((i * 7919) % 90_000)}`);
    const early = collect(spool.lines(true));
    for (const line of lines.slice(0, 20)) await spool.write(`${line}\n`);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const snapshot = await collect(spool.lines(false));
    const late = collect(spool.lines(true));
    for (const line of lines.slice(20)) await spool.write(`${line}\n`);
    await spool.end();
    assert.deepEqual(await early, lines);
    assert.deepEqual(await late, lines, 'a late follower gets every line from the first');
    assert.ok(snapshot.length <= 20, `without follow: only what was written, got ${snapshot.length}`);
    assert.deepEqual(snapshot, lines.slice(0, snapshot.length));
    assert.deepEqual(
      await collect(spool.lines(true)),
      lines,
      'after the end a follower ends at the last line',
    );
    assert.equal(spool.written, 40);
  });

  test('many small lines: written in batches, each read once, in order', async (t) => {
    const spool = await spoolIn(t);
    const reader = collect(spool.lines(true));
    let waited = 0;
    for (let i = 0; i < 50_000; i++) {
      const writing = spool.write(`{"n":${i},"pad":"${'x'.repeat(20)}"}\n`);
      if (writing) {
        waited++;
        await writing;
      }
    }
    await spool.end();
    const read = await reader;
    assert.equal(read.length, 50_000);
    assert.ok(
      read.every((line, i) => JSON.parse(line).n === i),
      'every line once, in order',
    );
    assert.ok(waited > 0, 'a writer far ahead of the disk is made to wait');
  });

  test('a small send stays in memory: no file is made, followers and readers get every line', async (t) => {
    const spool = await spoolIn(t);
    const follower = collect(spool.lines(true));
    for (let i = 0; i < 20; i++) spool.write(`{"n":${i}}\n`);
    const snapshot = await collect(spool.lines(false));
    await spool.end();
    const expected = Array.from({ length: 20 }, (_, i) => `{"n":${i}}`);
    assert.deepEqual(await follower, expected);
    assert.deepEqual(snapshot, expected, 'the lines in memory are read at once');
    assert.deepEqual(await collect(spool.lines(true)), expected);
    assert.equal(existsSync(spool.path), false, 'no file for a send this small');
    await spool.delete();
    assert.deepEqual(await collect(spool.lines(true)), [], 'a deleted spool has nothing to read');
  });

  test('past the memory part the lines go to the file, read after the memory ones, in order', async (t) => {
    const spool = await spoolIn(t);
    const follower = collect(spool.lines(true));
    const lines = Array.from({ length: 2000 }, (_, i) => `{"n":${i},"pad":"${'y'.repeat(i % 50)}"}`);
    for (const line of lines.slice(0, 1000)) await spool.write(`${line}\n`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const snapshot = await collect(spool.lines(false));
    for (const line of lines.slice(1000)) await spool.write(`${line}\n`);
    await spool.end();
    assert.ok(existsSync(spool.path), 'a send past the memory part has its file');
    assert.deepEqual(await follower, lines);
    assert.deepEqual(await collect(spool.lines(false)), lines);
    assert.ok(snapshot.length > 0 && snapshot.length <= 1000, `snapshot of ${snapshot.length}`);
    assert.deepEqual(snapshot, lines.slice(0, snapshot.length));
    await spool.delete();
    assert.equal(existsSync(spool.path), false);
  });

  test('delete ends the waiting followers and removes the file', async (t) => {
    const spool = await spoolIn(t);
    spool.write('one\n');
    const follower = collect(spool.lines(true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await spool.delete();
    assert.deepEqual(await follower, ['one']);
    assert.equal(existsSync(spool.path), false);
    assert.deepEqual(await collect(spool.lines(true)), [], 'a deleted spool has nothing to read');
  });
});

describe('feedbackRecord', () => {
  test('is feedbackLine parsed: the error as JSON, a BigInt as digits, unknowns left out', () => {
    const feedback: Feedback = {
      device: { platform: 'ios', token: 'ab', rowId: 12345678901234567890n },
      status: 'invalid-token',
      provider: 'apns',
      httpStatus: 410,
      attempts: 1,
      error: new PushError('invalid-token', 'Unregistered', { reason: 'Unregistered', httpStatus: 410 }),
    };
    const record = feedbackRecord(feedback);
    assert.deepEqual(record, parseFeedbackLine(feedbackLine(feedback)));
    assert.equal(record.device.rowId, '12345678901234567890');
    assert.deepEqual(
      JSON.parse(feedbackLine(feedback)).device,
      { platform: 'ios', token: 'ab', rowId: '12345678901234567890' },
      'a BigInt is written as digits, the device as it is (not the placeholder for an unwritable one)',
    );
    assert.equal(record.error?.code, 'invalid-token');
    assert.equal(record.error?.reason, 'Unregistered');
    assert.equal(record.status, 'invalid-token');
    assert.equal('messageId' in record, false);
    assert.equal('maybeDelivered' in record, false);
  });
});

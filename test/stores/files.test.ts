import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import type { Device } from '../../src/device.js';
import { pullerFor } from '../../src/engine/source.js';
import { PushError } from '../../src/errors.js';
import type { Feedback } from '../../src/feedback.js';
import { PushClient } from '../../src/index.js';
import {
  csvDevices,
  isMalformedLine,
  ndjsonDevices,
  ndjsonFeedbackWriter,
  StoreError,
} from '../../src/stores/index.js';
import { TokenProvider } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

describe('ndjsonDevices', () => {
  test('reads one device per line from a file: BOM, CRLF and blank lines handled, fields kept', async () => {
    const path = file(
      'a.ndjson',
      '\uFEFF{"platform":"ios","token":"t1","id":1}\r\n\n{"platform":"web","token":{"endpoint":"https://e/1","keys":{"p256dh":"p","auth":"a"}},"id":2}\n{"platform":"android","token":"t3","app":"x"}',
    );
    assert.deepEqual(await collect(ndjsonDevices(path)), [
      { platform: 'ios', token: 't1', id: 1 },
      { platform: 'web', token: { endpoint: 'https://e/1', keys: { p256dh: 'p', auth: 'a' } }, id: 2 },
      { platform: 'android', token: 't3', app: 'x' },
    ]);
  });

  test('splits lines across chunk boundaries, multi-byte characters included', async () => {
    const text = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({ platform: 'ios', token: `tök-${i}-€` }),
    ).join('\n');
    const bytes = Buffer.from(text);
    // 7-byte chunks cut lines and UTF-8 sequences at every possible place.
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) =>
      bytes.subarray(i * 7, i * 7 + 7),
    );
    const devices = await collect(ndjsonDevices(Readable.from(chunks)));
    assert.equal(devices.length, 300);
    assert.equal(devices[299]!.token, 'tök-299-€');
  });

  test('a malformed line becomes an invalid-device feedback naming its line, and the run goes on', async () => {
    const path = file(
      'bad.ndjson',
      [
        '{"platform":"ios","token":"live-1","id":1}',
        '{"platform":"ios","token":', // line 2: cut short
        '42', // line 3: not an object
        '',
        `{"platform":"ios","token":"${'x'.repeat(300)}"}`, // line 5: over the limit below
        '{"platform":"android","token":"dead-6","id":6}',
      ].join('\n'),
    );
    const client = new PushClient({ providers: [new TokenProvider()] });
    const feedback = await collect(client.send({ title: 't' }, ndjsonDevices(path, { maxLineLength: 100 })));
    await client.close();
    assert.equal(feedback.length, 5);
    const byLine = new Map(
      feedback
        .filter((fb) => isMalformedLine(fb.device))
        .map((fb) => [(fb.device as unknown as { line: number }).line, fb]),
    );
    assert.deepEqual([...byLine.keys()].sort(), [2, 3, 5]);
    for (const fb of byLine.values()) {
      assert.equal(fb.status, 'failed');
      assert.equal(fb.error?.code, 'invalid-device');
      assert.equal(
        fb.error?.message,
        fb.device.malformed,
        'the feedback itself names the line and the problem',
      );
    }
    assert.match(String(byLine.get(2)!.device.malformed), /^line 2 of .*bad\.ndjson: not valid JSON/);
    assert.match(String(byLine.get(3)!.device.malformed), /line 3 .*expected a JSON object, got number/);
    assert.match(String(byLine.get(5)!.device.malformed), /line 5 .*longer than 100 characters/);
    assert.deepEqual(
      feedback.filter((fb) => !isMalformedLine(fb.device)).map((fb) => [fb.device.id, fb.status]),
      [
        [1, 'sent'],
        [6, 'invalid-token'],
      ],
    );
  });

  test('a file that cannot be read fails the run with a clear error', async () => {
    await assert.rejects(collect(ndjsonDevices(join(dir, 'nope.ndjson'))), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, 'store-read');
      assert.match(error.message, /cannot read .*nope\.ndjson.*ENOENT/);
      return true;
    });
  });
});

describe('csvDevices', () => {
  test('maps header columns to devices, extras as strings, empty app omitted', async () => {
    const path = file(
      'a.csv',
      'id,os,device_token,bundle\n1,ios,abc,com.a\n2,android,def,\n3,web,"{""endpoint"":""https://e/1""}",\n',
    );
    const devices = await collect(
      csvDevices(path, { columns: { platform: 'os', token: 'device_token', app: 'bundle' } }),
    );
    assert.deepEqual(devices, [
      { platform: 'ios', token: 'abc', app: 'com.a', id: '1' },
      { platform: 'android', token: 'def', id: '2' },
      { platform: 'web', token: '{"endpoint":"https://e/1"}', id: '3' },
    ]);
  });

  test('reads a headerless file from a stream with given column names', async () => {
    const stream = Readable.from(['7;tok-7\n', '8;tok-8\n']);
    const devices = await collect(
      csvDevices(stream, { header: ['id', 'token'], delimiter: ';', platform: 'huawei' }),
    );
    assert.deepEqual(devices, [
      { platform: 'huawei', token: 'tok-7', id: '7' },
      { platform: 'huawei', token: 'tok-8', id: '8' },
    ]);
  });

  test('a record with the wrong field count becomes an invalid-device marker naming its line', async () => {
    const path = file('bad.csv', 'id,platform,token\n1,ios,a\n2,ios\n3,ios,c\n');
    const devices = await collect(csvDevices(path));
    assert.equal(devices.length, 3);
    const marker = devices.find((device) => isMalformedLine(device));
    assert.ok(marker, 'a marker for the short record');
    assert.equal(marker.line, 3);
    assert.match(String(marker.malformed), /^line 3 of .*bad\.csv: /);
    assert.deepEqual(
      devices.filter((device) => !isMalformedLine(device)).map((device) => device.id),
      ['1', '3'],
    );
  });

  test('a header without a token column fails with the columns it has', async () => {
    const path = file('nokey.csv', 'id,platform,device\n1,ios,a\n');
    await assert.rejects(
      collect(csvDevices(path)),
      /returned the columns id, platform, device but no token column/,
    );
  });
});

describe('ndjsonFeedbackWriter', () => {
  const sent: Feedback = {
    device: { platform: 'ios', token: 'a', id: 1n as unknown as number },
    status: 'sent',
    provider: 'apns',
    messageId: 'm-1',
    httpStatus: 200,
    attempts: 1,
  };
  const dead: Feedback = {
    device: { platform: 'android', token: 'b', id: 2 },
    status: 'invalid-token',
    provider: 'fcm',
    httpStatus: 404,
    attempts: 2,
    error: new PushError('invalid-token', 'gone', {
      provider: 'fcm',
      reason: 'UNREGISTERED',
      httpStatus: 404,
      invalidatedAt: new Date('2026-01-01T00:00:00Z'),
    }),
  };

  test('writes one JSON line per feedback to a file; close() flushes and closes it', async () => {
    const path = join(dir, 'out.ndjson');
    const writer = ndjsonFeedbackWriter(path);
    await writer.consume([sent, dead]);
    await writer.close();
    assert.equal(writer.written, 2);
    const lines = readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(lines[0], {
      device: { platform: 'ios', token: 'a', id: '1' },
      status: 'sent',
      provider: 'apns',
      messageId: 'm-1',
      httpStatus: 200,
      attempts: 1,
    });
    assert.deepEqual(lines[1].error, {
      code: 'invalid-token',
      message: 'gone',
      reason: 'UNREGISTERED',
      httpStatus: 404,
      retryable: false,
      invalidatedAt: '2026-01-01T00:00:00.000Z',
      provider: 'fcm',
    });
    await assert.rejects(writer.write(sent), /after close/);
  });

  test('waits for a slow stream to drain instead of buffering feedback', async () => {
    let buffered = 0;
    let maxBuffered = 0;
    const received: string[] = [];
    const slow = new Writable({
      highWaterMark: 64,
      write(chunk, _encoding, callback) {
        received.push(String(chunk));
        setTimeout(callback, 1);
      },
    });
    const writer = ndjsonFeedbackWriter(slow);
    for (let i = 0; i < 50; i++) {
      await writer.write({ ...sent, device: { platform: 'ios', token: `t${i}` } });
      buffered = slow.writableLength;
      maxBuffered = Math.max(maxBuffered, buffered);
    }
    // The lines went to the stream as they came, not held back for close() (which would keep the
    // stream's buffer empty and pass the bound below with nothing tested).
    const beforeClose = received.length;
    await writer.close();
    // Each write() returned only once the stream was below its mark again: at most one line over it.
    assert.equal(beforeClose, 50, 'every line reached the stream before close()');
    assert.ok(maxBuffered <= 64 + 200, `stream buffer reached ${maxBuffered} bytes`);
    assert.equal(slow.writableEnded, false, 'a stream we were given is left open');
    assert.equal(received.length, 50);
  });

  test('a broken stream is reported, not ignored', async () => {
    const stream = new PassThrough({ highWaterMark: 1 });
    const writer = ndjsonFeedbackWriter(stream);
    const pending = writer.write(sent); // fills the buffer: waits for drain
    stream.destroy(new Error('pipe closed'));
    await assert.rejects(pending, /cannot write feedback to the output stream: pipe closed/);
    await assert.rejects(writer.write(sent), /pipe closed/);
  });
});

describe('ndjsonDevices pulled by the engine (PullSource)', () => {
  const lines = (n: number) =>
    `${Array.from({ length: n }, (_, i) => JSON.stringify({ platform: 'ios', token: `t${i}` })).join('\n')}\n`;

  test("a chunk's devices are answered at once, a promise only when the next chunk is needed", async () => {
    const puller = pullerFor(ndjsonDevices(Readable.from([Buffer.from(lines(3)), Buffer.from(lines(2))])));
    const answers: Array<'now' | 'later'> = [];
    const tokens: unknown[] = [];
    for (;;) {
      const pulled = puller.next();
      answers.push(pulled instanceof Promise ? 'later' : 'now');
      const result = await pulled;
      if (result.done) break;
      tokens.push(result.value.token);
    }
    assert.deepEqual(tokens, ['t0', 't1', 't2', 't0', 't1']);
    assert.deepEqual(answers, ['later', 'now', 'now', 'later', 'now', 'later']);
  });

  test('close() while it waits for input ends it quietly, not as a read failure', async () => {
    const input = new PassThrough();
    input.write(lines(1));
    const puller = pullerFor(ndjsonDevices(input));
    assert.equal(((await puller.next()) as { value: Device }).value.token, 't0');
    const waiting = puller.next();
    assert.ok(waiting instanceof Promise, 'no more input yet');
    puller.close();
    assert.deepEqual(await waiting, { done: true });
    assert.deepEqual(await puller.next(), { done: true });
  });

  test('its async iterator answers calls made before the last answer in order', async () => {
    const iterator = ndjsonDevices(Readable.from([Buffer.from(lines(2)), Buffer.from(lines(2))]))[
      Symbol.asyncIterator
    ]();
    const all = await Promise.all([
      iterator.next(),
      iterator.next(),
      iterator.next(),
      iterator.next(),
      iterator.next(),
    ]);
    assert.deepEqual(
      all.map((r) => (r.done ? 'done' : r.value.token)),
      ['t0', 't1', 't0', 't1', 'done'],
    );
  });
});

/**
 * Hostile rows stand alone: a row nested thousands deep, one far too large, one that is not
 * UTF-8, becomes one `invalid-device` feedback naming the problem, and the rows around it are
 * sent; the feedback writer never fails the output for one device it cannot serialise.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Device } from '../../src/device.js';
import type { Feedback } from '../../src/feedback.js';
import { PushClient } from '../../src/index.js';
import {
  csvDevices,
  feedbackLine,
  ndjsonDevices,
  ndjsonFeedbackWriter,
  StoreError,
  sqliteDevices,
} from '../../src/stores/index.js';
import { TokenProvider } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-rows-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A JSON array nested `depth` levels deep. */
const deepJson = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Sends every device of a source through the engine and writes every feedback line, as the CLI does. */
async function sendAll(source: AsyncIterable<Device>): Promise<{ feedback: Feedback[]; lines: string[] }> {
  const client = new PushClient({ providers: [new TokenProvider()] });
  const output = new PassThrough();
  let text = '';
  output.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const writer = ndjsonFeedbackWriter(output);
  const feedback: Feedback[] = [];
  try {
    for await (const fb of client.send({ title: 't' }, source)) {
      feedback.push(fb);
      await writer.write(fb);
    }
    await writer.close();
  } finally {
    await client.close();
  }
  return { feedback, lines: text.split('\n').filter((line) => line !== '') };
}

const malformed = (feedback: Feedback[]) =>
  feedback.filter((fb) => fb.error?.code === 'invalid-device').map((fb) => String(fb.device.malformed));

describe('rows over the limits, in each source', () => {
  test('NDJSON: a line nested 10,000 deep fails alone; every other line is sent and written', async () => {
    const good = (i: number) => JSON.stringify({ id: i, platform: 'ios', token: `live-${i}` });
    const lines = [good(1), `{"id":2,"platform":"ios","token":"live-2","x":${deepJson(10_000)}}`, good(3)];
    const path = join(dir, 'deep.ndjson');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const { feedback, lines: written } = await sendAll(ndjsonDevices(path));
    assert.equal(feedback.length, 3);
    assert.equal(written.length, 3, 'one feedback line per device');
    assert.deepEqual(malformed(feedback), [
      `line 2 of ${path}: nested deeper than 64 levels (limits.maxDepth)`,
    ]);
    assert.deepEqual(
      feedback.filter((fb) => fb.status === 'sent').map((fb) => fb.device.id),
      [1, 3],
    );
  });

  test('NDJSON: the limits are options: a row deeper than maxDepth fails, a line over maxSize is skipped', async () => {
    const lines = [
      JSON.stringify({ platform: 'ios', token: 'live-1', a: { b: 1 } }), // depth 2
      JSON.stringify({ platform: 'ios', token: 'live-2', a: { b: { c: [1] } } }), // depth 4
      JSON.stringify({ platform: 'ios', token: `live-${'x'.repeat(200)}` }),
    ];
    const source = ndjsonDevices(Readable.from([Buffer.from(lines.join('\n'))]), {
      limits: { maxDepth: 3, maxSize: 150 },
    });
    const { feedback } = await sendAll(source);
    assert.deepEqual(malformed(feedback), [
      'line 2 of the stream: nested deeper than 3 levels (limits.maxDepth)',
      'line 3 of the stream: longer than 150 characters; skipped',
    ]);
    assert.throws(
      () => ndjsonDevices('x.ndjson', { limits: { maxDepth: 0 } }),
      (error: unknown) =>
        error instanceof StoreError && /limits\.maxDepth must be a whole number/.test(error.message),
    );
  });

  test('NDJSON: a line with bytes that are not UTF-8 fails alone, wherever the chunks cut', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"platform":"ios","token":"live-1","name":"Zoë €"}\n{"platform":"ios","token":"live-'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}\n{"platform":"ios","token":"live-3","name":"'),
      Buffer.from([0xe2, 0x82]), // a euro sign cut short
      Buffer.from('"}\n{"platform":"ios","token":"live-4","name":"€"}'),
    ]);
    for (const size of [1, 2, 5, 64, bytes.length]) {
      const chunks = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const { feedback } = await sendAll(ndjsonDevices(Readable.from(chunks)));
      assert.deepEqual(
        malformed(feedback).map((text) => text.slice(0, 'line 2 of the stream: not valid UTF-8'.length)),
        ['line 2 of the stream: not valid UTF-8', 'line 3 of the stream: not valid UTF-8'],
        `chunks of ${size}`,
      );
      const names = feedback.filter((fb) => fb.status === 'sent').map((fb) => fb.device.name);
      assert.deepEqual(names, ['Zoë €', '€'], `chunks of ${size}`);
    }
  });

  test('CSV: a record with bytes that are not UTF-8, or over maxSize, fails alone; quoted line breaks are fine', async () => {
    const bytes = Buffer.concat([
      Buffer.from('\uFEFFid,platform,token,name\n1,ios,live-1,"Zoë\n€"\n2,ios,live-2,b'),
      Buffer.from([0xff]),
      Buffer.from('d\n3,ios,live-3,fine\n4,ios,live-4,'),
      Buffer.from('y'.repeat(300)),
      Buffer.from('\n5,ios,live-5,€\n'),
    ]);
    for (const size of [1, 3, 64, bytes.length]) {
      const chunks = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const { feedback } = await sendAll(csvDevices(Readable.from(chunks), { limits: { maxSize: 200 } }));
      assert.deepEqual(
        malformed(feedback),
        [
          'line 4 of the stream: not valid UTF-8 (the record holds bytes that are not UTF-8 text)',
          'line 6 of the stream: larger than 200 characters (limits.maxSize)',
        ],
        `chunks of ${size}`,
      );
      const sent = feedback.filter((fb) => fb.status === 'sent').map((fb) => [fb.device.id, fb.device.name]);
      assert.deepEqual(sent, [
        ['1', 'Zoë\n€'],
        ['3', 'fine'],
        ['5', '€'],
      ]);
    }
  });

  test('SQLite: a BLOB token, a token that is not UTF-8, a row over maxSize each fail alone, with their id', async () => {
    const path = join(dir, 'rows.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE devices (id INTEGER, platform TEXT, token TEXT, note TEXT);
      INSERT INTO devices VALUES (1, 'ios', 'live-1', 'ok'), (2, 'ios', X'0102', 'blob'),
        (3, 'ios', CAST(X'6c6976652dff' AS TEXT), 'bad bytes'), (4, 'ios', 'live-4', printf('%.*c', 70000, 'x')),
        (5, 'ios', 'live-5', 'ok');`);
    db.close();
    const { feedback, lines } = await sendAll(sqliteDevices(path, { query: 'SELECT * FROM devices' }));
    assert.deepEqual(malformed(feedback), [
      'row 2 of the sqlite query: the token is binary data (a BLOB), not text',
      'row 3 of the sqlite query: the token is not valid UTF-8 text (it reads as U+FFFD where the database holds other bytes)',
      'row 4 of the sqlite query: larger than 65536 characters (limits.maxSize)',
    ]);
    const failedIds = feedback.filter((fb) => fb.status === 'failed').map((fb) => fb.device.id);
    assert.deepEqual(failedIds, [2, 3, 4], 'the row id comes back on the placeholder');
    assert.ok(
      lines.every((line) => line.length < 2000),
      'no huge value is copied into a feedback line',
    );
    assert.deepEqual(
      feedback.filter((fb) => fb.status === 'sent').map((fb) => fb.device.id),
      [1, 5],
    );
  });
});

describe('feedbackLine', () => {
  test('a device JSON cannot write (too deep, cyclic) gets a line saying so; BigInt is written as digits', () => {
    let deep: unknown = [];
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const cyclic: Record<string, unknown> = { platform: 'ios', token: 'live-2', id: 2 };
    cyclic.self = cyclic;
    const lines = [
      { platform: 'ios', token: 'live-1', id: 1n, deep },
      cyclic,
      { platform: 'ios', token: 'live-3', id: 3n },
    ].map((device) => JSON.parse(feedbackLine({ device: device as Device, status: 'sent', attempts: 1 })));
    assert.deepEqual(lines[0].device, {
      unwritable: 'the device could not be written as JSON (nested too deep); its plain fields are kept',
      platform: 'ios',
      token: 'live-1',
      id: '1',
    });
    assert.match(
      lines[1].device.unwritable,
      /could not be written as JSON \(Converting circular structure to JSON/,
    );
    assert.equal(lines[1].device.id, 2);
    assert.equal(lines[1].status, 'sent', 'the outcome itself is kept');
    assert.deepEqual(lines[2].device, { platform: 'ios', token: 'live-3', id: '3' });
  });

  test('a device whose getter throws gets a line naming the problem, its other fields kept', () => {
    const device = { platform: 'ios', id: 4 } as Record<string, unknown>;
    Object.defineProperty(device, 'token', {
      enumerable: true,
      get: () => {
        throw new Error('no token here');
      },
    });
    const line = JSON.parse(
      feedbackLine({ device: device as unknown as Device, status: 'sent', attempts: 1 }),
    );
    assert.match(line.device.unwritable, /could not be written as JSON \(no token here\)/);
    assert.equal(line.device.id, 4);
    assert.equal(line.status, 'sent');
  });
});

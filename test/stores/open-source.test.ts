import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openDeviceSource, StoreError } from '../../src/stores/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-spec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

describe('openDeviceSource', () => {
  const dbPath = join(dir, 'd.db');
  const db = new Database(dbPath);
  db.exec(
    "CREATE TABLE devices (id INTEGER, platform TEXT, token TEXT); INSERT INTO devices VALUES (1, 'ios', 'a')",
  );
  db.close();
  const expected = [{ platform: 'ios', token: 'a', id: 1 }];
  const query = 'SELECT id, platform, token FROM devices';

  test('sqlite:relative and sqlite:///absolute paths', async () => {
    assert.deepEqual(await collect(openDeviceSource(`sqlite:${dbPath}`, { query })), expected);
    assert.deepEqual(await collect(openDeviceSource(`sqlite://${dbPath}`, { query })), expected);
    assert.equal(dbPath.startsWith('/'), true);
  });

  test('NDJSON, JSONL and CSV files by extension, and - for NDJSON on stdin', async () => {
    const ndjson = join(dir, 'd.NDJSON');
    writeFileSync(ndjson, '{"platform":"ios","token":"a","id":1}\n');
    const jsonl = join(dir, 'd.jsonl');
    writeFileSync(jsonl, '{"platform":"ios","token":"a","id":1}\n');
    const csv = join(dir, 'd.csv');
    writeFileSync(csv, 'id,platform,token\n1,ios,a\n');
    assert.deepEqual(await collect(openDeviceSource(ndjson)), expected);
    assert.deepEqual(await collect(openDeviceSource(jsonl)), expected);
    assert.deepEqual(await collect(openDeviceSource(csv)), [{ platform: 'ios', token: 'a', id: '1' }]);
    const stdin = Readable.from(['{"platform":"ios","token":"a","id":1}\n']);
    assert.deepEqual(await collect(openDeviceSource('-', { stdin })), expected);
  });

  test('postgres:// and postgresql:// make a PostgreSQL source (that needs a query)', () => {
    assert.throws(() => openDeviceSource('postgres://u@127.0.0.1/db'), /a postgres source needs a query/);
    assert.throws(() => openDeviceSource('postgresql://u@127.0.0.1/db'), /a postgres source needs a query/);
    // With a query the source is built lazily: nothing connects until it is iterated.
    const source = openDeviceSource('postgresql://u@127.0.0.1:1/db', { query });
    assert.equal(typeof source[Symbol.asyncIterator], 'function');
    assert.throws(() => openDeviceSource(`sqlite:${dbPath}`), /a sqlite source needs a query/);
  });

  test('an unknown scheme or file kind is refused with the supported ones listed', () => {
    for (const spec of ['mysql://u@h/db', 'devices.txt', 'redis://h', '', 'sqlite:']) {
      assert.throws(
        () => openDeviceSource(spec, { query }),
        (error: unknown) => {
          assert.ok(error instanceof StoreError, spec);
          assert.equal(error.code, 'store-config');
          if (spec !== 'sqlite:')
            assert.match(error.message, /sqlite:<path>, postgres:\/\/… or postgresql:\/\/…, a \.ndjson/);
          return true;
        },
      );
    }
  });
});

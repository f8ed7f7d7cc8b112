/** The idempotency table: a key is remembered for its TTL, per scope, at most `maxKeys` of them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fingerprint, IdempotencyTable } from '../../src/server/idempotency.js';

test('a key replays until its TTL has passed, then it is new again', () => {
  let now = 0;
  const table = new IdempotencyTable(1000, 10, () => now);
  const print = fingerprint('json', '{}');
  assert.deepEqual(table.begin('key-a', 'k', print), { kind: 'new' });
  assert.deepEqual(table.begin('key-a', 'k', print), { kind: 'in-progress' });
  table.accept('key-a', 'k', 'send-1');
  now = 999;
  assert.deepEqual(table.begin('key-a', 'k', print), { kind: 'replay', sendId: 'send-1' });
  assert.deepEqual(table.begin('key-a', 'k', fingerprint('json', '{"x":1}')), { kind: 'mismatch' });
  assert.deepEqual(table.begin('key-b', 'k', print), { kind: 'new' }, 'another API key, another scope');
  now = 1000;
  assert.deepEqual(table.begin('key-a', 'k', print), { kind: 'new' });
});

test('a released key (the request was refused) may be used again', () => {
  const table = new IdempotencyTable(1000, 10);
  const print = fingerprint('x');
  table.begin('s', 'k', print);
  table.release('s', 'k');
  assert.deepEqual(table.begin('s', 'k', print), { kind: 'new' });
  table.accept('s', 'k', 'id');
  table.release('s', 'k');
  assert.equal(table.begin('s', 'k', print).kind, 'replay', 'an accepted key is not released');
});

test('at most maxKeys are remembered, the oldest forgotten first', () => {
  const table = new IdempotencyTable(60_000, 3);
  for (const key of ['a', 'b', 'c', 'd']) {
    table.begin('s', key, 'p');
    table.accept('s', key, `id-${key}`);
  }
  assert.equal(table.size, 3);
  assert.equal(table.begin('s', 'a', 'p').kind, 'new');
  assert.deepEqual(table.begin('s', 'd', 'p'), { kind: 'replay', sendId: 'id-d' });
});

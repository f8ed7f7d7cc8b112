/**
 * `sendTokenBatch`, the part of every `sendBatch` (HMS sends, FCM topic subscriptions) that
 * keeps refused tokens out of the request and puts the answers back in the devices' order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Device } from '../src/device.js';
import { PushError } from '../src/errors.js';
import type { Outcome } from '../src/provider.js';
import { sendTokenBatch } from '../src/token-batch.js';

const refused: Outcome = { ok: false, error: new PushError('invalid-token', 'empty'), requested: false };
const tokenOf = (device: Device): string | Outcome =>
  typeof device.token === 'string' && device.token !== '' ? device.token : refused;
const device = (token: string): Device => ({ platform: 'huawei', token });

test('refused tokens stay out of the request; every answer lands on its own device', async () => {
  const requests: string[][] = [];
  const outcomes = await sendTokenBatch(
    [device('a'), device(''), device('b'), device(''), device('c')],
    tokenOf,
    async (tokens) => {
      requests.push(tokens);
      return tokens.map((token): Outcome => ({ ok: true, messageId: `id-${token}` }));
    },
  );
  assert.deepEqual(requests, [['a', 'b', 'c']]);
  assert.deepEqual(outcomes, [
    { ok: true, messageId: 'id-a' },
    refused,
    { ok: true, messageId: 'id-b' },
    refused,
    { ok: true, messageId: 'id-c' },
  ]);
});

test('no request when every token is refused', async () => {
  let requests = 0;
  const outcomes = await sendTokenBatch([device(''), device('')], tokenOf, async () => {
    requests++;
    return [];
  });
  assert.equal(requests, 0);
  assert.deepEqual(outcomes, [refused, refused]);
});

test("the request's failure is the batch's", async () => {
  await assert.rejects(
    sendTokenBatch([device('a')], tokenOf, () => Promise.reject(new PushError('closed', 'gone'))),
    { code: 'closed' },
  );
});

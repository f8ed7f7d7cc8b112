/**
 * `namedAfter`: how every provider names a thrown error after itself (the transport's errors
 * serve all providers and carry no name), keeping what the error says.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { namedAfter, PushError } from '../src/errors.js';

test("a transport error gets the provider's name, its code and fields kept, the original as its cause", () => {
  const transport = new PushError('unavailable', 'connection reset', {
    reason: 'ECONNRESET',
    retryable: true,
    retryAfterMs: 1000,
    maybeDelivered: true,
  });
  const named = namedAfter(transport, 'fcm:shop');
  assert.equal(named.provider, 'fcm:shop');
  assert.deepEqual(
    [named.code, named.message, named.reason, named.retryable, named.retryAfterMs, named.maybeDelivered],
    ['unavailable', 'connection reset', 'ECONNRESET', true, 1000, true],
  );
  assert.equal(named.cause, transport);
});

test('an error already named keeps its name; anything else is internal, named', () => {
  const own = new PushError('auth', 'refused', { provider: 'hms' });
  assert.equal(namedAfter(own, 'other'), own);
  const bug = namedAfter(new TypeError('x is undefined'), 'webpush');
  assert.deepEqual([bug.code, bug.provider, bug.message], ['internal', 'webpush', 'x is undefined']);
});

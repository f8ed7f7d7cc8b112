/**
 * What a caller of the client gets for bad options or input: a PushError with a stable code
 * and a message naming the problem and the fix (not a bare RangeError, TypeError or Error).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PushClient } from '../../src/client.js';
import { PushError } from '../../src/errors.js';
import { collect, ScriptedProvider, scriptedDevices } from '../support/scripted-provider.js';

function pushError(code: string, message: RegExp) {
  return (thrown: unknown) => {
    assert.ok(thrown instanceof PushError, `a PushError, got ${String(thrown)}`);
    assert.equal(thrown.code, code);
    assert.match(thrown.message, message);
    return true;
  };
}

test('bad retry options and delivery semantics are config errors, at construction and per send', async (t) => {
  const provider = () => new ScriptedProvider();
  assert.throws(
    () => new PushClient({ providers: [provider()], retry: { baseDelayMs: -1 } }),
    pushError('config', /retry\.baseDelayMs must be a number ≥ 0, got -1 \(leave it out for the default/),
  );
  assert.throws(
    () => new PushClient({ providers: [provider()], retry: { maxAttempts: 0 } }),
    pushError('config', /retry\.maxAttempts must be at least 1/),
  );
  assert.throws(
    () => new PushClient({ providers: [provider()], delivery: 'sometimes' as never }),
    pushError('config', /delivery must be 'at-least-once' or 'at-most-once', got "sometimes"/),
  );
  const client = new PushClient({ providers: [provider()] });
  t.after(() => client.close());
  assert.throws(
    () => client.send({}, [], { retry: { maxDelayMs: Number.NaN } }),
    pushError('config', /retry\.maxDelayMs/),
  );
});

test('devices that cannot be read, and a delivery read twice, are bad-request errors', async (t) => {
  const client = new PushClient({ providers: [new ScriptedProvider()] });
  t.after(() => client.close());
  const notDevices = client.send({}, 42 as never);
  await assert.rejects(
    notDevices.done,
    pushError('bad-request', /devices must be an Iterable.*\(an array, a generator/),
  );
  const delivery = client.send({}, scriptedDevices(1));
  await collect(delivery);
  assert.throws(
    () => delivery[Symbol.asyncIterator](),
    pushError('bad-request', /only once \(read its feedback in one loop/),
  );
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PushError } from '../../../src/errors.js';
import { webPush } from '../../../src/providers/webpush/index.js';
import { resolveWebPushOptions } from '../../../src/providers/webpush/options.js';

function configError(message: RegExp) {
  return (thrown: unknown) => {
    assert.ok(thrown instanceof PushError, `a PushError, got ${String(thrown)}`);
    assert.equal(thrown.code, 'config');
    assert.match(thrown.message, message);
    return true;
  };
}

test('webPush() without options says what to pass', () => {
  assert.throws(
    () => webPush(undefined as never),
    configError(/^webPush: options are missing: webPush\(\{ vapid:/),
  );
});

test('bad concurrency, allowHosts or encryptionThreads are config errors naming the option', () => {
  const vapid = { subject: 'mailto:ops@example.com', publicKey: 'x', privateKey: 'y' };
  assert.throws(
    () => resolveWebPushOptions({ vapid, concurrency: 0 }),
    configError(/concurrency must be a whole number ≥ 1, got 0/),
  );
  assert.throws(
    () => resolveWebPushOptions({ vapid, allowHosts: '127.0.0.1' as never }),
    configError(/allowHosts must be an array of host names/),
  );
  assert.throws(
    () => resolveWebPushOptions({ vapid, encryptionThreads: 1.5 }),
    configError(/encryptionThreads must be a whole number ≥ 0, got 1\.5/),
  );
  const resolved = resolveWebPushOptions({ vapid, encryptionThreads: 0 });
  assert.deepEqual([resolved.name, resolved.encryptionThreads], ['webpush', 0]);
});

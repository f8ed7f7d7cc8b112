import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseSubscription } from '../../../src/providers/webpush/subscription.js';

const p256dh = createECDH('prime256v1').generateKeys().toString('base64url');
const auth = randomBytes(16).toString('base64url');
const good = { endpoint: 'https://fcm.googleapis.com/fcm/send/abc:def?x=1', keys: { p256dh, auth } };

function reason(token: unknown): string {
  const result = parseSubscription(token);
  assert.equal(result.ok, false, `expected ${JSON.stringify(token)} to be refused`);
  return (result as { reason: string }).reason;
}

describe('subscription validation', () => {
  it('accepts the object and its JSON string, with origin and path split out', () => {
    for (const token of [good, JSON.stringify(good)]) {
      const result = parseSubscription(token);
      assert.ok(result.ok);
      assert.equal(result.subscription.origin, 'https://fcm.googleapis.com');
      assert.equal(result.subscription.path, '/fcm/send/abc:def?x=1');
      assert.equal(result.subscription.p256dh.length, 65);
      assert.equal(result.subscription.auth.length, 16);
    }
  });

  it('accepts padded or standard-alphabet keys as stored by some databases', () => {
    const padded = Buffer.from(auth, 'base64url').toString('base64');
    assert.ok(parseSubscription({ ...good, keys: { p256dh, auth: padded } }).ok);
  });

  it('refuses each malformed part with a reason saying what is wrong', () => {
    assert.match(reason('{not json'), /not valid JSON/);
    assert.match(reason(42), /must be an object/);
    assert.match(reason(null), /must be an object/);
    assert.match(reason({ keys: good.keys }), /endpoint is missing/);
    assert.match(reason({ ...good, endpoint: 'not a url' }), /not a URL/);
    assert.match(reason({ ...good, endpoint: 'http://push.example.com/x' }), /must be https/);
    assert.match(reason({ ...good, endpoint: 'https://u:p@push.example.com/x' }), /credentials/);
    assert.match(reason({ endpoint: good.endpoint }), /keys is missing/);
    assert.match(reason({ ...good, keys: { auth } }), /p256dh is not base64url/);
    assert.match(
      reason({ ...good, keys: { p256dh: 'AAAA', auth } }),
      /65-byte uncompressed P-256 point, got 3 bytes/,
    );
    const compressed = createECDH('prime256v1').generateKeys('base64url', 'compressed');
    assert.match(reason({ ...good, keys: { p256dh: compressed, auth } }), /65-byte uncompressed/);
    assert.match(reason({ ...good, keys: { p256dh, auth: 'AAAA' } }), /auth must be 16 bytes, got 3/);
    assert.match(reason({ ...good, keys: { p256dh, auth: '!!' } }), /auth is not base64url/);
  });
});

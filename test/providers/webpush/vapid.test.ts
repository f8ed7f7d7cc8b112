import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import webpushLib from 'web-push';
import { PushError } from '../../../src/errors.js';
import { generateVapidKeys, webPush } from '../../../src/providers/webpush/index.js';
import {
  loadVapid,
  VAPID_RENEW_BEFORE_SECONDS,
  VAPID_TOKEN_LIFETIME_SECONDS,
  VapidAuthorizer,
} from '../../../src/providers/webpush/vapid.js';

const subject = 'mailto:ops@example.com';

function publicKeyObject(publicKey: string) {
  const raw = Buffer.from(publicKey, 'base64url');
  return createPublicKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: raw.subarray(1, 33).toString('base64url'),
      y: raw.subarray(33).toString('base64url'),
    },
  });
}

function parseHeader(header: string): { t: string; k: string } {
  const match = /^vapid t=([^,]+), k=(.+)$/.exec(header);
  assert.ok(match, `header has the vapid form: ${header}`);
  return { t: match[1]!, k: match[2]! };
}

function assertConfigError(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PushError);
    assert.equal(error.code, 'config');
    assert.match(error.message, pattern);
    return true;
  });
}

describe('VAPID keys', () => {
  it('generateVapidKeys gives the web-push form: 65-byte public point, 32-byte scalar, base64url', () => {
    for (let i = 0; i < 20; i++) {
      const keys = generateVapidKeys();
      assert.match(keys.publicKey, /^[A-Za-z0-9_-]+$/);
      assert.match(keys.privateKey, /^[A-Za-z0-9_-]+$/);
      const pub = Buffer.from(keys.publicKey, 'base64url');
      assert.equal(pub.length, 65);
      assert.equal(pub[0], 4);
      assert.equal(Buffer.from(keys.privateKey, 'base64url').length, 32);
      assert.doesNotThrow(() => loadVapid({ subject, ...keys }));
    }
  });

  it('accepts keys made by the web-push package, and web-push accepts ours', async () => {
    // Not only "no exception": what each side signs with the other's keys verifies with the
    // public key that goes out as k=.
    const theirs = webpushLib.generateVAPIDKeys();
    const header = await new VapidAuthorizer(loadVapid({ subject, ...theirs })).header(
      'https://push.example.net',
    );
    const signed = parseHeader(header);
    assert.equal(signed.k, theirs.publicKey);
    await jwtVerify(signed.t, publicKeyObject(theirs.publicKey), { algorithms: ['ES256'] });
    const ours = generateVapidKeys();
    const headers = webpushLib.getVapidHeaders(
      'https://push.example.net',
      subject,
      ours.publicKey,
      ours.privateKey,
      'aes128gcm',
    );
    const theirHeader = parseHeader(String(headers.Authorization));
    assert.equal(theirHeader.k, ours.publicKey);
    const { payload } = await jwtVerify(theirHeader.t, publicKeyObject(ours.publicKey), {
      algorithms: ['ES256'],
    });
    assert.equal(payload.aud, 'https://push.example.net');
  });

  it('webPush() refuses a bad subject or bad keys with a config error saying what is wrong', () => {
    const keys = generateVapidKeys();
    const other = generateVapidKeys();
    assertConfigError(() => webPush({ vapid: { subject: 'ops@example.com', ...keys } }), /not a URL/);
    assertConfigError(
      () => webPush({ vapid: { subject: 'http://example.com', ...keys } }),
      /mailto: or https:/,
    );
    assertConfigError(
      () => webPush({ vapid: { subject: 'mailto: <ops@example.com>', ...keys } }),
      /spaces or angle/,
    );
    assertConfigError(() => webPush({ vapid: { subject: 'mailto:me@localhost', ...keys } }), /localhost/);
    assertConfigError(
      () => webPush({ vapid: { subject, publicKey: keys.publicKey, privateKey: 'not base64!' } }),
      /base64url/,
    );
    assertConfigError(
      () =>
        webPush({ vapid: { subject, publicKey: keys.publicKey.slice(0, 40), privateKey: keys.privateKey } }),
      /65 bytes/,
    );
    assertConfigError(
      () => webPush({ vapid: { subject, publicKey: keys.publicKey, privateKey: other.privateKey } }),
      /does not belong/,
    );
    assertConfigError(() => webPush({} as never), /vapid/);
  });
});

describe('VapidAuthorizer', () => {
  const keys = generateVapidKeys();
  const credentials = loadVapid({ subject, ...keys });

  it('signs ES256 with aud = the origin, exp 12 h ahead and sub, verifiable with k', async () => {
    const now = Date.UTC(2030, 0, 1);
    const authorizer = new VapidAuthorizer(credentials, () => now);
    const header = await authorizer.header('https://fcm.googleapis.com');
    const { t, k } = parseHeader(header);
    assert.equal(k, keys.publicKey);
    assert.deepEqual(decodeProtectedHeader(t), { typ: 'JWT', alg: 'ES256' });
    const claims = decodeJwt(t);
    assert.deepEqual(
      { aud: claims.aud, sub: claims.sub, exp: claims.exp },
      { aud: 'https://fcm.googleapis.com', sub: subject, exp: now / 1000 + VAPID_TOKEN_LIFETIME_SECONDS },
    );
    assert.ok(VAPID_TOKEN_LIFETIME_SECONDS <= 24 * 3600);
    await jwtVerify(t, publicKeyObject(k), { algorithms: ['ES256'], currentDate: new Date(now) });
  });

  it('caches one token per origin, and signs once for concurrent callers', async () => {
    const authorizer = new VapidAuthorizer(credentials);
    const first = authorizer.header('https://a.example');
    const concurrent = authorizer.header('https://a.example');
    assert.ok(first instanceof Promise);
    assert.equal(first, concurrent, 'one signing for concurrent callers');
    const a = await first;
    assert.equal(authorizer.header('https://a.example'), a, 'cached: returned synchronously');
    const b = await authorizer.header('https://b.example');
    assert.notEqual(a, b);
    assert.equal(decodeJwt(parseHeader(b).t).aud, 'https://b.example');
  });

  it('renews well before expiry, not before', async () => {
    let now = Date.UTC(2030, 0, 1);
    const authorizer = new VapidAuthorizer(credentials, () => now);
    const first = await authorizer.header('https://a.example');
    now += (VAPID_TOKEN_LIFETIME_SECONDS - VAPID_RENEW_BEFORE_SECONDS) * 1000 - 1000;
    assert.equal(authorizer.header('https://a.example'), first);
    now += 2000;
    const renewed = authorizer.header('https://a.example');
    assert.ok(renewed instanceof Promise);
    const second = await renewed;
    assert.notEqual(second, first);
    const exp = decodeJwt(parseHeader(second).t).exp!;
    assert.equal(exp, Math.floor(now / 1000) + VAPID_TOKEN_LIFETIME_SECONDS);
    // The old token still had VAPID_RENEW_BEFORE_SECONDS left when it was replaced.
    assert.ok(decodeJwt(parseHeader(first).t).exp! * 1000 - now >= (VAPID_RENEW_BEFORE_SECONDS - 2) * 1000);
  });
});

import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decryptWebPush } from '../../../src/emulator/webpush/ece.js';
import {
  encryptAes128gcm,
  MAX_PLAINTEXT_LENGTH,
  preparePlaintext,
  RECORD_SIZE,
} from '../../../src/providers/webpush/encrypt.js';

/** A browser: its key pair and auth secret, and http_ece (not our code) to decrypt. */
function browser() {
  const key = createECDH('prime256v1');
  const p256dh = key.generateKeys();
  const auth = randomBytes(16);
  return {
    key,
    receiver: { p256dh, auth },
    decrypt: (body: Buffer) => decryptWebPush(body, key, auth.toString('base64url')),
  };
}

describe('aes128gcm encryption (RFC 8291)', () => {
  it('round-trips through http_ece playing the browser', () => {
    const b = browser();
    for (const text of ['', 'hello', '{"title":"Hi","body":"ünïcødé ✓"}', 'x'.repeat(MAX_PLAINTEXT_LENGTH)]) {
      const plaintext = Buffer.from(text);
      const body = encryptAes128gcm(preparePlaintext(plaintext), b.receiver);
      assert.deepEqual(b.decrypt(body), plaintext);
    }
  });

  it('writes the RFC 8188 header: salt, rs 4096, idlen 65, a fresh P-256 public key', () => {
    const b = browser();
    const body = encryptAes128gcm(preparePlaintext(Buffer.from('hi')), b.receiver);
    assert.equal(body.readUInt32BE(16), RECORD_SIZE);
    assert.equal(body[20], 65);
    assert.equal(body[21], 0x04);
    assert.equal(body.length, 86 + 2 + 1 + 16);
  });

  it('uses a fresh salt and ephemeral key for every message', () => {
    const b = browser();
    const prepared = preparePlaintext(Buffer.from('same message'));
    const salts = new Set<string>();
    const keys = new Set<string>();
    const bodies = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const body = encryptAes128gcm(prepared, b.receiver);
      salts.add(body.subarray(0, 16).toString('hex'));
      keys.add(body.subarray(21, 86).toString('hex'));
      bodies.add(body.subarray(86).toString('hex'));
      assert.equal(b.decrypt(body).toString(), 'same message');
    }
    assert.equal(salts.size, 200);
    assert.equal(keys.size, 200);
    assert.equal(bodies.size, 200);
  });

  it('the largest plaintext fills exactly one 4096-byte body', () => {
    assert.equal(MAX_PLAINTEXT_LENGTH, 3993);
    const body = encryptAes128gcm(
      preparePlaintext(Buffer.alloc(MAX_PLAINTEXT_LENGTH, 0x61)),
      browser().receiver,
    );
    assert.equal(body.length, 4096);
  });

  it('refuses a p256dh that is not on the curve', () => {
    const offCurve = Buffer.alloc(65, 1);
    offCurve[0] = 4;
    assert.throws(
      () => encryptAes128gcm(preparePlaintext(Buffer.from('x')), { p256dh: offCurve, auth: randomBytes(16) }),
      { code: 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY' },
    );
  });

  it('only the subscribed browser can decrypt it', () => {
    const intended = browser();
    const other = browser();
    const body = encryptAes128gcm(preparePlaintext(Buffer.from('secret')), intended.receiver);
    // The AES-GCM tag does not check with another browser's keys (not some unrelated failure).
    assert.throws(() => other.decrypt(body), /unable to authenticate data/);
    assert.equal(intended.decrypt(body).toString(), 'secret');
  });
});

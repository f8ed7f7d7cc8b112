/**
 * Message encryption for Web Push (RFC 8291 §3.4) in the `aes128gcm` content coding (RFC 8188),
 * one record. This is the hot path of the provider: one ECDH per device is unavoidable (every
 * message gets a fresh ephemeral key and salt), so everything else is kept to five HMACs, one
 * cipher and one output buffer written in place. The same code runs inline and in the
 * encryption workers (encrypt-pool.ts).
 */
import { createCipheriv, createECDH, createHmac, randomFillSync } from 'node:crypto';

/** RFC 8291 §4: the push service accepts at least 4096 bytes of body, one record. */
export const RECORD_SIZE = 4096;
/** salt(16) + rs(4) + idlen(1) + keyid(65): the RFC 8188 header with the sender's public key. */
export const HEADER_LENGTH = 86;
const SALT_LENGTH = 16;
const TAG_LENGTH = 16;
const KEY_LENGTH = 65;
/** Largest plaintext that fits one 4096-byte record: 4096 − 86 − 16 − 1 (padding delimiter). */
export const MAX_PLAINTEXT_LENGTH = RECORD_SIZE - HEADER_LENGTH - TAG_LENGTH - 1;

const KEY_INFO_PREFIX = Buffer.from('WebPush: info\0', 'latin1');
const CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0\x01', 'latin1');
const NONCE_INFO = Buffer.from('Content-Encoding: nonce\0\x01', 'latin1');
/** key_info || ua_public || as_public || 0x01 (RFC 8291 §3.4), filled per message. */
const keyInfo = Buffer.alloc(KEY_INFO_PREFIX.length + 2 * KEY_LENGTH + 1);
KEY_INFO_PREFIX.copy(keyInfo, 0);
keyInfo[keyInfo.length - 1] = 1;
const UA_PUBLIC_AT = KEY_INFO_PREFIX.length;
const AS_PUBLIC_AT = UA_PUBLIC_AT + KEY_LENGTH;

/**
 * One ECDH object per thread: `generateKeys()` makes a new random private key (and its public
 * key) on every call, so each message still gets its own ephemeral key pair (RFC 8291 §3.1),
 * without paying for a new EC_KEY and curve group per message.
 */
const ephemeral = createECDH('prime256v1');

/** The browser's keys from its subscription. */
export interface ReceiverKeys {
  /** 65-byte uncompressed P-256 point (`keys.p256dh`). */
  p256dh: Uint8Array;
  /** 16-byte authentication secret (`keys.auth`). */
  auth: Uint8Array;
}

/** A plaintext made once per send, with the final-record delimiter (0x02) already appended. */
export interface PreparedPlaintext {
  readonly padded: Buffer;
}

export function preparePlaintext(plaintext: Buffer): PreparedPlaintext {
  const padded = Buffer.allocUnsafe(plaintext.length + 1);
  plaintext.copy(padded, 0);
  padded[plaintext.length] = 2;
  return { padded };
}

/** Bytes of the encrypted body for a padded plaintext of `paddedLength` bytes. */
export function bodyLength(paddedLength: number): number {
  return HEADER_LENGTH + paddedLength + TAG_LENGTH;
}

function hmac(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * Encrypts `padded` for one receiver into `out` at `at` (exactly `bodyLength(padded.length)`
 * bytes). The 16-byte salt must already be at `out[at..at+16]`, fresh random bytes for this
 * message (callers fill many salts with one `randomFillSync`). Throws the crypto error
 * `ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY` when `p256dh` is not a point on P-256.
 */
export function encryptInto(
  out: Buffer,
  at: number,
  padded: Uint8Array,
  p256dh: Uint8Array,
  auth: Uint8Array,
): void {
  const senderPublic = ephemeral.generateKeys();
  const sharedSecret = ephemeral.computeSecret(p256dh);

  // HKDF written out as HMACs (RFC 5869): each expand here is a single block, so this is exact.
  const prkKey = hmac(auth, sharedSecret);
  keyInfo.set(p256dh, UA_PUBLIC_AT);
  keyInfo.set(senderPublic, AS_PUBLIC_AT);
  const ikm = hmac(prkKey, keyInfo);
  const prk = hmac(out.subarray(at, at + SALT_LENGTH), ikm);
  const cek = hmac(prk, CEK_INFO).subarray(0, 16);
  const nonce = hmac(prk, NONCE_INFO).subarray(0, 12);

  out.writeUInt32BE(RECORD_SIZE, at + SALT_LENGTH);
  out[at + 20] = KEY_LENGTH;
  out.set(senderPublic, at + 21);

  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  let offset = at + HEADER_LENGTH;
  offset += cipher.update(padded).copy(out, offset);
  offset += cipher.final().copy(out, offset);
  cipher.getAuthTag().copy(out, offset);
}

/**
 * Encrypts `plaintext` for one subscription: fresh ephemeral key pair and salt every call.
 * Throws a crypto error (code `ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY`) when `p256dh` is not a
 * point on P-256; the caller maps it to an invalid subscription.
 */
export function encryptAes128gcm(plaintext: PreparedPlaintext, receiver: ReceiverKeys): Buffer {
  const body = Buffer.allocUnsafe(bodyLength(plaintext.padded.length));
  randomFillSync(body, 0, SALT_LENGTH);
  encryptInto(body, 0, plaintext.padded, receiver.p256dh, receiver.auth);
  return body;
}

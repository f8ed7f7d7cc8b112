/**
 * Message encryption for Web Push (RFC 8291 §3.4) in the `aes128gcm` content coding (RFC 8188),
 * one record. This is the hot path of the provider: one ECDH per device is unavoidable (every
 * message gets a fresh ephemeral key and salt), so everything else is kept to a few HMACs and
 * one buffer allocation.
 */
import { createCipheriv, createECDH, createHmac, randomFillSync } from 'node:crypto';

/** RFC 8291 §4: the push service accepts at least 4096 bytes of body, one record. */
export const RECORD_SIZE = 4096;
/** salt(16) + rs(4) + idlen(1) + keyid(65): the RFC 8188 header with the sender's public key. */
const HEADER_LENGTH = 86;
const TAG_LENGTH = 16;
/** Largest plaintext that fits one 4096-byte record: 4096 − 86 − 16 − 1 (padding delimiter). */
export const MAX_PLAINTEXT_LENGTH = RECORD_SIZE - HEADER_LENGTH - TAG_LENGTH - 1;

const KEY_INFO_PREFIX = Buffer.from('WebPush: info\0', 'latin1');
const ONE = Buffer.from([1]);
const CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0\x01', 'latin1');
const NONCE_INFO = Buffer.from('Content-Encoding: nonce\0\x01', 'latin1');

/** The browser's keys from its subscription. */
export interface ReceiverKeys {
  /** 65-byte uncompressed P-256 point (`keys.p256dh`). */
  p256dh: Buffer;
  /** 16-byte authentication secret (`keys.auth`). */
  auth: Buffer;
}

/** A plaintext made once per send, with the final-record delimiter (0x02) already appended. */
export interface PreparedPlaintext {
  readonly padded: Buffer;
}

export function preparePlaintext(plaintext: Buffer): PreparedPlaintext {
  return { padded: Buffer.concat([plaintext, Buffer.from([2])]) };
}

function hmac(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * Encrypts `plaintext` for one subscription: fresh ephemeral key pair and salt every call.
 * Throws a `RangeError`-like crypto error (code `ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY`) when
 * `p256dh` is not a point on P-256; the caller maps it to an invalid subscription.
 */
export function encryptAes128gcm(plaintext: PreparedPlaintext, receiver: ReceiverKeys): Buffer {
  const ephemeral = createECDH('prime256v1');
  const senderPublic = ephemeral.generateKeys();
  const sharedSecret = ephemeral.computeSecret(receiver.p256dh);

  const body = Buffer.allocUnsafe(HEADER_LENGTH + plaintext.padded.length + TAG_LENGTH);
  const salt = body.subarray(0, 16);
  randomFillSync(salt);

  // HKDF written out as HMACs (RFC 5869): each expand here is a single block, so this is exact.
  const prkKey = hmac(receiver.auth, sharedSecret);
  const ikm = createHmac('sha256', prkKey)
    .update(KEY_INFO_PREFIX)
    .update(receiver.p256dh)
    .update(senderPublic)
    .update(ONE)
    .digest();
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, CEK_INFO).subarray(0, 16);
  const nonce = hmac(prk, NONCE_INFO).subarray(0, 12);

  body.writeUInt32BE(RECORD_SIZE, 16);
  body[20] = 65;
  senderPublic.copy(body, 21);

  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  let offset = HEADER_LENGTH;
  offset += cipher.update(plaintext.padded).copy(body, offset);
  offset += cipher.final().copy(body, offset);
  cipher.getAuthTag().copy(body, offset);
  return body;
}

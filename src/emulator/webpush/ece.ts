/**
 * The browser's side of RFC 8291, done by `http_ece` (Mozilla's reference implementation of
 * RFC 8188) rather than by pushline's own encryption code: the emulator must be an
 * independent check of what a provider sends.
 */
import type { ECDH } from 'node:crypto';
import { createRequire } from 'node:module';

interface HttpEce {
  decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string }): Buffer;
}

// http_ece is CommonJS without type declarations: load it with require and type the one call we use.
const ece = createRequire(import.meta.url)('http_ece') as HttpEce;

/**
 * Decrypts an `aes128gcm` Web Push body the way a browser does, with the subscription's
 * private key and auth secret (base64url). Throws when it does not decrypt.
 */
export function decryptWebPush(body: Buffer, receiverKey: ECDH, authSecret: string): Buffer {
  return ece.decrypt(body, { version: 'aes128gcm', privateKey: receiverKey, authSecret });
}

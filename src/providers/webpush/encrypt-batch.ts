/**
 * What the encryption workers exchange with the main thread: a batch of messages to encrypt
 * as flat typed arrays (moved, not copied, by `postMessage` transfer lists), and the bodies
 * back in one buffer. Kept apart from the worker entry so the main thread and tests share it.
 */
import { randomFillSync } from 'node:crypto';
import { bodyLength, encryptInto } from './encrypt.js';

/** p256dh (65 bytes) then auth (16 bytes) per message in {@link EncryptBatch.keys}. */
export const KEYS_STRIDE = 81;

/** Per-message result in {@link EncryptResult.status}. */
export const STATUS_OK = 0;
/** `keys.p256dh` is not a point on P-256: the subscription is invalid. */
export const STATUS_INVALID_KEY = 1;
/** Any other failure; its message is in {@link EncryptResult.errors}. */
export const STATUS_FAILED = 2;

/** Main thread → worker. */
export interface EncryptBatch {
  id: number;
  /** The distinct padded plaintexts of this batch (usually one: one notification). */
  plaintexts: Uint8Array[];
  /** For message i, the index of its plaintext in `plaintexts`. */
  which: Uint16Array;
  /** Message i's receiver keys at `i * KEYS_STRIDE`. */
  keys: Uint8Array;
  count: number;
}

/** Worker → main thread. */
export interface EncryptResult {
  id: number;
  /** Every body back to back, in message order; message i is `bodyLength(plaintext)` bytes. */
  out: Uint8Array;
  status: Uint8Array;
  /** Messages of the failures with `STATUS_FAILED`, by message index. */
  errors: Record<number, string>;
}

/** Total body bytes of a batch: the main thread and the worker compute the same layout. */
export function batchLength(plaintexts: readonly Uint8Array[], which: Uint16Array, count: number): number {
  let total = 0;
  for (let i = 0; i < count; i++) total += bodyLength(plaintexts[which[i]!]!.length);
  return total;
}

/** Encrypts a whole batch; never throws (failures are per message). */
export function encryptBatch(batch: EncryptBatch): EncryptResult {
  const { plaintexts, which, keys, count } = batch;
  // Not from Buffer's shared pool: this buffer is transferred, and pooled memory cannot be.
  const out = Buffer.allocUnsafeSlow(batchLength(plaintexts, which, count));
  const status = new Uint8Array(count);
  const errors: Record<number, string> = {};
  const salts = randomFillSync(Buffer.allocUnsafe(16 * count));
  let at = 0;
  for (let i = 0; i < count; i++) {
    const padded = plaintexts[which[i]!]!;
    const k = i * KEYS_STRIDE;
    salts.copy(out, at, 16 * i, 16 * i + 16);
    try {
      encryptInto(out, at, padded, keys.subarray(k, k + 65), keys.subarray(k + 65, k + KEYS_STRIDE));
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY') {
        status[i] = STATUS_INVALID_KEY;
      } else {
        status[i] = STATUS_FAILED;
        errors[i] = error instanceof Error ? error.message : String(error);
      }
    }
    at += bodyLength(padded.length);
  }
  return { id: batch.id, out: new Uint8Array(out.buffer, out.byteOffset, out.length), status, errors };
}

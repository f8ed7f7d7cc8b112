/**
 * Entry of an encryption worker thread (see encrypt-pool.ts): encrypts each batch it is
 * given and moves the bodies back. Holds no state but its ECDH object (encrypt.ts).
 */
import { parentPort } from 'node:worker_threads';
import { type EncryptBatch, encryptBatch } from './encrypt-batch.js';

const port = parentPort;
// A guard, not an input error: this module is loaded only by EncryptionPool's `new Worker`, so
// reaching here on the main thread is a packaging bug; no caller can handle it, nothing to code.
if (port === null) throw new Error('encrypt-worker.ts runs only as a worker thread');
port.on('message', (batch: EncryptBatch) => {
  const result = encryptBatch(batch);
  port.postMessage(result, [result.out.buffer as ArrayBuffer, result.status.buffer as ArrayBuffer]);
});
// Tells the pool the module loaded: a worker that dies before this never encrypted anything.
port.postMessage('ready');

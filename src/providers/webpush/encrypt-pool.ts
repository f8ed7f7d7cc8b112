/**
 * Web Push encryption off the main thread. The per-message ECDH (RFC 8291: a fresh P-256 key
 * for every message) costs more CPU than the HTTP/2 request that carries it, so a few worker
 * threads do the crypto while the main thread does the HTTP/2 and the engine.
 *
 * Messages are gathered into batches (up to {@link BATCH_SIZE}), each a few flat typed arrays
 * sent to the worker with one `postMessage`; the bodies come back in one moved (transferred)
 * buffer. Every
 * message has its own promise, so order does not matter. At most {@link BATCHES_PER_WORKER}
 * batches are handed to a worker at once (the rest wait here, bounded by the engine's window).
 *
 * Workers are unref'd while idle (they never keep the process alive) and started on first
 * use. A worker that dies fails the messages it held with `internal` and is replaced on the
 * next batch. A worker that cannot even start (its file missing from a bundle, no loader for
 * TypeScript) makes the pool encrypt inline from then on: slower, never broken.
 */
import { Worker } from 'node:worker_threads';
import { PushError } from '../../errors.js';
import { bodyLength, encryptAes128gcm, type PreparedPlaintext } from './encrypt.js';
import {
  type EncryptBatch,
  type EncryptResult,
  KEYS_STRIDE,
  STATUS_INVALID_KEY,
  STATUS_OK,
} from './encrypt-batch.js';
import { providerClosed } from './errors.js';

/** Most messages per `postMessage`: large enough to amortise it, small enough to keep latency low. */
export const BATCH_SIZE = 64;
/** Messages the main thread encrypts per event-loop turn when every worker is full (~1 ms). */
const HELP_CHUNK = 8;
/** Batches a worker holds at once: one being encrypted, one waiting, so it never idles between them. */
export const BATCHES_PER_WORKER = 2;

interface Job {
  resolve(body: Buffer): void;
  reject(error: unknown): void;
}

interface Batch {
  id: number;
  plaintexts: Uint8Array[];
  /** The PreparedPlaintext objects behind `plaintexts` (for the inline fallback). */
  prepared: PreparedPlaintext[];
  which: Uint16Array;
  keys: Uint8Array;
  count: number;
  jobs: Job[];
}

interface Slot {
  worker: Worker;
  /** The worker has loaded its module and said so. */
  ready: boolean;
  inFlight: Map<number, Batch>;
  /** The last uncaught error of the worker, for the failure message. */
  error?: Error;
}

export interface EncryptionPoolOptions {
  /** Worker threads (≥ 1). */
  threads: number;
  /** The worker entry; defaults to encrypt-worker.{js,ts} beside this module. For tests. */
  workerUrl?: URL;
}

/** The error an invalid `p256dh` gives inline, so callers map both paths the same way. */
function invalidKeyError(): Error {
  return Object.assign(new Error('Public key is not valid for specified curve'), {
    code: 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY',
  });
}

/** encrypt-worker.js beside this module, or encrypt-worker.ts when running from source. */
function defaultWorkerUrl(): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? './encrypt-worker.ts' : './encrypt-worker.js', import.meta.url);
}

/**
 * How to start a worker from `url`. Compiled (.js) it is the file itself. From source (tests,
 * `npm start`) it is TypeScript run by tsx, but Node 20 does not apply the parent's `--import
 * tsx` loader to a worker's entry, so a two-line bootstrap registers tsx in the worker first.
 */
function workerEntry(url: URL): { entry: URL | string; eval: boolean } {
  if (!url.pathname.endsWith('.ts')) return { entry: url, eval: false };
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    // No tsx: a runtime that runs .ts natively may still load it; if not, the pool goes inline.
    return { entry: url, eval: false };
  }
  return {
    entry: `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); });`,
    eval: true,
  };
}

/** A pool of encryption worker threads; see the module comment. */
export class EncryptionPool {
  readonly threads: number;
  readonly #entry: { entry: URL | string; eval: boolean };
  readonly #slots: Array<Slot | undefined>;
  /** Full batches waiting for a worker, oldest first. */
  readonly #ready: Batch[] = [];
  #open: Batch | undefined;
  #nextId = 1;
  #flushScheduled = false;
  #helpScheduled = false;
  /** Set when a worker could not start: encrypt inline from then on. */
  #inline = false;
  #closed = false;
  #terminated: Promise<void> | undefined;

  constructor(options: EncryptionPoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new PushError('config', `encryption threads must be a whole number ≥ 1, got ${options.threads}`);
    }
    this.threads = options.threads;
    this.#entry = workerEntry(options.workerUrl ?? defaultWorkerUrl());
    this.#slots = new Array(options.threads).fill(undefined);
  }

  /** Worker threads running now (started on first use, replaced after a crash). */
  get running(): number {
    return this.#slots.filter((slot) => slot !== undefined).length;
  }

  /**
   * Encrypts `plaintext` for one receiver (fresh key and salt, as `encryptAes128gcm`). Rejects
   * with the crypto error `ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY` for a `p256dh` off the curve,
   * `PushError('internal')` when the worker holding it died, `PushError('closed')` after close.
   */
  encrypt(plaintext: PreparedPlaintext, p256dh: Uint8Array, auth: Uint8Array): Promise<Buffer> {
    if (this.#closed) {
      return Promise.reject(providerClosed());
    }
    // The flat batch layout holds exactly these sizes (parseSubscription checks them).
    if (p256dh.length !== 65 || auth.length !== 16) return Promise.reject(invalidKeyError());
    if (this.#inline) {
      try {
        return Promise.resolve(encryptAes128gcm(plaintext, { p256dh, auth }));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    let batch = this.#open;
    if (batch === undefined) {
      batch = {
        id: this.#nextId++,
        plaintexts: [],
        prepared: [],
        which: new Uint16Array(BATCH_SIZE),
        keys: new Uint8Array(BATCH_SIZE * KEYS_STRIDE),
        count: 0,
        jobs: [],
      };
      this.#open = batch;
    }
    let index = batch.prepared.indexOf(plaintext);
    if (index < 0) {
      index = batch.prepared.push(plaintext) - 1;
      batch.plaintexts.push(plaintext.padded);
    }
    const i = batch.count++;
    batch.which[i] = index;
    batch.keys.set(p256dh, i * KEYS_STRIDE);
    batch.keys.set(auth, i * KEYS_STRIDE + 65);
    const promise = new Promise<Buffer>((resolve, reject) => {
      batch.jobs.push({ resolve, reject });
    });
    if (batch.count === BATCH_SIZE) {
      this.#ready.push(batch);
      this.#open = undefined;
      this.#flush();
    } else if (!this.#flushScheduled) {
      // Let every send started in this turn of the event loop join the batch first.
      this.#flushScheduled = true;
      setImmediate(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
    return promise;
  }

  /** Hands waiting batches (full ones first, then the open one) to workers with room. */
  #flush(): void {
    if (this.#closed) return;
    if (this.#inline) {
      this.#drainInline();
      return;
    }
    while (true) {
      const slot = this.#slotWithRoom();
      if (slot === undefined) {
        if (this.#ready.length > 0 || this.#open !== undefined) this.#scheduleHelp();
        return;
      }
      let batch = this.#ready.shift();
      if (batch === undefined) {
        batch = this.#open;
        if (batch === undefined) return;
        this.#open = undefined;
      }
      this.#post(slot, batch);
    }
  }

  /**
   * Every worker is full and messages wait: the main thread encrypts a few of them itself
   * between two turns of the event loop (its I/O still runs in between). When the main
   * thread is the busier side nothing waits here, so this only uses time it would idle.
   */
  #scheduleHelp(): void {
    if (this.#helpScheduled) return;
    this.#helpScheduled = true;
    setImmediate(() => {
      this.#helpScheduled = false;
      if (this.#closed || this.#inline) return;
      if (this.#hasRoom()) {
        this.#flush();
        return;
      }
      this.#help(HELP_CHUNK);
      if (this.#ready.length > 0 || this.#open !== undefined) this.#scheduleHelp();
    });
  }

  /** Encrypts up to `n` waiting messages here, newest first (the oldest go to the workers next). */
  #help(n: number): void {
    for (let done = 0; done < n; done++) {
      const batch = this.#open ?? this.#ready[this.#ready.length - 1];
      if (batch === undefined) return;
      const i = --batch.count;
      const k = i * KEYS_STRIDE;
      const job = batch.jobs.pop()!;
      try {
        job.resolve(
          encryptAes128gcm(batch.prepared[batch.which[i]!]!, {
            p256dh: batch.keys.subarray(k, k + 65),
            auth: batch.keys.subarray(k + 65, k + KEYS_STRIDE),
          }),
        );
      } catch (error) {
        job.reject(error);
      }
      if (batch.count === 0) {
        if (batch === this.#open) this.#open = undefined;
        else this.#ready.pop();
      }
    }
  }

  #hasRoom(): boolean {
    return this.#slots.some((slot) => slot === undefined || slot.inFlight.size < BATCHES_PER_WORKER);
  }

  #slotWithRoom(): Slot | undefined {
    let best: Slot | undefined;
    for (let i = 0; i < this.#slots.length; i++) {
      let slot = this.#slots[i];
      if (slot === undefined) {
        slot = this.#start(i);
        this.#slots[i] = slot;
      }
      if (slot.inFlight.size === 0) return slot;
      if (
        slot.inFlight.size < BATCHES_PER_WORKER &&
        (best === undefined || slot.inFlight.size < best.inFlight.size)
      )
        best = slot;
    }
    return best;
  }

  #post(slot: Slot, batch: Batch): void {
    if (slot.inFlight.size === 0) slot.worker.ref();
    slot.inFlight.set(batch.id, batch);
    const message: EncryptBatch = {
      id: batch.id,
      plaintexts: batch.plaintexts,
      which: batch.which,
      keys: batch.keys,
      count: batch.count,
    };
    // Copied, not moved (a few kB): the batch stays whole here in case its worker never starts.
    slot.worker.postMessage(message);
  }

  #start(index: number): Slot {
    const worker = new Worker(this.#entry.entry, { eval: this.#entry.eval });
    worker.unref();
    const slot: Slot = { worker, ready: false, inFlight: new Map() };
    worker.on('message', (message: EncryptResult | 'ready') => {
      if (message === 'ready') {
        slot.ready = true;
        return;
      }
      this.#settle(slot, message);
    });
    worker.on('error', (error) => {
      slot.error = error;
    });
    worker.on('exit', (code) => this.#exited(index, slot, code));
    return slot;
  }

  #settle(slot: Slot, result: EncryptResult): void {
    const batch = slot.inFlight.get(result.id);
    if (batch === undefined) return;
    slot.inFlight.delete(result.id);
    if (slot.inFlight.size === 0) slot.worker.unref();
    const out = Buffer.from(result.out.buffer, result.out.byteOffset, result.out.byteLength);
    let at = 0;
    for (let i = 0; i < batch.count; i++) {
      const size = bodyLength(batch.plaintexts[batch.which[i]!]!.length);
      const job = batch.jobs[i]!;
      const status = result.status[i];
      if (status === STATUS_OK) job.resolve(out.subarray(at, at + size));
      else if (status === STATUS_INVALID_KEY) job.reject(invalidKeyError());
      else
        job.reject(new PushError('internal', `webpush: encryption failed: ${result.errors[i] ?? 'unknown'}`));
      at += size;
    }
    this.#flush();
  }

  #exited(index: number, slot: Slot, code: number): void {
    if (this.#slots[index] === slot) this.#slots[index] = undefined;
    if (this.#closed) return;
    const batches = [...slot.inFlight.values()];
    slot.inFlight.clear();
    if (!slot.ready) {
      // It never ran: nothing was encrypted, so those messages can still be done here.
      this.#inline = true;
      for (const batch of batches) this.#encryptInline(batch);
      this.#drainInline();
      return;
    }
    const why = slot.error === undefined ? `exit code ${code}` : slot.error.message;
    for (const batch of batches) {
      for (const job of batch.jobs) {
        job.reject(new PushError('internal', `webpush: encryption worker stopped (${why})`));
      }
    }
    // Its replacement starts with the next batch.
    this.#flush();
  }

  #drainInline(): void {
    for (const batch of this.#ready.splice(0)) this.#encryptInline(batch);
    if (this.#open !== undefined) {
      const batch = this.#open;
      this.#open = undefined;
      this.#encryptInline(batch);
    }
  }

  #encryptInline(batch: Batch): void {
    for (let i = 0; i < batch.count; i++) {
      const k = i * KEYS_STRIDE;
      try {
        batch.jobs[i]!.resolve(
          encryptAes128gcm(batch.prepared[batch.which[i]!]!, {
            p256dh: batch.keys.subarray(k, k + 65),
            auth: batch.keys.subarray(k + 65, k + KEYS_STRIDE),
          }),
        );
      } catch (error) {
        batch.jobs[i]!.reject(error);
      }
    }
  }

  /** Stops the workers; messages not encrypted yet fail with `closed`. */
  close(): Promise<void> {
    return this.destroy();
  }

  /**
   * Stops the workers now; messages not encrypted yet fail with `closed`. Resolves (never
   * rejects) when every worker has exited.
   */
  destroy(): Promise<void> {
    if (this.#terminated !== undefined) return this.#terminated;
    this.#closed = true;
    const exits: Promise<unknown>[] = [];
    const pending = [...this.#ready.splice(0)];
    if (this.#open !== undefined) pending.push(this.#open);
    this.#open = undefined;
    for (const slot of this.#slots) {
      if (slot === undefined) continue;
      pending.push(...slot.inFlight.values());
      slot.inFlight.clear();
      exits.push(slot.worker.terminate().catch(() => undefined));
    }
    this.#slots.fill(undefined);
    for (const batch of pending) for (const job of batch.jobs) job.reject(providerClosed());
    this.#terminated = Promise.all(exits).then(() => undefined);
    return this.#terminated;
  }
}

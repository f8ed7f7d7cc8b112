/**
 * `Idempotency-Key` on `POST /v1/sends`: a client that retries a request (its connection
 * dropped before the 202 came) must not send the notification twice. The first request with a
 * key runs; while it runs a second one gets 409 (try again shortly); once it is accepted,
 * every later one gets the same send's id without sending anything. A key is scoped to the
 * API key that used it, and remembered for `ttlMs` (at most `maxKeys`, oldest forgotten first).
 *
 * Reusing a key for a different request (another JSON body) is a 422: it is a client bug,
 * and answering with the other send's id would hide it. An NDJSON body is not compared (it
 * is never held); its first line is.
 *
 * This table is the in-process guard. The key is also handed to the dispatcher in the
 * `SendSpec` (`idempotencyKey`), so a dispatcher shared by several server processes (Redis)
 * can refuse a duplicate that reached another process.
 */
import { createHash } from 'node:crypto';

type Entry =
  | { state: 'pending'; fingerprint: string; expiresAt: number }
  | { state: 'accepted'; fingerprint: string; sendId: string; expiresAt: number };

/** What a request's key says. */
export type IdempotencyCheck =
  /** First use: run the request, then `accept()` or `release()`. */
  | { kind: 'new' }
  /** The same request is running now. */
  | { kind: 'in-progress' }
  /** Already accepted as this send. */
  | { kind: 'replay'; sendId: string }
  /** Used before for a different request. */
  | { kind: 'mismatch' };

/** The request's fingerprint: a digest of what identifies it (method, path, body text). */
export function fingerprint(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('base64url');
}

/** `Idempotency-Key` values: 1–255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export class IdempotencyTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Checks and, for a new key, reserves it. */
  begin(scope: string, key: string, print: string): IdempotencyCheck {
    this.expire();
    const id = `${scope}\0${key}`;
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      if (entry.fingerprint !== print) return { kind: 'mismatch' };
      return entry.state === 'pending' ? { kind: 'in-progress' } : { kind: 'replay', sendId: entry.sendId };
    }
    this.entries.set(id, { state: 'pending', fingerprint: print, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return { kind: 'new' };
  }

  /** The request was accepted as `sendId`: later ones with the key get it. */
  accept(scope: string, key: string, sendId: string): void {
    const id = `${scope}\0${key}`;
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.entries.set(id, {
      state: 'accepted',
      fingerprint: entry.fingerprint,
      sendId,
      expiresAt: entry.expiresAt,
    });
  }

  /** The request was refused (nothing accepted): the key may be used again. */
  release(scope: string, key: string): void {
    const id = `${scope}\0${key}`;
    if (this.entries.get(id)?.state === 'pending') this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }

  private expire(): void {
    const now = this.now();
    // Insertion order is expiry order (one TTL for all): stop at the first live entry.
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(id);
    }
  }
}

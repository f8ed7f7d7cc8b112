/**
 * Idempotency keys seen recently (`Idempotency-Key` of `POST /v1/sends`): a client that
 * retries a request whose answer it lost gets the first send back instead of a second send.
 * Kept for a while (default 24 h, as Stripe does) and bounded in number: past `maxKeys`
 * the oldest key is forgotten first, so a flood of keys costs a fixed amount of memory.
 */

export interface IdempotencyOptions {
  /** How long a key is remembered, ms. Default 24 h. */
  ttlMs?: number;
  /** Keys remembered at most; the oldest goes first. Default 10,000. */
  maxKeys?: number;
  /** The clock, ms. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_IDEMPOTENCY_KEYS = 10_000;

/** Keys and what each stands for, oldest first (a Map keeps insertion order; a key is never refreshed). */
export class IdempotencyKeys<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  private readonly ttlMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: IdempotencyOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
    this.maxKeys = options.maxKeys ?? DEFAULT_IDEMPOTENCY_KEYS;
    this.now = options.now ?? Date.now;
  }

  /** What the key stands for, unless it is unknown or expired. */
  get(key: string): V | undefined {
    this.sweep();
    return this.entries.get(key)?.value;
  }

  /** Remembers a key (replacing what it stood for, without renewing its age). */
  set(key: string, value: V): void {
    this.sweep();
    const entry = this.entries.get(key);
    if (entry) {
      entry.value = value;
      return;
    }
    this.entries.set(key, { value, at: this.now() });
    while (this.entries.size > this.maxKeys) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const expired = this.now() - this.ttlMs;
    for (const [key, entry] of this.entries) {
      if (entry.at > expired) break;
      this.entries.delete(key);
    }
  }
}

/** Pools per origin, created on demand from shared defaults, closed when idle. */
import { PushError } from '../errors.js';
import { createPool } from './create-pool.js';
import { parseTarget } from './options.js';
import type { Pool, PoolOptions, PoolRegistryOptions } from './types.js';

interface Entry {
  pool: Pool;
  /** Last time the registry saw the pool busy or handed it out. */
  lastBusy: number;
}

/**
 * Keeps one pool per origin (Web Push talks to many push services; FCM and APNs to one each).
 * A pool with no request and nothing in flight for `idleCloseMs` is closed and forgotten; the
 * next `get()` for its origin makes a new one.
 *
 * At most `maxPools` live at once. Web Push origins are chosen by whoever wrote the
 * subscriptions, so without a cap a thousand attacker origins hold a thousand pools and their
 * sockets until the process runs out of descriptors and every honest device fails `EMFILE`.
 * At the cap, a new origin takes the place of the pool idle longest; when every pool is busy
 * the new origin's request fails `unavailable` (retryable), and the send goes on.
 */
export class PoolRegistry {
  private readonly defaults: Omit<PoolOptions, 'origin'>;
  private readonly idleCloseMs: number;
  private readonly maxPools: number;
  private readonly pools = new Map<string, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Pools closed for idleness or room whose connections may still be closing. */
  private readonly retiring = new Set<Pool>();

  constructor(defaults: PoolRegistryOptions = {}) {
    const { idleCloseMs, maxPools, ...poolDefaults } = defaults;
    this.defaults = poolDefaults;
    this.idleCloseMs = idleCloseMs ?? 300_000;
    this.maxPools = maxPools ?? 256;
    if (!(this.idleCloseMs > 0)) throw new PushError('config', 'idleCloseMs must be a positive number');
    if (!(Number.isInteger(this.maxPools) && this.maxPools > 0)) {
      throw new PushError('config', `maxPools must be a whole number ≥ 1, got ${maxPools}`);
    }
  }

  /** The pool for `origin` (any URL: only its origin counts), made on first use. */
  get(origin: string): Pool {
    if (this.closed) throw new PushError('closed', 'pool registry is closed', { retryable: false });
    const now = Date.now();
    // Callers usually pass the origin itself: find it without parsing a URL per request.
    let entry = this.pools.get(origin);
    let key = origin;
    if (entry === undefined) {
      key = parseTarget(origin).origin;
      entry = this.pools.get(key);
    }
    if (entry === undefined) {
      if (this.pools.size >= this.maxPools) this.makeRoom(key);
      entry = { pool: createPool({ ...this.defaults, origin: key }), lastBusy: now };
      this.pools.set(key, entry);
      this.startTimer();
    } else {
      entry.lastBusy = now;
    }
    return entry.pool;
  }

  /** Number of live pools. */
  get size(): number {
    return this.pools.size;
  }

  /** Closes every pool gracefully (see `Pool.close`). */
  async close(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    const pools = [...this.pools.values()].map((entry) => entry.pool);
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.close()));
  }

  /**
   * Destroys every pool now (see `Pool.destroy`); resolves (never rejects) when their sockets
   * have closed, including those of pools the idle timer was still closing.
   */
  async destroy(): Promise<void> {
    this.closed = true;
    this.stopTimer();
    const pools = [...this.pools.values()].map((entry) => entry.pool);
    this.pools.clear();
    pools.push(...this.retiring);
    this.retiring.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }

  private retire(pool: Pool): void {
    this.retiring.add(pool);
    void pool.close().then(() => this.retiring.delete(pool));
  }

  /** Closes the pool idle longest, or refuses `origin` when every pool is busy. */
  private makeRoom(origin: string): void {
    let oldest: [string, Entry] | undefined;
    for (const item of this.pools) {
      const stats = item[1].pool.stats;
      if (stats.inFlight > 0 || stats.queued > 0) continue;
      if (oldest === undefined || lastUse(item[1]) < lastUse(oldest[1])) oldest = item;
    }
    if (oldest === undefined) {
      throw new PushError(
        'unavailable',
        `${origin}: ${this.pools.size} other origins are busy and maxPools is ${this.maxPools}; ` +
          'retry later (raise maxPools if that many push services are honestly in use at once)',
        { reason: 'too-many-origins' },
      );
    }
    this.pools.delete(oldest[0]);
    this.retire(oldest[1].pool);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [origin, entry] of this.pools) {
      const stats = entry.pool.stats;
      if (stats.inFlight > 0 || stats.queued > 0) {
        entry.lastBusy = now;
        continue;
      }
      if (now - lastUse(entry) >= this.idleCloseMs) {
        this.pools.delete(origin);
        this.retire(entry.pool);
      }
    }
    if (this.pools.size === 0) this.stopTimer();
  }

  private startTimer(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.sweep(), Math.max(10, Math.floor(this.idleCloseMs / 4)));
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

function lastUse(entry: Entry): number {
  const lastRequest = (entry.pool as { lastRequestAt?: number }).lastRequestAt ?? 0;
  return Math.max(entry.lastBusy, lastRequest);
}

/**
 * Concurrency limits shared by every worker (issue #15, point 4): at most `limit` devices of
 * one app and provider in the hands of a provider at once, across all workers. Each device
 * holds a permit from when it is handed to its client until its final feedback.
 *
 * Permits are leases in a sorted set per app and provider (member: a permit id, score: when the
 * lease expires), taken and renewed by Lua on Redis's clock: a worker that dies holding permits
 * loses them when their leases expire (`LEASE_MS`), so a crash never shrinks the limit for good.
 * A worker takes permits a few at a time and keeps a released one briefly for its next device
 * (one round trip per batch, not per device); permits idle for `IDLE_MS` go back to Redis.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Platform } from '../device.js';
import { PROVIDER_OF, type ProviderName } from './rate-limit.js';

const LEASE_MS = 15_000;
const IDLE_MS = 50;
const BATCH = 8;

// KEYS: the lease set. ARGV: limit, lease ms, then the permit ids wanted. Returns how many it took
// (the first n ids).
const ACQUIRE = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
local n = math.min(free, #ARGV - 2)
for i = 1, n do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[i + 2]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
if n < 0 then return 0 end
return n
`;

// KEYS: the lease set. ARGV: lease ms, then permit ids. Renews the leases still held.
const RENEW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1
`;

export type ConcurrencyLimits = Record<string, Partial<Record<ProviderName, number | undefined>>>;

interface Commands {
  pushlineAcquire(key: string, ...args: (string | number)[]): Promise<number>;
  pushlineRenew(key: string, ...args: (string | number)[]): Promise<number>;
}

/** One app and provider's permits as this worker sees them. */
class Bucket {
  readonly idle: string[] = [];
  readonly held = new Set<string>();
  private returning: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis & Commands,
    readonly key: string,
    private readonly limit: number,
  ) {}

  async acquire(worker: string, next: () => number): Promise<string> {
    for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
      const idle = this.idle.pop();
      if (idle !== undefined) {
        this.held.add(idle);
        return idle;
      }
      const ids = Array.from({ length: BATCH }, () => `${worker}:${next()}`);
      const taken = await this.redis.pushlineAcquire(this.key, this.limit, LEASE_MS, ...ids);
      if (taken > 0) {
        this.idle.push(...ids.slice(1, taken));
        this.held.add(ids[0]!);
        return ids[0]!;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  release(permit: string): void {
    if (!this.held.delete(permit)) return;
    this.idle.push(permit);
    this.returning ??= setTimeout(() => {
      this.returning = undefined;
      const surplus = this.idle.splice(0);
      if (surplus.length > 0) this.redis.zrem(this.key, ...surplus).catch(() => undefined);
    }, IDLE_MS);
  }

  renew(): void {
    const all = [...this.held, ...this.idle];
    if (all.length > 0) this.redis.pushlineRenew(this.key, LEASE_MS, ...all).catch(() => undefined);
  }

  close(): void {
    clearTimeout(this.returning);
  }
}

export class SharedConcurrencyLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly worker = randomUUID();
  private counter = 0;
  private readonly renewing: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: ConcurrencyLimits,
  ) {
    const commands = redis as Redis & Partial<Commands>;
    if (commands.pushlineAcquire === undefined) {
      redis.defineCommand('pushlineAcquire', { numberOfKeys: 1, lua: ACQUIRE });
      redis.defineCommand('pushlineRenew', { numberOfKeys: 1, lua: RENEW });
    }
    this.renewing = setInterval(() => {
      for (const bucket of this.buckets.values()) bucket.renew();
    }, LEASE_MS / 3);
    this.renewing.unref();
  }

  /** A permit for one device of `app` on `platform`'s provider; undefined when unlimited. */
  async acquire(app: string, platform: Platform): Promise<{ bucket: string; id: string } | undefined> {
    const provider = PROVIDER_OF[platform];
    const limit = provider === undefined ? undefined : this.limits[app]?.[provider];
    if (limit === undefined) return undefined;
    const key = `${this.prefix}:concurrency:{${app}}:${provider}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new Bucket(this.redis as Redis & Commands, key, limit);
      this.buckets.set(key, bucket);
    }
    return { bucket: key, id: await bucket.acquire(this.worker, () => this.counter++) };
  }

  release(permit: { bucket: string; id: string } | undefined): void {
    if (permit !== undefined) this.buckets.get(permit.bucket)?.release(permit.id);
  }

  close(): void {
    clearInterval(this.renewing);
    for (const bucket of this.buckets.values()) bucket.close();
  }
}

/**
 * Rate limits shared by every worker (issue #15, point 4): one token bucket per app and
 * provider in Redis, refilled at `rate` tokens per second up to one second's worth, taken by a
 * Lua script on Redis's own clock (so workers' clocks do not matter). A worker takes tokens in
 * small batches (a tenth of a second's worth, at most 50) to spend one round trip per batch,
 * not per device; what a worker holds unspent is at most one batch, so the limit holds within
 * a batch per worker.
 */
import type { Redis } from 'ioredis';
import type { Platform } from '../device.js';

// KEYS: bucket. ARGV: rate (tokens/s), wanted. Returns { taken, wait ms }.
const TAKE = `
local rate = tonumber(ARGV[1])
local wanted = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(bucket[1]) or rate
local since = tonumber(bucket[2]) or now
tokens = math.min(rate, tokens + (now - since) * rate / 1000)
local taken = math.min(wanted, math.floor(tokens))
tokens = tokens - taken
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
if taken > 0 then return { taken, 0 } end
return { 0, math.ceil((1 - tokens) * 1000 / rate) }
`;

export type ProviderName = 'apns' | 'fcm' | 'webpush' | 'hms';

/** Which provider sends a platform's devices (the names used by the limits' config). */
export const PROVIDER_OF: Record<Platform, ProviderName> = {
  ios: 'apns',
  android: 'fcm',
  web: 'webpush',
  huawei: 'hms',
};

export type RateLimits = Record<
  string,
  Partial<Record<'apns' | 'fcm' | 'webpush' | 'hms', number | undefined>>
>;

export class SharedRateLimiter {
  private readonly held = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: RateLimits,
  ) {
    if (!(redis as Redis & { pushlineTake?: unknown }).pushlineTake) {
      redis.defineCommand('pushlineTake', { numberOfKeys: 1, lua: TAKE });
    }
  }

  /** Resolves when one push of `app` to `platform`'s provider may go (at once when unlimited). */
  async take(app: string, platform: Platform): Promise<void> {
    const provider = PROVIDER_OF[platform];
    const rate = provider === undefined ? undefined : this.limits[app]?.[provider];
    if (rate === undefined) return;
    const bucket = `${this.prefix}:rate:{${app}}:${provider}`;
    for (;;) {
      const held = this.held.get(bucket) ?? 0;
      if (held > 0) {
        this.held.set(bucket, held - 1);
        return;
      }
      const wanted = Math.max(1, Math.min(50, Math.floor(rate / 10)));
      const [taken, wait] = (await (
        this.redis as Redis & {
          pushlineTake(key: string, rate: number, wanted: number): Promise<[number, number]>;
        }
      ).pushlineTake(bucket, rate, wanted)) as [number, number];
      if (taken > 0) this.held.set(bucket, taken);
      else await new Promise((resolve) => setTimeout(resolve, Math.max(1, wait)));
    }
  }
}

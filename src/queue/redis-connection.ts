/**
 * Redis connections for the queue, and what "Redis is down" means to a caller. The
 * dispatcher's connection fails fast (no offline queue, one retry), so a request made while
 * Redis is away is answered at once with a `PushError('unavailable')` (the server's 503)
 * instead of hanging; a worker's connection retries forever (`maxRetriesPerRequest: null`, as
 * BullMQ requires), so workers pause while Redis is away and resume when it is back.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { PushError } from '../errors.js';

/** A URL with its password masked, for messages. */
export function maskRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the Redis URL';
  }
}

/** Opens a connection to `url`; `kind` picks fail-fast (API side) or retry-forever (workers). */
export function connectRedis(
  url: string,
  kind: 'fail-fast' | 'patient',
  onError: (error: Error) => void,
): Redis {
  const options: RedisOptions =
    kind === 'fail-fast'
      ? { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 3000 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  // Reconnect forever, at most every 2 s: Redis coming back must be noticed without a restart.
  options.retryStrategy = (times) => Math.min(100 * times, 2000);
  const redis = new Redis(url, options);
  // Without a listener ioredis prints every failed reconnection as an unhandled error.
  redis.on('error', onError);
  return redis;
}

/** Waits (up to `timeoutMs`) for a fail-fast connection to be ready; throws `unavailable` otherwise. */
export async function whenReady(redis: Redis, url: string, timeoutMs = 2000): Promise<void> {
  if (redis.status === 'ready') return;
  if (redis.status === 'end') throw new PushError('closed', 'the queue is closed');
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(unavailable(url));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/** The error every queue operation gives when Redis cannot be reached. */
export function unavailable(url: string, cause?: unknown): PushError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new PushError(
    'unavailable',
    `the queue's Redis at ${maskRedisUrl(url)} is unavailable${detail}; nothing was accepted, try again`,
    { cause },
  );
}

/**
 * Checks Redis's eviction policy: anything but `noeviction` lets Redis drop queue keys (jobs,
 * recorded outcomes) under memory pressure. Returns the warning to log, or undefined.
 */
export async function evictionWarning(redis: Redis): Promise<string | undefined> {
  try {
    const answer = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = answer[1];
    if (policy === undefined || policy === 'noeviction') return undefined;
    return `Redis maxmemory-policy is '${policy}': under memory pressure Redis may evict queued chunks and recorded outcomes (devices lost or sent twice). Set maxmemory-policy noeviction (see README, "Scaling out").`;
  } catch {
    // CONFIG may be disabled (managed Redis): nothing to check, nothing to say.
    return undefined;
  }
}

/**
 * The queue's options from the config's `redis` section, for both sides: `pushline serve
 * --redis` (a {@link BullMQDispatcher}, and workers of its own when it runs them) and
 * `pushline worker`. A URL given on the command line wins over `redis.url` /
 * `PUSHLINE_REDIS_URL`.
 */
import type { PushlineConfig } from '../config/index.js';
import type { BullMQDispatcherOptions } from './bullmq.js';
import type { WorkerOptions } from './worker.js';

export interface QueueOptions {
  dispatcher: BullMQDispatcherOptions;
  /** Everything but what the process itself provides: its clients, observers and databases. */
  worker: Omit<WorkerOptions, 'clients' | 'observers' | 'sources'>;
}

/** The queue's options, or undefined when no Redis URL is given anywhere. */
export function queueOptions(config: PushlineConfig, url?: string): QueueOptions | undefined {
  const redis = config.redis;
  const resolved = url ?? redis?.url?.reveal().toString();
  if (resolved === undefined || resolved === '') return undefined;
  const prefix = redis?.prefix ?? 'pushline';
  const retentionSeconds = redis?.retention ?? 604_800;
  const chunkSize = redis?.chunkSize ?? 1000;
  const worker: QueueOptions['worker'] = {
    redis: resolved,
    prefix,
    retentionSeconds,
    chunkSize,
    concurrency: redis?.concurrency ?? 2,
  };
  if (redis?.rateLimits) worker.rateLimits = redis.rateLimits;
  if (redis?.concurrencyLimits) worker.concurrencyLimits = redis.concurrencyLimits;
  return { dispatcher: { redis: resolved, prefix, retentionSeconds, chunkSize }, worker };
}

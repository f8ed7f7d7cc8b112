/**
 * `redis`: the BullMQ queue of `pushline serve --redis` and `pushline worker` (src/queue/).
 * The URL may carry a password, so it is a secret: inline (`url`), in a variable named by
 * `urlEnv`, or in `PUSHLINE_REDIS_URL`.
 */
import { integer, mapOf, secret, section, string } from './schema.js';

/** Pushes per second per provider of one app, shared by every worker (a token bucket in Redis). */
export const RATE_LIMIT_SECTION = section(
  {
    apns: integer({ help: 'APNs pushes per second, all workers together' }),
    fcm: integer({ help: 'FCM pushes per second, all workers together' }),
    webpush: integer({ help: 'Web Push pushes per second, all workers together' }),
    hms: integer({ help: 'HMS pushes per second, all workers together' }),
  },
  { help: "one app's rate limits" },
);

/** Devices in a provider's hands at once per provider of one app, shared by every worker. */
export const CONCURRENCY_LIMIT_SECTION = section(
  {
    apns: integer({ help: 'APNs devices in flight at once, all workers together' }),
    fcm: integer({ help: 'FCM devices in flight at once, all workers together' }),
    webpush: integer({ help: 'Web Push devices in flight at once, all workers together' }),
    hms: integer({ help: 'HMS devices in flight at once, all workers together' }),
  },
  { help: "one app's concurrency limits" },
);

export const REDIS_SECTION = section(
  {
    url: secret({
      help: "the queue's Redis, redis://[user:password@]host:port[/db] (rediss:// for TLS)",
      inline: 'url',
      fromEnv: 'urlEnv',
      env: 'PUSHLINE_REDIS_URL',
    }),
    prefix: string({
      help: 'prefix of every key the queue writes, so several installations can share one Redis',
      pattern: /^[A-Za-z0-9_.-]{1,64}$/,
      patternHelp: 'letters, digits, ., _ and -, up to 64',
      default: 'pushline',
    }),
    chunkSize: integer({ help: 'devices per chunk job', max: 10_000, default: 1000 }),
    concurrency: integer({ help: 'chunk jobs each worker runs at once', max: 64, default: 2 }),
    retention: integer({
      help: "how long a finished send's status and feedback stay in Redis",
      unit: 's',
      default: 604_800,
    }),
    rateLimits: mapOf(RATE_LIMIT_SECTION, {
      help: 'per app (by name; "default" for providers), pushes per second per provider across all workers',
    }),
    metricsPort: integer({
      help: 'pushline worker: serve Prometheus metrics on GET /metrics at this port (0: any free one; --metrics-port wins)',
      min: 0,
      max: 65_535,
    }),
    metricsHost: string({
      help: 'pushline worker: the address the metrics listen on (--metrics-host wins)',
      default: '127.0.0.1',
    }),
    concurrencyLimits: mapOf(CONCURRENCY_LIMIT_SECTION, {
      help: 'per app (by name; "default" for providers), devices in flight per provider across all workers',
    }),
  },
  { help: 'the Redis queue (pushline serve --redis, pushline worker)' },
);

/**
 * `pushline worker`'s engine: takes chunk jobs from the queue and sends them with the app's
 * `PushClient`, recording each device's outcome in Redis before the chunk is acknowledged.
 *
 * Crash safety (issue #15, point 3). Before a device is handed to its provider it is marked in
 * flight (`f` in the send's `out` hash, in batches of `markBatch`); its final feedback replaces
 * the mark with `d`, atomically with the counters and the feedback stream (`outcomes.ts`). A
 * chunk run again — BullMQ gives a dead worker's job to another once its lock expires — skips
 * every `d`, and re-sends the `f`s flagged: `maybeDuplicate` when sent, `maybeDelivered`
 * otherwise. So the only devices that can reach a provider twice are the ones a dead worker
 * had handed over without their outcome recorded: at most its in-flight limit
 * (`concurrency × (window + markBatch + RECORD_BATCH × MAX_RECORDING)`), and all flagged.
 *
 * Graceful shutdown (`close(graceMs)`): reading stops, devices already handed over finish and
 * are recorded, and the job is released (moved back to the queue) so another worker goes on
 * from the records; past `graceMs` what is still in flight is abandoned unrecorded (flagged on
 * the re-run), never recorded as aborted.
 */
import { DelayedError, type Job, Queue } from 'bullmq';
import type { PushClient } from '../client.js';
import type { Device } from '../device.js';
import type { Delivery } from '../engine/delivery.js';
import { PushError } from '../errors.js';
import type { Feedback } from '../feedback.js';
import { CHUNK_JOB_OPTIONS, type StoredSpec } from './bullmq.js';
import { ClosableWorker } from './bullmq-close.js';
import { QuietClosingConnection } from './bullmq-connection.js';
import type { ChunkJob, KeysChunk } from './chunks.js';
import { type ConcurrencyLimits, SharedConcurrencyLimiter } from './concurrency-limit.js';
import type { FeedbackObserver, SendSpec } from './dispatch.js';
import { type KeyRangePage, type KeyRangeReader, readKeyRange } from './key-ranges.js';
import {
  abandoned,
  finishChunk,
  markInFlight,
  markStarted,
  type Outcome,
  recordOutcomes,
  withOutcomeScripts,
} from './outcomes.js';
import { type RateLimits, SharedRateLimiter } from './rate-limit.js';
import { connectRedis } from './redis-connection.js';
import { CHUNK_QUEUE, chunkJobId, deviceField, type SendKeys, sendKeys } from './redis-keys.js';

export interface WorkerOptions {
  /** Redis URL of the queue. */
  redis: string;
  /** Key prefix; the same as the dispatcher's. Default `pushline`. */
  prefix?: string;
  /** The client that sends an app's devices; undefined: this worker does not serve that app. */
  clients: (app: string) => PushClient | undefined;
  /** See every final feedback recorded here (metrics, webhooks, dead-token sinks). */
  observers?: readonly FeedbackObserver[];
  /** Chunk jobs run at once. Default 2. */
  concurrency?: number;
  /** Devices marked in flight per Redis round trip. Default 100. */
  markBatch?: number;
  /** Reads `source` sends' key ranges: by the `databases.<name>` of the spec. */
  sources?: (database: string) => KeyRangeReader | undefined;
  /** Seconds a finished send's keys stay. Default 7 days (as the dispatcher). */
  retentionSeconds?: number;
  /** Devices per key range of a `source` send. Default 1000. */
  chunkSize?: number;
  /**
   * How long a job's lock lasts without renewal, ms: a dead worker's chunk is taken over
   * this long after it died (plus up to `stalledIntervalMs`). Default 30,000.
   */
  lockDurationMs?: number;
  /** How often stalled jobs are looked for, ms. Default 30,000. */
  stalledIntervalMs?: number;
  /** Pushes per second per app and provider, shared by every worker on this Redis (`redis.rateLimits`). */
  rateLimits?: RateLimits;
  /** Devices in a provider's hands at once per app and provider, across every worker (`redis.concurrencyLimits`). */
  concurrencyLimits?: ConcurrencyLimits;
  log?: (message: string) => void;
}

export interface PushlineWorker {
  /**
   * Finish in-flight requests (up to `graceMs`), record them, hand the rest back; then release
   * everything. Never hangs on Redis: 5 s past the grace period it leaves without it (the chunks
   * it held are taken over when their locks expire) and says so in the log.
   */
  close(graceMs?: number): Promise<void>;
  /** Chunks acknowledged by this worker. */
  readonly chunks: number;
  /** Devices this worker handed to their provider whose feedback is not in yet. */
  devicesInFlight(): number;
}

/** Outcomes recorded per Lua call. */
const RECORD_BATCH = 100;
/** Record calls in flight at once per chunk. */
const MAX_RECORDING = 4;
const ABORT_POLL_MS = 500;
const GATE_DELAY_MS = 250;
/** How long past the grace period a close waits for Redis before leaving without it. */
const CLOSE_MARGIN_MS = 5000;

/** One chunk being sent. */
interface Running {
  delivery?: Delivery;
  /** Hand back what is not done (shutdown): do not record `aborted` outcomes. */
  handingBack: boolean;
  /** Devices handed to the client whose feedback has not come back. */
  inFlight: number;
}

export function startWorker(options: WorkerOptions): PushlineWorker {
  const prefix = options.prefix ?? 'pushline';
  const retention = options.retentionSeconds ?? 7 * 86_400;
  const markBatch = options.markBatch ?? 100;
  const log = options.log ?? ((message: string) => process.stderr.write(`pushline worker: ${message}\n`));
  let lastError = 0;
  const onError = (error: Error) => {
    const now = Date.now();
    if (now - lastError < 10_000) return;
    lastError = now;
    log(`Redis: ${error.message} (paused; resuming when Redis is back)`);
  };
  const redis = withOutcomeScripts(connectRedis(options.redis, 'patient', onError));
  const bullConnection = connectRedis(options.redis, 'patient', onError);
  const limiter = options.rateLimits ? new SharedRateLimiter(redis, prefix, options.rateLimits) : undefined;
  const concurrencyLimiter = options.concurrencyLimits
    ? new SharedConcurrencyLimiter(redis, prefix, options.concurrencyLimits)
    : undefined;
  const running = new Set<Running>();
  const specs = new Map<string, SendSpec>();
  let closing = false;
  let chunks = 0;

  const specOf = (id: string, json: string): SendSpec => {
    let spec = specs.get(id);
    if (spec === undefined) {
      spec = JSON.parse(json) as SendSpec;
      if (specs.size > 100) specs.delete(specs.keys().next().value!);
      specs.set(id, spec);
    }
    return spec;
  };

  const release = async (job: Job, token: string | undefined, delayMs: number): Promise<never> => {
    await job.moveToDelayed(Date.now() + delayMs, token);
    throw new DelayedError();
  };

  const processChunk = async (job: Job<ChunkJob>, token: string | undefined): Promise<void> => {
    if (closing) return release(job, token, 0);
    const data = job.data;
    const keys = sendKeys(prefix, data.send);
    const meta = await redis.hgetall(keys.meta);
    if (meta.spec === undefined) return; // expired or never created: nothing to do
    const spec = specOf(data.send, meta.spec);
    const stopped = meta.abortRequested === '1' || abandoned(meta);
    if (data.kind === 'devices' && data.gated && meta.inputDone !== '1' && !stopped) {
      return release(job, token, GATE_DELAY_MS);
    }
    await markStarted(redis, keys);
    const devices =
      data.kind === 'devices'
        ? data.devices
        : await keyRange(job, data, spec as unknown as StoredSpec, keys, stopped);
    const states =
      devices.length > 0
        ? await redis.hmget(keys.out, ...devices.map((_, i) => deviceField(data.chunk, i)))
        : [];
    const todo: number[] = [];
    const wasInFlight = new Set<number>();
    states.forEach((state, i) => {
      if (state === 'd') return;
      todo.push(i);
      if (state === 'f') wasInFlight.add(i);
    });

    const recorder = new Recorder(redis, keys, spec, options.observers ?? []);
    const flag = (index: number, feedback: Feedback): Feedback => {
      if (!wasInFlight.has(index)) return feedback;
      return feedback.status === 'sent'
        ? { ...feedback, maybeDuplicate: true }
        : { ...feedback, maybeDelivered: true };
    };

    if (stopped || todo.length === 0) {
      const reason = meta.abortReason ?? 'the send was aborted';
      for (const i of todo) {
        const error = new PushError('aborted', reason, { maybeDelivered: wasInFlight.has(i) });
        await recorder.add(
          data.chunk,
          i,
          flag(i, { device: devices[i]!, status: 'failed', attempts: 0, error }),
        );
      }
      await recorder.drain();
      await finishChunk(redis, keys, data.chunk, retention);
      chunks++;
      return;
    }

    const client = options.clients(spec.app);
    if (client === undefined) {
      const error = new PushError('config', `this worker serves no app named '${spec.app}'`);
      for (const i of todo) {
        await recorder.add(data.chunk, i, { device: devices[i]!, status: 'failed', attempts: 0, error });
      }
      await recorder.drain();
      await finishChunk(redis, keys, data.chunk, retention);
      chunks++;
      return;
    }

    const run: Running = { handingBack: false, inFlight: 0 };
    const lockKey = `${prefix}:${CHUNK_QUEUE}:${job.id}:lock`;
    let lostLock = false;
    const indexOf = new Map<Device, number>();
    const permits = new Map<number, { bucket: string; id: string }>();
    async function* source(): AsyncGenerator<Device> {
      for (let start = 0; start < todo.length; start += markBatch) {
        if (run.handingBack) return;
        const batch = todo.slice(start, start + markBatch);
        // Marked before they are handed over: a re-run after a crash knows which to flag.
        const fields = batch.map((i) => deviceField(data.chunk, i));
        if (!(await markInFlight(redis, lockKey, token ?? '', keys, fields))) {
          lostLock = true;
          run.handingBack = true;
          return;
        }
        for (const i of batch) {
          if (run.handingBack) return;
          const device = devices[i]!;
          await limiter?.take(spec.app, device.platform);
          const permit = await concurrencyLimiter?.acquire(spec.app, device.platform);
          if (permit !== undefined) permits.set(i, permit);
          indexOf.set(device, i);
          run.inFlight++;
          yield device;
        }
      }
    }
    const delivery = client.send(spec.notification, source(), {
      ...(spec.dryRun ? { dryRun: true } : {}),
      ...(spec.delivery ? { delivery: spec.delivery } : {}),
    });
    run.delivery = delivery;
    running.add(run);
    let abortedBySend = false;
    const poll = setInterval(() => {
      redis.hget(keys.meta, 'abortRequested').then(
        (flagged) => {
          if (flagged === '1' && !abortedBySend) {
            abortedBySend = true;
            delivery.abort('the send was aborted');
          }
        },
        () => undefined,
      );
    }, ABORT_POLL_MS);
    let failure: unknown;
    try {
      for await (const feedback of delivery) {
        const i = indexOf.get(feedback.device);
        if (i === undefined) continue;
        run.inFlight--;
        concurrencyLimiter?.release(permits.get(i));
        permits.delete(i);
        // Our own shutdown cut it short: unrecorded, so the next run sends it again (flagged).
        if (feedback.error?.code === 'aborted' && run.handingBack && !abortedBySend) continue;
        if (failure !== undefined) continue;
        try {
          await recorder.add(data.chunk, i, flag(i, feedback));
        } catch (error) {
          failure = error;
          run.handingBack = true;
          delivery.abort('Redis failed while recording outcomes');
        }
      }
      await delivery.done.catch((error) => {
        failure ??= error;
      });
      await recorder.drain().catch((error) => {
        failure ??= error;
      });
    } finally {
      clearInterval(poll);
      running.delete(run);
    }
    if (failure !== undefined) throw failure;
    // Another worker holds this chunk now (it took it over): it goes on from the records.
    if (lostLock)
      throw new PushError('unavailable', `lost the lock of chunk ${job.id}: another worker took it over`);
    if (run.handingBack) {
      // Everything handed over is recorded; the rest goes back to the queue for another worker.
      return release(job, token, 0);
    }
    await finishChunk(redis, keys, data.chunk, retention);
    chunks++;
  };

  /** The devices of a key range: as first read (kept in `pages`), or read now and the next range enqueued. */
  const keyRange = async (
    job: Job<ChunkJob>,
    data: KeysChunk,
    spec: StoredSpec,
    keys: SendKeys,
    stopped: boolean,
  ): Promise<Device[]> => {
    const field = String(data.chunk);
    const kept = await redis.hget(keys.pages, field);
    let page: KeyRangePage;
    if (kept !== null) page = JSON.parse(kept) as KeyRangePage;
    else {
      if (stopped) {
        await redis.hset(keys.meta, 'inputDone', 1, 'chunks', data.chunk + 1);
        return [];
      }
      if (spec.devices.kind !== 'source') {
        throw new PushError('internal', `send ${data.send} is not a source send`);
      }
      const reader = options.sources?.(spec.devices.database);
      if (reader === undefined) {
        await failSend(keys, data.chunk, `no worker has a database named '${spec.devices.database}'`);
        return [];
      }
      let read: KeyRangePage;
      try {
        read = await readKeyRange(reader, spec.devices, data.after, options.chunkSize ?? 1000);
      } catch (error) {
        // A database that keeps refusing the query (a syntax error, a missing column) fails the send;
        // a passing outage is retried by BullMQ first.
        if (job.attemptsMade < 2) throw error;
        await failSend(keys, data.chunk, `the source query failed: ${(error as Error).message}`);
        return [];
      }
      if ((await redis.hsetnx(keys.pages, field, JSON.stringify(read))) === 1) {
        await redis.hincrby(keys.meta, 'accepted', read.devices.length);
      }
      page = JSON.parse((await redis.hget(keys.pages, field))!) as KeyRangePage;
    }
    // The next range, idempotently: a re-run after a crash between these steps redoes them (the job
    // id makes a second add of a waiting job a no-op; a chunk run twice skips its recorded devices).
    if (page.last !== undefined) {
      if (Number(await redis.hget(keys.meta, 'chunks')) < data.chunk + 2) {
        const next: KeysChunk = { kind: 'keys', send: data.send, chunk: data.chunk + 1, after: page.last };
        await queue().add('chunk', next, { jobId: chunkJobId(data.send, data.chunk + 1) });
        await redis.hset(keys.meta, 'chunks', data.chunk + 2);
      }
    } else {
      await redis.hset(keys.meta, 'chunks', data.chunk + 1, 'inputDone', 1);
    }
    return page.devices;
  };

  /** Ends a source send's chain with an error: its state becomes `failed` once its chunks are done. */
  const failSend = async (keys: SendKeys, chunk: number, message: string): Promise<void> => {
    log(message);
    await redis.hset(keys.meta, {
      failError: JSON.stringify({ code: 'config', message }),
      abortRequested: 1,
      abortReason: message,
      inputDone: 1,
      chunks: chunk + 1,
    });
  };

  let chunkQueue: Queue | undefined;
  const queue = () => {
    if (chunkQueue === undefined) {
      chunkQueue = new Queue(
        CHUNK_QUEUE,
        { connection: redis, prefix, defaultJobOptions: CHUNK_JOB_OPTIONS },
        QuietClosingConnection,
      );
      // A Queue with no 'error' listener turns a Redis hiccup into an uncaught exception.
      chunkQueue.on('error', onError);
    }
    return chunkQueue;
  };

  const worker = new ClosableWorker<ChunkJob>(CHUNK_QUEUE, processChunk, {
    connection: bullConnection,
    prefix,
    concurrency: options.concurrency ?? 2,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    // A chunk taken over after a crash is safe to run again (recorded outcomes): never give up on it.
    maxStalledCount: 1000,
  });
  worker.on('error', onError);
  worker.on('failed', (job, error) => {
    if (job && error.name !== 'DelayedError') log(`chunk ${job.id} failed (will retry): ${error.message}`);
  });

  let closingPromise: Promise<void> | undefined;
  return {
    get chunks() {
      return chunks;
    },
    devicesInFlight() {
      let total = 0;
      for (const run of running) total += Math.max(0, run.inFlight);
      return total;
    },
    close(graceMs = 30_000) {
      closingPromise ??= (async () => {
        closing = true;
        for (const run of running) {
          run.handingBack = true;
          run.delivery?.stop();
        }
        const timer = setTimeout(() => {
          for (const run of running) run.delivery?.abort('the worker is shutting down');
        }, graceMs);
        const deadline = Date.now() + graceMs + CLOSE_MARGIN_MS;
        const clean = await worker.closeBy(deadline).finally(() => clearTimeout(timer));
        if (!clean) {
          log(
            `Redis did not answer within ${graceMs + CLOSE_MARGIN_MS} ms of the stop: leaving without it; the chunks this worker held go to another worker when their locks expire, recorded devices skipped`,
          );
        }
        concurrencyLimiter?.close();
        for (const observer of options.observers ?? []) await observer.flush?.();
        await chunkQueue?.close();
        redis.disconnect();
        bullConnection.disconnect();
      })();
      return closingPromise;
    },
  };
}

/**
 * Records a chunk's outcomes in batches of {@link RECORD_BATCH} (one Lua call each), at most
 * {@link MAX_RECORDING} calls at once; then shows the newly recorded ones to the observers.
 */
class Recorder {
  private batch: Outcome[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;

  constructor(
    private readonly redis: Parameters<typeof recordOutcomes>[0],
    private readonly keys: SendKeys,
    private readonly spec: SendSpec,
    private readonly observers: readonly FeedbackObserver[],
  ) {}

  async add(chunk: number, index: number, feedback: Feedback): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.batch.push({ chunk, index, feedback });
    if (this.batch.length >= RECORD_BATCH) await this.flush();
    // A slow trickle is recorded within 20 ms, not when the batch fills: a crash loses less.
    else this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), 20);
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    while (this.inFlight.size >= MAX_RECORDING) await Promise.race(this.inFlight);
    const recording = (async () => {
      const recorded = await recordOutcomes(this.redis, this.keys, batch);
      for (let i = 0; i < batch.length; i++) {
        if (recorded[i] !== 1) continue;
        for (const observer of this.observers) await observer.observe(this.spec, batch[i]!.feedback);
      }
    })().catch((error) => {
      this.failure ??= error;
    });
    const tracked = recording.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  /** Records what is left; throws the first recording failure. */
  async drain(): Promise<void> {
    await this.flush();
    await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }
}

/**
 * The Redis implementation of {@link Dispatcher}: a send becomes chunk jobs on a BullMQ queue
 * (`chunks.ts`), processed by `pushline worker` processes anywhere (`worker.ts`); state,
 * counts and feedback are recorded in Redis by the workers (`outcomes.ts`), so any process
 * holding a `BullMQDispatcher` on the same Redis answers for any send.
 *
 * Accepting a send:
 * - inline devices: every chunk job is enqueued, then the send is marked complete
 *   (`inputDone`); workers do not send a chunk of an incomplete inline send (`gated`), so a
 *   submission that fails midway sends nothing;
 * - streamed devices: chunks are enqueued as the stream is read (each `add` awaited: the
 *   stream is read only as fast as Redis takes it) and workers start on them at once, so a
 *   stream of millions never sits whole in Redis nor in memory. A stream that fails midway
 *   (Redis lost, the body cut) marks the send failed and its unsent chunks aborted; chunks
 *   sent before that stay sent, and the error says so;
 * - a `source` query: one job for the first key range; each worker that reads a range
 *   enqueues the next (see `KeysChunk`), so no process reads every row and several workers
 *   send different ranges at once.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PushError } from '../errors.js';
import { QuietClosingConnection } from './bullmq-connection.js';
import { type ChunkJob, chunksOf } from './chunks.js';
import type {
  Dispatcher,
  FeedbackQuery,
  FeedbackRecord,
  SendSpec,
  SendState,
  SendStatus,
} from './dispatch.js';
import { ABANDONED_AFTER_MS, abandoned, finishChunk, statusFrom, withOutcomeScripts } from './outcomes.js';
import { connectRedis, evictionWarning, unavailable, whenReady } from './redis-connection.js';
import { CHUNK_QUEUE, chunkJobId, sendKeys } from './redis-keys.js';

export interface BullMQDispatcherOptions {
  /** Redis URL: `redis://[user:password@]host:port[/db]`, `rediss://` for TLS. */
  redis: string;
  /** Prefix of every key (BullMQ's and pushline's). Default `pushline`. */
  prefix?: string;
  /** Devices per chunk job. Default 1000. */
  chunkSize?: number;
  /** Seconds a finished send's status and feedback stay in Redis. Default 7 days. */
  retentionSeconds?: number;
  /** The apps workers serve; a send naming another is refused (`config`). Default: any. */
  apps?: readonly string[];
  /** How long an `Idempotency-Key` is remembered, seconds. Default 24 h. */
  idempotencySeconds?: number;
  /** Where warnings go (Redis unreachable, eviction policy). Default: stderr. */
  log?: (message: string) => void;
}

/** Options every chunk job gets: re-runs are safe (recorded outcomes), so retry patiently. */
export const CHUNK_JOB_OPTIONS = {
  attempts: 50,
  backoff: { type: 'fixed', delay: 2000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 86_400 },
} as const;

const TERMINAL: ReadonlySet<SendState> = new Set(['done', 'aborted', 'failed']);
const POLL_MS = 150;
const PAGE = 1000;

// KEYS: meta. ARGV: spec JSON, now (ms). Creates a send; 0 when the id is taken.
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'spec', ARGV[1], 'state', 'queued', 'accepted', 0, 'chunks', 0, 'inputAt', ARGV[2])
return 1
`;

// KEYS: meta. ARGV: reason. Asks workers to abort; 0 for an unknown or finished send.
const ABORT = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'done' or state == 'aborted' or state == 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'abortRequested', 1, 'abortReason', ARGV[1])
return 1
`;

// KEYS: an idempotency key. ARGV: the send id that claimed it. Frees it if still that send's.
const RELEASE_KEY = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

// KEYS: the meta hash of every watched send. One call per tick of the settle poller, whatever the
// number of sends watched: per send, false when unknown, else { state, inputDone, inputAt }.
const WATCH = `
local out = {}
for i, key in ipairs(KEYS) do
  local fields = redis.call('HMGET', key, 'spec', 'state', 'inputDone', 'inputAt')
  if fields[1] then out[i] = { fields[2] or '', fields[3] or '', fields[4] or '' } else out[i] = false end
end
return out
`;
/** The settle poller's tick starts at POLL_MS and doubles while nothing settles, up to this. */
const MAX_POLL_MS = 1000;
/** Sends checked per WATCH call (a Lua call holds Redis for its whole run). */
const WATCH_BATCH = 500;
/** How long a queue depth read is reused: a scrape storm costs one `getJobCounts`. */
const DEPTH_CACHE_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A `settled()` waiting for its send. */
interface Watcher {
  resolve(status: SendStatus): void;
  reject(error: unknown): void;
}

/** What a send's `meta.spec` holds: the spec without its devices. */
export type StoredSpec = Omit<SendSpec, 'devices'> & {
  devices:
    | { kind: 'inline' | 'stream' }
    | { kind: 'source'; database: string; query: string; keyColumn: string };
};

export class BullMQDispatcher implements Dispatcher {
  private readonly redis: Redis;
  private readonly queue: Queue;
  private readonly url: string;
  private readonly prefix: string;
  private readonly chunkSize: number;
  private readonly retention: number;
  private readonly log: (message: string) => void;
  private closed = false;
  private lastError = 0;
  /** `settled()` calls waiting, by send: one poller checks them all (see `pollSettled`). */
  private readonly watched = new Map<string, Watcher[]>();
  private pollTimer: NodeJS.Timeout | undefined;
  private pollDelay = POLL_MS;
  private depth: { at: number; value: Promise<number> } | undefined;

  constructor(private readonly options: BullMQDispatcherOptions) {
    if (typeof options?.redis !== 'string' || options.redis === '') {
      throw new PushError('config', 'BullMQDispatcher: a Redis URL is required (redis://host:port)');
    }
    this.url = options.redis;
    this.prefix = options.prefix ?? 'pushline';
    this.chunkSize = options.chunkSize ?? 1000;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1 || this.chunkSize > 100_000) {
      throw new PushError(
        'config',
        `chunkSize must be a whole number from 1 to 100000, got ${this.chunkSize}`,
      );
    }
    this.retention = options.retentionSeconds ?? 7 * 86_400;
    this.log = options.log ?? ((message) => process.stderr.write(`pushline: ${message}\n`));
    this.redis = connectRedis(this.url, 'fail-fast', (error) => this.onRedisError(error));
    this.queue = new Queue(
      CHUNK_QUEUE,
      { connection: this.redis, prefix: this.prefix, defaultJobOptions: CHUNK_JOB_OPTIONS },
      QuietClosingConnection,
    );
    this.queue.on('error', (error) => this.onRedisError(error));
  }

  /** Logs Redis trouble at most every 10 s (a reconnect loop fails every 2 s). */
  private onRedisError(error: Error): void {
    const now = Date.now();
    if (now - this.lastError < 10_000) return;
    this.lastError = now;
    this.log(`Redis: ${error.message} (retrying; sends are refused with 503 meanwhile)`);
  }

  /** Whether Redis answers now (for `/healthz` and the server's 503). */
  async healthy(): Promise<boolean> {
    try {
      await whenReady(this.redis, this.url, 1000);
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * Start-up checks: Redis reachable, and its eviction policy (warns unless `noeviction`).
   * Returns the warnings it logged.
   */
  async check(): Promise<string[]> {
    const warnings: string[] = [];
    try {
      await whenReady(this.redis, this.url, 5000);
      const warning = await evictionWarning(this.redis);
      if (warning) warnings.push(warning);
    } catch (error) {
      warnings.push((error as Error).message);
    }
    for (const warning of warnings) this.log(warning);
    return warnings;
  }

  /** Runs a Redis operation; a connection failure becomes `PushError('unavailable')`. */
  private async call<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new PushError('closed', 'the queue is closed (the server is shutting down)');
    try {
      await whenReady(this.redis, this.url);
      return await operation();
    } catch (error) {
      if (error instanceof PushError) throw error;
      throw unavailable(this.url, error);
    }
  }

  /**
   * With `spec.idempotencyKey` already seen (for the same `submittedBy`, within
   * `idempotencySeconds`) by any dispatcher on this Redis, resolves with the first send's status
   * and sends nothing (a duplicate's devices are not read). A submission that fails frees its key.
   */
  async submit(spec: SendSpec & { idempotencyKey?: string }): Promise<SendStatus> {
    if (this.options.apps && !this.options.apps.includes(spec.app)) {
      throw new PushError('config', `no app named '${spec.app}' is configured`);
    }
    if (typeof spec.idempotencyKey !== 'string') return this.accept(spec);
    const digest = createHash('sha256')
      .update(`${spec.submittedBy ?? ''}\n${spec.idempotencyKey}`)
      .digest('hex');
    const key = `${this.prefix}:idempotency:${digest}`;
    const ttl = this.options.idempotencySeconds ?? 86_400;
    const claimed = await this.call(() => this.redis.set(key, spec.id, 'EX', ttl, 'NX'));
    if (claimed === null) {
      const first = await this.call(() => this.redis.get(key));
      const status = first === null ? undefined : await this.status(first);
      if (status !== undefined) return status;
      throw new PushError('bad-request', 'this Idempotency-Key was used by a send that is no longer known');
    }
    try {
      return await this.accept(spec);
    } catch (error) {
      // Nothing was accepted: the key is free for a retry.
      await this.redis.eval(RELEASE_KEY, 1, key, spec.id).catch(() => undefined);
      throw error;
    }
  }

  private async accept(spec: SendSpec): Promise<SendStatus> {
    const keys = sendKeys(this.prefix, spec.id);
    const { devices, ...rest } = spec;
    const stored: StoredSpec = {
      ...rest,
      devices:
        devices.kind === 'source'
          ? {
              kind: 'source',
              database: devices.database,
              query: devices.query,
              keyColumn: devices.keyColumn ?? 'id',
            }
          : { kind: devices.kind },
    };
    const created = await this.call(() =>
      this.redis.eval(CREATE, 1, keys.meta, JSON.stringify(stored), Date.now()),
    );
    if (created !== 1) throw new PushError('bad-request', `a send with id '${spec.id}' already exists`);

    let chunks = 0;
    let accepted = 0;
    // While this process is still enqueueing (a slow upload may take minutes between chunks), it
    // says so: a send whose `inputAt` goes stale is taken as abandoned (see `abandoned`).
    const heartbeat = setInterval(() => {
      this.redis.hset(keys.meta, 'inputAt', Date.now()).catch(() => undefined);
    }, ABANDONED_AFTER_MS / 6);
    try {
      if (devices.kind === 'inline') {
        const jobs: { name: string; data: ChunkJob; opts: { jobId: string } }[] = [];
        for await (const part of chunksOf(devices.devices, this.chunkSize)) {
          const data: ChunkJob = {
            kind: 'devices',
            send: spec.id,
            chunk: chunks,
            devices: part,
            gated: true,
          };
          jobs.push({ name: 'chunk', data, opts: { jobId: chunkJobId(spec.id, chunks) } });
          chunks++;
          accepted += part.length;
        }
        // addBulk is one MULTI: all the chunk jobs or none.
        if (jobs.length > 0) await this.call(() => this.queue.addBulk(jobs));
      } else if (devices.kind === 'stream') {
        for await (const part of chunksOf(devices.devices, this.chunkSize)) {
          const data: ChunkJob = { kind: 'devices', send: spec.id, chunk: chunks, devices: part };
          await this.call(() => this.queue.add('chunk', data, { jobId: chunkJobId(spec.id, chunks) }));
          chunks++;
          accepted += part.length;
          await this.call(() =>
            this.redis.hset(keys.meta, 'chunks', chunks, 'accepted', accepted, 'inputAt', Date.now()),
          );
        }
      } else {
        // A source send: the first key range; the workers chain the rest and complete the input.
        const data: ChunkJob = { kind: 'keys', send: spec.id, chunk: 0, after: null };
        await this.call(() => this.queue.add('chunk', data, { jobId: chunkJobId(spec.id, 0) }));
        // The chain of key ranges is in the queue now, durably: never "abandoned" while it waits.
        await this.call(() =>
          this.redis.multi().hset(keys.meta, 'chunks', 1).hdel(keys.meta, 'inputAt').exec(),
        );
        return (await this.status(spec.id))!;
      }
      await this.call(() =>
        this.redis.hset(
          keys.meta,
          'chunks',
          chunks,
          'accepted',
          accepted,
          'inputDone',
          1,
          'inputAt',
          Date.now(),
        ),
      );
      // All chunks may be done already (or there were none): finish the send here then.
      await this.call(() => finishChunk(withOutcomeScripts(this.redis), keys, undefined, this.retention));
    } catch (error) {
      throw await this.failSubmission(spec, chunks, accepted, error);
    } finally {
      clearInterval(heartbeat);
    }
    return (await this.status(spec.id))!;
  }

  /**
   * A submission that failed midway: marks the send failed and its unsent chunks aborted (when
   * Redis still answers; otherwise workers and `status` see it abandoned after a minute).
   */
  private async failSubmission(
    spec: SendSpec,
    chunks: number,
    accepted: number,
    error: unknown,
  ): Promise<PushError> {
    // Our Redis calls throw PushErrors (`call`); anything else came from the devices' stream itself
    // (the request body cut short, a malformed upload): the client's problem, not Redis's.
    const cause =
      error instanceof PushError
        ? error
        : new PushError(
            'bad-request',
            `reading the devices failed: ${(error as Error)?.message ?? String(error)}`,
          );
    const sentMaybe =
      spec.devices.kind === 'stream' && chunks > 0
        ? ` ${accepted} devices were enqueued before it failed and may have been sent; the rest are aborted.`
        : ' Nothing was sent.';
    const message = `send ${spec.id} could not be fully accepted: ${cause.message}.${sentMaybe}`;
    const keys = sendKeys(this.prefix, spec.id);
    try {
      await this.redis.hset(keys.meta, {
        failError: JSON.stringify({ code: cause.code, message }),
        abortRequested: 1,
        abortReason: 'the submission failed',
        inputDone: 1,
        chunks,
        accepted,
      });
      await finishChunk(withOutcomeScripts(this.redis), keys, undefined, this.retention);
    } catch {
      // Redis is gone: the send is seen as abandoned once `inputAt` is a minute old.
    }
    return new PushError(cause.code, message, { cause: error });
  }

  async status(id: string): Promise<SendStatus | undefined> {
    const keys = sendKeys(this.prefix, id);
    const [meta = {}, counts = {}] = await this.call(async () => {
      const answers = await this.redis.multi().hgetall(keys.meta).hgetall(keys.counts).exec();
      if (answers === null) throw new Error('the transaction was discarded');
      for (const [error] of answers) if (error) throw error;
      return answers.map(([, value]) => value as Record<string, string>);
    });
    return statusFrom(id, meta, counts);
  }

  /**
   * Resolves with the send's status once it is final. Every `settled()` of this dispatcher is
   * watched by one poller: a tick is one Redis call for all of them (a Lua script reading each
   * send's state), whatever their number; only a send found final is read in full. The tick
   * starts at 150 ms and slows down to 1 s while nothing settles.
   */
  async settled(id: string): Promise<SendStatus> {
    const status = await this.status(id);
    if (status === undefined) throw unknownSend(id);
    if (TERMINAL.has(status.state)) return status;
    return new Promise<SendStatus>((resolve, reject) => {
      const watchers = this.watched.get(id);
      if (watchers) watchers.push({ resolve, reject });
      else this.watched.set(id, [{ resolve, reject }]);
      this.pollDelay = POLL_MS;
      this.schedulePoll();
    });
  }

  private schedulePoll(): void {
    if (this.pollTimer !== undefined || this.watched.size === 0 || this.closed) return;
    this.pollTimer = setTimeout(() => {
      this.pollSettled().then(
        (settledAny) => {
          this.pollTimer = undefined;
          this.pollDelay = settledAny ? POLL_MS : Math.min(this.pollDelay * 2, MAX_POLL_MS);
          this.schedulePoll();
        },
        (error: unknown) => {
          // Redis unavailable: every waiting `settled()` rejects with it, as each one's own
          // `status()` would have; a new call starts watching again.
          this.pollTimer = undefined;
          const watchers = [...this.watched.values()].flat();
          this.watched.clear();
          for (const watcher of watchers) watcher.reject(error);
        },
      );
    }, this.pollDelay);
  }

  /** One tick: the state of every watched send, then the full status of those final. */
  private async pollSettled(): Promise<boolean> {
    const ids = [...this.watched.keys()];
    const final: string[] = [];
    for (let start = 0; start < ids.length; start += WATCH_BATCH) {
      const batch = ids.slice(start, start + WATCH_BATCH);
      const keys = batch.map((id) => sendKeys(this.prefix, id).meta);
      const states = (await this.call(() => this.redis.eval(WATCH, keys.length, ...keys))) as Array<
        [string, string, string] | null
      >;
      for (const [i, id] of batch.entries()) {
        const found = states[i];
        if (!found) {
          final.push(id);
          continue;
        }
        const [state, inputDone, inputAt] = found;
        const meta: Record<string, string> = { inputDone };
        if (inputAt !== '') meta.inputAt = inputAt;
        if (TERMINAL.has(state as SendState) || abandoned(meta)) final.push(id);
      }
    }
    let settledAny = false;
    for (const id of final) {
      let outcome: { status?: SendStatus; error?: unknown };
      try {
        const status = await this.status(id);
        if (status !== undefined && !TERMINAL.has(status.state)) continue;
        outcome = status === undefined ? { error: unknownSend(id) } : { status };
      } catch (error) {
        outcome = { error };
      }
      const watchers = this.watched.get(id) ?? [];
      this.watched.delete(id);
      settledAny = true;
      for (const watcher of watchers) {
        if (outcome.status) watcher.resolve(outcome.status);
        else watcher.reject(outcome.error);
      }
    }
    return settledAny;
  }

  /**
   * Chunk jobs in the queue, waiting (incl. delayed and prioritized) or running, across every
   * worker: the queue's depth in Redis mode. A read is reused for a second, so scrapes from many
   * places cost one Redis call.
   */
  queueDepth(): Promise<number> {
    const now = Date.now();
    if (this.depth === undefined || now - this.depth.at >= DEPTH_CACHE_MS) {
      const value = this.call(() =>
        this.queue.getJobCounts('waiting', 'delayed', 'prioritized', 'paused', 'active'),
      ).then((counts) => Object.values(counts).reduce((sum, count) => sum + count, 0));
      // A failed read is not kept: the next scrape tries again.
      value.catch(() => {
        if (this.depth?.value === value) this.depth = undefined;
      });
      this.depth = { at: now, value };
    }
    return this.depth.value;
  }

  async *feedback(id: string, query: FeedbackQuery = {}): AsyncIterable<FeedbackRecord> {
    const keys = sendKeys(this.prefix, id);
    if ((await this.status(id)) === undefined) throw unknownSend(id);
    const follow = query.follow ?? true;
    const wanted = query.status ? new Set(query.status) : undefined;
    let after = '-';
    for (;;) {
      const start = after === '-' ? '-' : `(${after}`;
      const entries = await this.call(() => this.redis.xrange(keys.feedback, start, '+', 'COUNT', PAGE));
      for (const [entryId, fields] of entries) {
        after = entryId;
        if (fields[0] === 'end') return;
        const record = JSON.parse(fields[1]!) as FeedbackRecord;
        if (wanted === undefined || wanted.has(record.status)) yield record;
      }
      if (entries.length === PAGE) continue;
      if (!follow) return;
      // No `end` entry yet: the send is running, or ended without one (expired, abandoned).
      const status = await this.status(id);
      if (status === undefined || status.state === 'failed') {
        const more = await this.call(() => this.redis.xlen(keys.feedback));
        if (status === undefined || more === 0) return;
      }
      await sleep(POLL_MS);
    }
  }

  async abort(id: string, reason = 'aborted by request'): Promise<boolean> {
    const keys = sendKeys(this.prefix, id);
    return (await this.call(() => this.redis.eval(ABORT, 1, keys.meta, reason))) === 1;
  }

  /**
   * Stops taking sends and releases the connections. Chunks are in Redis and processed by the
   * workers whatever happens here, so there is nothing to wait for (`graceMs` is for the
   * in-process dispatcher; workers started with `startWorker` are closed on their own).
   */
  async close(_graceMs = 0): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    const closed = new PushError('closed', 'the queue is closed (the server is shutting down)');
    for (const watchers of this.watched.values()) for (const watcher of watchers) watcher.reject(closed);
    this.watched.clear();
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
  }
}

function unknownSend(id: string): PushError {
  return new PushError('bad-request', `no send '${id}' (unknown, or forgotten after its retention time)`);
}

/** Builds a dispatcher and runs its start-up checks (warnings are logged, never thrown). */
export async function bullmqDispatcher(options: BullMQDispatcherOptions): Promise<BullMQDispatcher> {
  const dispatcher = new BullMQDispatcher(options);
  await dispatcher.check();
  return dispatcher;
}

/** A fresh send id (what the server assigns). */
export const newSendId = (): string => randomUUID();

/**
 * A feedback sink that POSTs feedback to an HTTP endpoint the operator runs: what gorush's
 * `feedback_hook_url` should have been (one POST per failure, no retry, lost when the receiver
 * hiccups — gorush #813, #449). Here:
 *
 * - records are batched: a POST carries up to `batchSize` records, or whatever arrived within
 *   `batchDelayMs` of the first one, as one JSON array;
 * - each POST is signed (HMAC-SHA256 over `timestamp + "." + body`, see `webhook-signature.ts`)
 *   and carries a batch id that stays the same on retries, so the receiver can dedupe;
 * - any non-2xx answer, network error or timeout is retried with exponential backoff and
 *   jitter, up to a number of tries and a total time per batch; a batch given up is reported
 *   through `onError` (and counted), never thrown into the send that produced it;
 * - memory is bounded: at most `maxPending` records are held (buffered, queued or being
 *   delivered); past that, `write` / `observe` wait, so a slow receiver slows the send rather
 *   than piling feedback up;
 * - only the statuses asked for are sent (default `invalid-token` and `failed`).
 *
 * Delivery is at least once per batch (a POST whose answer was lost is sent again, with the
 * same `pushline-webhook-id`); batches may arrive out of order when `concurrency` > 1.
 * Redirects are not followed (a 3xx is a failed attempt): the URL is the operator's trusted
 * configuration, and a redirect is a mistake to fix there, not a hop to take with signed data.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Feedback, FeedbackStatus } from '../feedback.js';
import { cleartextProblem } from '../https-only.js';
import { maskUrl } from '../redact.js';
import { parseRetryAfter } from '../transport/retry-after.js';
import { StoreError } from './errors.js';
import type { FeedbackSink } from './feedback-sink.js';
import { feedbackLine } from './ndjson-writer.js';
import { WEBHOOK_HEADERS, webhookSignatureHeader } from './webhook-signature.js';

export interface WebhookRetryOptions {
  /** Tries per batch, the first included. Default 8. */
  attempts?: number;
  /** Wait before the first retry, doubled after each (with jitter: between half and all of it). Default 1,000 ms. */
  baseDelayMs?: number;
  /** Longest wait between tries. Default 30,000 ms. */
  maxDelayMs?: number;
  /** A batch is given up once this much time has passed since its first try. Default 120,000 ms. */
  maxElapsedMs?: number;
}

/** One try of one batch, for metrics and logs. */
export interface WebhookDeliveryEvent {
  batchId: string;
  records: number;
  /** 1 for the first try. */
  attempt: number;
  /** `delivered`: a 2xx; `retry`: failed, another try follows; `failed`: failed, the batch is given up. */
  outcome: 'delivered' | 'retry' | 'failed';
  /** The receiver's status, when it answered. */
  httpStatus?: number;
  /** Why the try failed (`HTTP 500`, `timeout after 10000 ms`, `network error (ECONNREFUSED)`). */
  problem?: string;
  /** How long this try took. */
  durationMs: number;
}

/** A batch given up: what `onError` receives besides the error. */
export interface WebhookFailedBatch {
  batchId: string;
  records: number;
  attempts: number;
}

export interface WebhookSinkOptions {
  /** Where to POST. `https://`, or `http://` to a loopback address (a receiver on this machine). */
  url: string;
  /**
   * The shared HMAC secret (at least 16 characters), or several while rotating: every request
   * is signed with each (see `webhook-signature.ts`). Never printed.
   */
  secret: string | readonly string[];
  /** Statuses to send. Default `['invalid-token', 'failed']`. */
  statuses?: readonly FeedbackStatus[];
  /** Records per POST at most. Default 100. */
  batchSize?: number;
  /** The longest a record waits for its batch to fill before it is sent anyway. Default 1,000 ms. */
  batchDelayMs?: number;
  /** Records held at most (buffered, queued and being delivered); `write` waits past it. Default 1,000. */
  maxPending?: number;
  /** POSTs in flight at once. Default 2. */
  concurrency?: number;
  /** Per try: no complete answer within this time is a failed try. Default 10,000 ms. */
  timeoutMs?: number;
  retry?: WebhookRetryOptions;
  /** Extra request headers (e.g. a receiver's own token). Their values are never printed. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Allow `http://` to a loopback host (default true: a receiver on this machine). Any other
   * `http://` URL is refused, since bodies carry device tokens.
   */
  allowInsecureLoopback?: boolean;
  /** `app` of the records `write()` takes (`observe()` uses the send's). */
  app?: string;
  /** `sendId` of the records `write()` takes (`observe()` uses the send's). */
  sendId?: string;
  /**
   * Called once per batch given up after its retries (or dropped by `destroy()`). Without it,
   * `flush()` and `close()` reject with a `store-write` StoreError saying what was lost.
   */
  onError?: (error: StoreError, batch: WebhookFailedBatch) => void;
  /** Called after every try (for metrics). */
  onDelivery?: (event: WebhookDeliveryEvent) => void;
}

/** What the webhook sink can say about itself, beside the {@link FeedbackSink} counters. */
export interface WebhookSink extends FeedbackSink {
  /** The `FeedbackObserver` side: a record with the send's id and app. Returns a promise only when it must wait for room. */
  observe(send: { id: string; app: string }, feedback: Feedback): void | Promise<void>;
  /** Stops now: aborts tries in flight, gives up what is queued (reported through `onError`). */
  destroy(): Promise<void>;
  /** Records delivered (answered 2xx). */
  readonly delivered: number;
  /** Records given up. */
  readonly undelivered: number;
  readonly deliveredBatches: number;
  readonly failedBatches: number;
  /** Records held now (buffered, queued or being delivered). */
  readonly pending: number;
}

const DEFAULT_STATUSES: readonly FeedbackStatus[] = ['invalid-token', 'failed'];
const ALL_STATUSES: readonly FeedbackStatus[] = ['sent', 'validated', 'invalid-token', 'failed'];
/** What is read of a receiver's answer, at most (then the rest is dropped). */
const MAX_ANSWER_BYTES = 64 * 1024;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'host',
  'user-agent',
  ...Object.values(WEBHOOK_HEADERS),
]);

interface Batch {
  id: string;
  body: string;
  records: number;
  done: Promise<void>;
  resolve: () => void;
}

function whole(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new StoreError(
      'store-config',
      `webhookSink: ${name} must be a whole number ≥ ${min}, got ${value}`,
    );
  }
  return value;
}

/** Opens a webhook sink. Throws `store-config` on a wrong option (never echoing the secret). */
export function webhookSink(options: WebhookSinkOptions): WebhookSink {
  return new Webhook(options);
}

class Webhook implements WebhookSink {
  readonly removed = 0;
  readonly marked = 0;
  invalidTokens = 0;
  delivered = 0;
  undelivered = 0;
  deliveredBatches = 0;
  failedBatches = 0;
  pending = 0;

  private readonly url: string;
  private readonly name: string;
  private readonly secrets: readonly string[];
  private readonly statuses: ReadonlySet<FeedbackStatus>;
  private readonly batchSize: number;
  private readonly batchDelayMs: number;
  private readonly maxPending: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxElapsedMs: number;
  private readonly extraHeaders: Readonly<Record<string, string>>;
  /** Strings never to let into a message: the secrets and the extra headers' values. */
  private readonly hidden: string[];

  private buffer: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Batch[] = [];
  private readonly outstanding = new Set<Batch>();
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private readonly stop = new AbortController();
  private closing: Promise<void> | undefined;
  /** Failures not yet reported by a rejecting flush (only without `onError`). */
  private unreported: { batches: number; records: number; last: StoreError } | undefined;

  constructor(private readonly options: WebhookSinkOptions) {
    if (!options || typeof options !== 'object')
      throw new StoreError('store-config', 'webhookSink: options are missing');
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new StoreError(
        'store-config',
        'webhookSink: url is not a URL, e.g. https://hooks.example.com/pushline (the value is not shown: it may be a secret pasted in the wrong field)',
      );
    }
    this.name = `webhook ${maskUrl(url.href)}`;
    const problem = cleartextProblem(url, 'webhookSink: url', options.allowInsecureLoopback ?? true);
    if (problem) throw new StoreError('store-config', problem);
    if (url.username !== '' || url.password !== '') {
      throw new StoreError(
        'store-config',
        `webhookSink: url must not carry credentials (${maskUrl(url.href)}): use headers or the signature`,
      );
    }
    this.url = url.href;
    const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret;
    if (!Array.isArray(secrets) || secrets.length === 0) {
      throw new StoreError('store-config', 'webhookSink: secret is missing (the shared HMAC key)');
    }
    secrets.forEach((secret, i) => {
      if (typeof secret !== 'string' || secret.length < 16) {
        const which = secrets.length > 1 ? ` #${i + 1}` : '';
        throw new StoreError(
          'store-config',
          `webhookSink: secret${which} must be a string of at least 16 characters (not shown)`,
        );
      }
    });
    this.secrets = secrets;
    const statuses = options.statuses ?? DEFAULT_STATUSES;
    for (const status of statuses) {
      if (!ALL_STATUSES.includes(status)) {
        throw new StoreError(
          'store-config',
          `webhookSink: unknown status ${JSON.stringify(status)} in statuses (one of ${ALL_STATUSES.join(', ')})`,
        );
      }
    }
    this.statuses = new Set(statuses);
    this.batchSize = whole('batchSize', options.batchSize, 100, 1);
    this.batchDelayMs = whole('batchDelayMs', options.batchDelayMs, 1000, 0);
    this.maxPending = whole('maxPending', options.maxPending, Math.max(1000, this.batchSize), this.batchSize);
    this.concurrency = whole('concurrency', options.concurrency, 2, 1);
    this.timeoutMs = whole('timeoutMs', options.timeoutMs, 10_000, 1);
    this.attempts = whole('retry.attempts', options.retry?.attempts, 8, 1);
    this.baseDelayMs = whole('retry.baseDelayMs', options.retry?.baseDelayMs, 1000, 0);
    this.maxDelayMs = whole('retry.maxDelayMs', options.retry?.maxDelayMs, 30_000, 0);
    this.maxElapsedMs = whole('retry.maxElapsedMs', options.retry?.maxElapsedMs, 120_000, 0);
    const headers = options.headers ?? {};
    for (const [key, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(key) || RESERVED_HEADERS.has(key.toLowerCase())) {
        throw new StoreError('store-config', `webhookSink: header ${JSON.stringify(key)} cannot be set`);
      }
      if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
        throw new StoreError(
          'store-config',
          `webhookSink: header ${key} must be a string without line breaks (value not shown)`,
        );
      }
    }
    this.extraHeaders = { ...headers };
    this.hidden = [...secrets, ...Object.values(headers)].filter((text) => text.length >= 4);
  }

  write(feedback: Feedback): Promise<void> {
    try {
      return Promise.resolve(this.take(this.options.sendId, this.options.app, feedback));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  observe(send: { id: string; app: string }, feedback: Feedback): void | Promise<void> {
    return this.take(send.id, send.app, feedback);
  }

  async consume(feedback: AsyncIterable<Feedback> | Iterable<Feedback>): Promise<void> {
    try {
      for await (const item of feedback) await this.write(item);
    } finally {
      await this.flush();
    }
  }

  async flush(): Promise<void> {
    this.seal();
    await Promise.all([...this.outstanding].map((batch) => batch.done));
    const lost = this.unreported;
    if (lost) {
      this.unreported = undefined;
      throw new StoreError(
        'store-write',
        `${this.name}: ${lost.records} records in ${lost.batches} batches could not be delivered; last: ${lost.last.message}`,
        { cause: lost.last },
      );
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // New feedback is refused from now on, but a writer that was waiting for room adds its
      // record when a batch completes: flush again until nothing is left.
      let failure: unknown;
      do {
        try {
          await this.flush();
        } catch (error) {
          failure = error;
        }
      } while (this.buffer.length > 0 || this.outstanding.size > 0);
      this.clearTimer();
      if (failure) throw failure;
    })();
    return this.closing;
  }

  async destroy(): Promise<void> {
    this.closing ??= Promise.resolve();
    this.stop.abort();
    this.clearTimer();
    this.seal();
    this.wake();
    await Promise.all([...this.outstanding].map((batch) => batch.done));
  }

  async ready(): Promise<void> {}

  /** Takes one feedback: nothing when filtered out; a promise only when it must wait for room. */
  private take(
    sendId: string | undefined,
    app: string | undefined,
    feedback: Feedback,
  ): void | Promise<void> {
    if (this.closing) throw new StoreError('store-config', `${this.name}: feedback after close()`);
    if (feedback?.status === 'invalid-token') this.invalidTokens++;
    if (!this.statuses.has(feedback?.status)) return;
    const record = recordOf(sendId, app, feedback);
    if (this.pending < this.maxPending) {
      this.add(record);
      return;
    }
    return this.addWhenRoom(record);
  }

  private async addWhenRoom(record: string): Promise<void> {
    while (this.pending >= this.maxPending && !this.stop.signal.aborted) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.stop.signal.aborted) {
      this.undelivered++;
      return;
    }
    this.add(record);
  }

  private add(record: string): void {
    this.buffer.push(record);
    this.pending++;
    if (this.buffer.length >= this.batchSize) this.seal();
    else this.timer ??= setTimeout(() => this.seal(), this.batchDelayMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Closes the current buffer into a batch and queues it. */
  private seal(): void {
    this.clearTimer();
    if (this.buffer.length === 0) return;
    const records = this.buffer;
    this.buffer = [];
    let resolve!: () => void;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const batch: Batch = {
      id: randomUUID(),
      body: `[${records.join(',')}]`,
      records: records.length,
      done,
      resolve,
    };
    this.outstanding.add(batch);
    this.queue.push(batch);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.inFlight++;
      void this.deliver(batch).finally(() => {
        this.inFlight--;
        this.pending -= batch.records;
        this.outstanding.delete(batch);
        batch.resolve();
        this.wake();
        this.pump();
      });
    }
  }

  /** Tries a batch until it is delivered or given up; never rejects. */
  private async deliver(batch: Batch): Promise<void> {
    const started = Date.now();
    let attempt = 0;
    let problem = 'the sink was destroyed before it was sent';
    while (!this.stop.signal.aborted) {
      attempt++;
      const tried = Date.now();
      const result = await this.post(batch);
      const durationMs = Date.now() - tried;
      if (result.ok) {
        this.delivered += batch.records;
        this.deliveredBatches++;
        this.emit({
          batchId: batch.id,
          records: batch.records,
          attempt,
          outcome: 'delivered',
          httpStatus: result.status,
          durationMs,
        });
        return;
      }
      problem = result.problem;
      const delay = result.retryAfterMs ?? this.backoff(attempt);
      const last =
        attempt >= this.attempts ||
        Date.now() - started + delay > this.maxElapsedMs ||
        this.stop.signal.aborted;
      this.emit({
        batchId: batch.id,
        records: batch.records,
        attempt,
        outcome: last ? 'failed' : 'retry',
        httpStatus: result.status,
        problem,
        durationMs,
      });
      if (last) break;
      try {
        await sleep(delay, undefined, { signal: this.stop.signal });
      } catch {
        // destroy(): the loop ends.
      }
    }
    this.giveUp(batch, attempt, problem, Date.now() - started);
  }

  private async post(
    batch: Batch,
  ): Promise<
    { ok: true; status: number } | { ok: false; status?: number; problem: string; retryAfterMs?: number }
  > {
    const timestamp = Math.floor(Date.now() / 1000);
    // One controller per try, aborted by its timeout or by destroy(). (Not AbortSignal.any on
    // the sink's long-lived signal: every try would stay registered on it.)
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const onStop = () => controller.abort();
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          ...this.extraHeaders,
          'content-type': 'application/json',
          'user-agent': 'pushline-webhook',
          [WEBHOOK_HEADERS.id]: batch.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: webhookSignatureHeader(this.secrets, timestamp, batch.body),
        },
        body: batch.body,
      });
      // Read (a bounded part of) the answer so the connection can be reused.
      let read = 0;
      if (response.body) {
        for await (const chunk of response.body) {
          read += (chunk as Uint8Array).byteLength;
          if (read > MAX_ANSWER_BYTES) break;
        }
      }
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
      // A receiver that says when to come back (429, 503) is believed, within maxDelayMs.
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after') ?? undefined, Date.now());
      return {
        ok: false,
        status: response.status,
        problem: `HTTP ${response.status}`,
        ...(retryAfterMs !== undefined ? { retryAfterMs: Math.min(retryAfterMs, this.maxDelayMs) } : {}),
      };
    } catch (error) {
      if (timedOut) return { ok: false, problem: `no answer within ${this.timeoutMs} ms` };
      if (this.stop.signal.aborted) return { ok: false, problem: 'aborted by destroy()' };
      return { ok: false, problem: this.scrub(describe(error)) };
    } finally {
      clearTimeout(timer);
      this.stop.signal.removeEventListener('abort', onStop);
    }
  }

  /** Exponential, capped, with jitter: between half and all of `base · 2^(attempt-1)`. */
  private backoff(attempt: number): number {
    const full = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(full / 2 + (Math.random() * full) / 2);
  }

  private giveUp(batch: Batch, attempts: number, problem: string, elapsedMs: number): void {
    this.undelivered += batch.records;
    this.failedBatches++;
    const error = new StoreError(
      'store-write',
      this.scrub(
        `${this.name}: gave up a batch of ${batch.records} records (id ${batch.id}) after ${attempts} ` +
          `${attempts === 1 ? 'try' : 'tries'} over ${(elapsedMs / 1000).toFixed(1)} s: ${problem}`,
      ),
    );
    const onError = this.options.onError;
    if (onError) {
      try {
        onError(error, { batchId: batch.id, records: batch.records, attempts });
      } catch {
        // The caller's reporting failed; the sink goes on.
      }
      return;
    }
    const lost = this.unreported;
    this.unreported = {
      batches: (lost?.batches ?? 0) + 1,
      records: (lost?.records ?? 0) + batch.records,
      last: error,
    };
  }

  private emit(event: WebhookDeliveryEvent): void {
    try {
      this.options.onDelivery?.(event);
    } catch {
      // A metrics callback must not break delivery.
    }
  }

  private scrub(text: string): string {
    let out = text;
    for (const secret of this.hidden) out = out.split(secret).join('***');
    return out;
  }
}

/** `fetch failed` says nothing: name the cause's code (ECONNREFUSED, ENOTFOUND, …). */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code) return `network error (${code})`;
  const message = typeof cause?.message === 'string' ? cause.message : (error as Error)?.message;
  return `network error (${String(message ?? error).split('\n')[0]})`;
}

/**
 * One record: `sendId` and `app`, then the fields of `feedbackLine` (the NDJSON feedback
 * line, so a device JSON cannot write costs a placeholder, never the batch).
 */
function recordOf(sendId: string | undefined, app: string | undefined, feedback: Feedback): string {
  const line = feedbackLine(feedback);
  const inner = line.slice(1, line.lastIndexOf('}'));
  const head: string[] = [];
  if (sendId !== undefined) head.push(`"sendId":${JSON.stringify(sendId)}`);
  if (app !== undefined) head.push(`"app":${JSON.stringify(app)}`);
  if (inner !== '') head.push(inner);
  return `{${head.join(',')}}`;
}

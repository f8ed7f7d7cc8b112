/**
 * The seam between the server and whatever runs its sends. `pushline serve` accepts a send
 * (gorush's `/api/push` or the native `/v1/sends`), hands it to a {@link Dispatcher}, and
 * answers every later question about it (state, summary, feedback, abort) from the same
 * dispatcher. Two implementations sit behind it:
 *
 * - in-process (`local.ts`): the send runs on a `PushClient` in the server's own process, like
 *   gorush's default `local` queue — nothing to install, nothing survives a restart;
 * - BullMQ on Redis (`bullmq.ts`): the send becomes chunk jobs that `pushline worker`
 *   processes on any number of machines; outcomes are recorded in Redis, so state, summary
 *   and feedback can be served by any `serve` instance.
 *
 * Everything here is plain data (JSON-serialisable), because the Redis implementation moves
 * it between processes: a spec is a job's payload, a {@link FeedbackRecord} is one line of a
 * send's recorded feedback, a {@link SendStatus} is what `GET /v1/sends/:id` answers.
 */
import type { Device } from '../device.js';
import type { Feedback, FeedbackStatus } from '../feedback.js';
import type { Notification } from '../notification.js';

/** Where a send's devices come from. */
export type DeviceInput =
  /** Devices in the request itself (gorush's `tokens`, or `devices` of `/v1/sends`). */
  | { kind: 'inline'; devices: Device[] }
  /**
   * Devices streamed from an NDJSON request body, read only as fast as the send (or the
   * queue) takes them: millions of devices in one request with flat memory.
   */
  | { kind: 'stream'; devices: AsyncIterable<Device> }
  /**
   * A query on a database named in the config (`databases.<name>`): the rows never cross
   * HTTP. `keyColumn` orders the rows and lets workers read key ranges (keyset pagination).
   */
  | { kind: 'source'; database: string; query: string; keyColumn?: string };

/** A send as the server accepted it. */
export interface SendSpec {
  /** Assigned by the server (a UUID); names the send in every route and log line. */
  id: string;
  /** The app (`apps.<name>` in the config) whose providers send it. */
  app: string;
  notification: Notification;
  devices: DeviceInput;
  /** Validate without delivering (FCM `validate_only`; the others check locally). */
  dryRun?: boolean;
  /** See `PushClientOptions.delivery`. Default: at-least-once. */
  delivery?: 'at-least-once' | 'at-most-once';
  /** The API key's id that submitted it (for scoping reads), never the key itself. */
  submittedBy?: string;
  /**
   * The request's `Idempotency-Key`: a second submit with the same key (and the same
   * `submittedBy`) within the dispatcher's key retention sends nothing and answers with the
   * first send's status. Here, not in the server, so every `serve` instance behind one queue
   * honours it.
   */
  idempotencyKey?: string;
  /** ISO 8601 time the server accepted it. */
  createdAt: string;
}

/**
 * `queued`: accepted, nothing sent yet; `running`: devices being sent; `done`: every device
 * read has its final feedback; `aborted`: stopped by `DELETE /v1/sends/:id` or a shutdown past
 * its grace period (every device read still has its feedback, `aborted`); `failed`: the send
 * could not run (its source failed, its app has no provider): `error` says why.
 */
export type SendState = 'queued' | 'running' | 'done' | 'aborted' | 'failed';

/** Counts of one send, as JSON (the library's `Summary` minus its Date and derived fields). */
export interface SendCounts {
  /** Devices with a final feedback. */
  total: number;
  sent: number;
  validated: number;
  invalidToken: number;
  failed: number;
  /** Final failures by PushError code. */
  errors: Record<string, number>;
  /** Final outcomes per provider name. */
  providers: Record<string, { sent: number; validated: number; invalidToken: number; failed: number }>;
  retries: number;
  maybeDelivered: number;
  maybeDuplicates: number;
}

export interface SendStatus {
  id: string;
  app: string;
  state: SendState;
  /** Devices accepted so far (read from the request, the stream or the source). */
  accepted: number;
  counts: SendCounts;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why the send is `failed` (or why it was aborted), without secrets. */
  error?: { code: string; message: string };
}

/**
 * One device's final feedback as recorded: the NDJSON line format of `stores/ndjson-writer.ts`
 * (`feedbackLine`), parsed. `device` is the device as it was accepted.
 */
export interface FeedbackRecord {
  device: Device;
  status: FeedbackStatus;
  provider?: string;
  messageId?: string;
  httpStatus?: number;
  attempts: number;
  maybeDelivered?: true;
  maybeDuplicate?: true;
  error?: {
    code: string;
    message: string;
    reason?: string;
    retryable?: boolean;
    httpStatus?: number;
    provider?: string;
  };
}

export interface FeedbackQuery {
  /** Only these statuses (default: all). */
  status?: readonly FeedbackStatus[];
  /**
   * Keep the stream open and yield feedback as it is recorded until the send ends (default
   * true); false yields what is recorded now and ends.
   */
  follow?: boolean;
}

/** What runs sends: in-process, or chunk jobs on Redis. */
export interface Dispatcher {
  /**
   * Accepts a send. Resolves once it is accepted for good — in-process: registered and
   * started; Redis: every chunk job durably enqueued — with its status. For a `stream`
   * input it resolves after the stream is fully read (so `accepted` is final). Rejects with a
   * `PushError` when it cannot accept (Redis down → `unavailable`; the app has no provider →
   * `config`): then nothing of it was accepted.
   */
  submit(spec: SendSpec): Promise<SendStatus>;
  /** The send's status, or undefined for an unknown id. */
  status(id: string): Promise<SendStatus | undefined>;
  /** Resolves with the final status once the send is `done`, `aborted` or `failed` (gorush sync mode). */
  settled(id: string): Promise<SendStatus>;
  /** Every recorded feedback of a send, in recording order (see {@link FeedbackQuery}). */
  feedback(id: string, query?: FeedbackQuery): AsyncIterable<FeedbackRecord>;
  /** Aborts a send: no new device is sent; each unanswered one gets `aborted`. False for an unknown or finished send. */
  abort(id: string, reason?: string): Promise<boolean>;
  /**
   * Stops taking sends, lets accepted work finish for up to `graceMs`, then aborts what is
   * left (in-process) or hands it back to the queue (Redis) and releases everything.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * What sees every final feedback where a send runs — in the server's process for the
 * in-process dispatcher, in the worker for Redis: metrics, the app's webhook (a feedback sink,
 * `stores/webhook-sink.ts`), the app's dead-token database sink. Called once per device;
 * a returned promise is awaited before more feedback is taken (backpressure), so a slow
 * webhook slows its send rather than piling feedback up in memory.
 */
export interface FeedbackObserver {
  observe(send: SendSpec, feedback: Feedback): void | Promise<void>;
  /** Flushes what is buffered (end of a send, shutdown). */
  flush?(): Promise<void>;
  close?(): Promise<void>;
}

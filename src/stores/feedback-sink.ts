/**
 * What the database sinks share: collect `invalid-token` feedback into batches, apply each
 * batch in one transaction, retry a failed batch a bounded number of times with backoff, and
 * report (reject) what could not be applied. Never more than one batch buffered and one being
 * committed: `write` waits while a commit runs, so a fast delivery cannot outrun the database.
 *
 * Applying is idempotent (deleting a deleted row, or marking a marked one, changes nothing),
 * so after a crash the same send can simply be run again.
 */
import type { Feedback } from '../feedback.js';
import { StoreError } from './errors.js';

/** Applies a delivery's feedback to the caller's store. */
export interface FeedbackSink {
  /** Takes one feedback; resolves once it is buffered (waiting while a batch commits). */
  write(feedback: Feedback): Promise<void>;
  /** Writes every feedback of a delivery (or any iterable of them), then flushes. */
  consume(feedback: AsyncIterable<Feedback> | Iterable<Feedback>): Promise<void>;
  /** Commits what is buffered. */
  flush(): Promise<void>;
  /**
   * Checks now, before any feedback, that the target is usable (the table and its columns
   * exist), so a mistake stops a send before its first device rather than at its first dead
   * token. Rejects with a `store-config` StoreError for a wrong table or column. Optional:
   * the database sinks have it.
   */
  ready?(): Promise<void>;
  /** Flushes, then closes what the sink opened itself. */
  close(): Promise<void>;
  /** Rows deleted (mode `delete`). */
  readonly removed: number;
  /** Rows marked (mode `mark`); a row already marked is left as it is and not counted. */
  readonly marked: number;
  /** `invalid-token` feedback taken in. */
  readonly invalidTokens: number;
}

export interface SinkRetryOptions {
  /** Tries per batch, the first included. Default 5. */
  attempts?: number;
  /** Wait before the first retry, doubled after each. Default 100 ms. */
  baseDelayMs?: number;
  /** Longest wait between tries. Default 5,000 ms. */
  maxDelayMs?: number;
}

/** Options shared by the SQL sinks. */
export interface DatabaseSinkOptions {
  /** The devices table (`schema.table` allowed). */
  table: string;
  /** The column that identifies a row. */
  keyColumn: string;
  /** The device field holding that key (it comes back on the feedback). Default: `keyColumn`. */
  keyField?: string;
  /** `delete` removes the row of a dead token; `mark` sets `markColumn` on it. */
  mode: 'delete' | 'mark';
  /** The column `mark` sets (e.g. `invalidated_at`); rows where it is already set are left alone. */
  markColumn?: string;
  /**
   * What `mark` writes: `provider` (default) is the provider's invalidation time when it gave one
   * (APNs does), else now; `now` is always the time of writing.
   */
  markValue?: 'provider' | 'now';
  /** Rows per transaction. Default 500. */
  batchSize?: number;
  retry?: SinkRetryOptions;
}

/** One row to delete or mark. */
export interface Invalidation {
  key: unknown;
  at: Date;
}

/** A backend's view: apply one batch atomically, say which errors are worth a retry. */
export interface SinkBackend {
  /** Describes the target for messages, e.g. `sqlite table devices`. */
  readonly target: string;
  /** Checks the table and columns now (see {@link FeedbackSink.ready}), when not done at construction. */
  check?(): Promise<void>;
  /** Applies a whole batch in one transaction; resolves to the rows changed. */
  apply(batch: Invalidation[]): Promise<number>;
  /** Errors that will not go away by waiting (no such table, bad key type). */
  isPermanent(error: unknown): boolean;
  /** A hint to append to a final error message, when the backend knows a likely cause. */
  hint?(error: unknown): string | undefined;
  release(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new StoreError(
      'store-config',
      `feedback sink: ${name} must be a whole number ≥ ${min}, got ${value}`,
    );
  }
  return value;
}

/** Validates the options the SQL sinks share; throws `store-config` on a mistake. */
export function checkSinkOptions(options: DatabaseSinkOptions, what: string): void {
  if (!options || typeof options !== 'object')
    throw new StoreError('store-config', `${what}: options are missing`);
  if (typeof options.table !== 'string' || options.table === '') {
    throw new StoreError('store-config', `${what}: table is missing`);
  }
  if (typeof options.keyColumn !== 'string' || options.keyColumn === '') {
    throw new StoreError(
      'store-config',
      `${what}: keyColumn is missing (the column that identifies a row, e.g. 'id')`,
    );
  }
  if (options.mode !== 'delete' && options.mode !== 'mark') {
    throw new StoreError(
      'store-config',
      `${what}: mode must be 'delete' or 'mark', got ${JSON.stringify(options.mode)}`,
    );
  }
  if (options.mode === 'mark' && (typeof options.markColumn !== 'string' || options.markColumn === '')) {
    throw new StoreError('store-config', `${what}: mode 'mark' needs markColumn (e.g. 'invalidated_at')`);
  }
  if (options.markValue !== undefined && options.markValue !== 'provider' && options.markValue !== 'now') {
    throw new StoreError('store-config', `${what}: markValue must be 'provider' or 'now'`);
  }
}

export class BatchingSink implements FeedbackSink {
  removed = 0;
  marked = 0;
  invalidTokens = 0;
  private buffer: Invalidation[] = [];
  private committing: Promise<void> | undefined;
  private failure: StoreError | undefined;
  private closed: Promise<void> | undefined;
  private readonly keyField: string;
  private readonly batchSize: number;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly backend: SinkBackend,
    private readonly options: DatabaseSinkOptions,
  ) {
    this.keyField = options.keyField ?? options.keyColumn;
    this.batchSize = positive('batchSize', options.batchSize, 500);
    this.attempts = positive('retry.attempts', options.retry?.attempts, 5);
    this.baseDelayMs = positive('retry.baseDelayMs', options.retry?.baseDelayMs, 100, 0);
    this.maxDelayMs = positive('retry.maxDelayMs', options.retry?.maxDelayMs, 5000, 0);
  }

  async write(feedback: Feedback): Promise<void> {
    if (this.closed) throw new StoreError('store-config', `${this.backend.target}: write() after close()`);
    if (this.failure) throw this.failure;
    if (feedback?.status !== 'invalid-token') return;
    const key = (feedback.device as Record<string, unknown> | undefined)?.[this.keyField];
    if (key === undefined || key === null) {
      throw new StoreError(
        'store-config',
        `${this.backend.target}: an invalid-token feedback's device has no '${this.keyField}' field, so its row ` +
          `cannot be found; select the key column in the device source's query (or set keyField)`,
      );
    }
    this.invalidTokens++;
    const at = this.options.markValue === 'now' ? new Date() : (feedback.error?.invalidatedAt ?? new Date());
    // At most one batch commits while the next fills: wait for the commit before growing further.
    while (this.committing) await this.committing;
    if (this.failure) throw this.failure;
    this.buffer.push({ key, at });
    if (this.buffer.length >= this.batchSize) await this.commit();
  }

  async ready(): Promise<void> {
    try {
      await this.backend.check?.();
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(
        'store-write',
        `${this.backend.target}: cannot check the table: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
    }
  }

  async consume(feedback: AsyncIterable<Feedback> | Iterable<Feedback>): Promise<void> {
    try {
      for await (const item of feedback) await this.write(item);
    } finally {
      // What was taken in before a failure upstream is still applied (unless the sink itself failed).
      if (!this.failure) await this.flush();
    }
  }

  async flush(): Promise<void> {
    while (this.committing) await this.committing;
    if (this.failure) throw this.failure;
    if (this.buffer.length > 0) await this.commit();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      try {
        await this.flush();
      } finally {
        await this.backend.release();
      }
    })();
    return this.closed;
  }

  private commit(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    this.committing = this.applyWithRetry(batch).finally(() => {
      this.committing = undefined;
    });
    return this.committing;
  }

  private async applyWithRetry(batch: Invalidation[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const changed = await this.backend.apply(batch);
        if (this.options.mode === 'delete') this.removed += changed;
        else this.marked += changed;
        return;
      } catch (error) {
        const permanent = this.backend.isPermanent(error);
        if (permanent || attempt >= this.attempts) {
          const tries = permanent ? '' : ` after ${attempt} attempts`;
          const hint = this.backend.hint?.(error);
          this.failure = new StoreError(
            'store-write',
            `${this.backend.target}: could not ${this.options.mode} ${batch.length} rows of dead tokens${tries}: ` +
              `${(error as Error)?.message ?? String(error)}${hint ? ` (${hint})` : ''}. ` +
              'Nothing of this batch was applied; applying it again later is safe.',
            { cause: error },
          );
          throw this.failure;
        }
        await sleep(Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
      }
    }
  }
}

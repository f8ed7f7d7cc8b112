/**
 * The in-process {@link Dispatcher}: what `pushline serve` runs sends on by default, like
 * gorush's `local` queue — nothing to install, nothing survives a restart. Each send runs on
 * its app's `PushClient` in this process; its feedback is recorded to a temporary NDJSON file
 * (never held in memory per device) and served from there to any number of readers; every
 * final feedback is handed to the observers (metrics, the app's webhook, the dead-token sink).
 *
 * Limits: at most `maxConcurrent` sends run at once, the others wait their turn (`queued`) up
 * to `maxQueued`; a settled send is kept (status and feedback) for `retentionMs`, at most
 * `maxKept` of them, then forgotten and its file deleted.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PushClient } from '../client.js';
import type { Device } from '../device.js';
import { PushError, toPushError } from '../errors.js';
import { redactText } from '../redact.js';
import type {
  Dispatcher,
  FeedbackObserver,
  FeedbackQuery,
  FeedbackRecord,
  SendSpec,
  SendStatus,
} from './dispatch.js';
import { parseFeedbackLine } from './feedback-record.js';
import { FeedbackSpool } from './feedback-spool.js';
import { IdempotencyKeys, type IdempotencyOptions } from './idempotency.js';
import { LocalSend, type LocalSendHost } from './local-send.js';

/** Opens a `source` input: a query on a database named in the config. */
export type SourceOpener = (database: string, query: string, keyColumn?: string) => AsyncIterable<Device>;

export interface LocalDispatcherOptions {
  /**
   * One `PushClient` per app (`apps.<name>` of the config), built by the server. The
   * dispatcher sends on them and never closes them: close them after `close()`.
   */
  clients: ReadonlyMap<string, PushClient>;
  /**
   * Opens a `source` input (the server wires it to `stores/open-source` with the config's
   * `databases`). It should throw a `PushError` (`config`) for an unknown database: `submit`
   * rejects with it. Without it, `source` inputs are refused.
   */
  sources?: SourceOpener;
  /**
   * See every final feedback, in order, once each; a returned promise is awaited before the
   * send takes more (backpressure). Flushed when each send ends; closed by `close()`. An
   * observer that throws is reported through `onError` and the send goes on.
   */
  observers?: readonly FeedbackObserver[];
  /** Sends running at once; the others wait (`queued`). Default 16. */
  maxConcurrent?: number;
  /** Sends waiting to run at most; past it `submit` rejects with `unavailable`. Default 1,000. */
  maxQueued?: number;
  /** Settled sends kept (status and feedback) at most; the oldest is forgotten first. Default 1,000. */
  maxKept?: number;
  /** How long a settled send is kept, ms. Default 1 hour. */
  retentionMs?: number;
  /** Idempotency keys: how long, how many (defaults 24 h, 10,000). */
  idempotency?: Omit<IdempotencyOptions, 'now'>;
  /** Where the feedback files go. Default `os.tmpdir()/pushline-sends-<pid>` (created, and removed by `close()`). */
  spoolDir?: string;
  /** The clock, ms (timestamps, retention, idempotency). Default `Date.now`. */
  now?: () => number;
  /** A failure that does not stop a send: an observer threw, a feedback file could not be written. */
  onError?: (error: unknown, context: { send?: string; app?: string; during: string }) => void;
}

const DEFAULT_RETENTION_MS = 60 * 60 * 1000;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new PushError('config', `${name} must be a whole number ≥ 1, got ${String(value)}`);
  }
  return value;
}

/** What an idempotency key stands for: the send, its acceptance while under way, its last status once forgotten. */
interface KeyEntry {
  id: string;
  accepting?: Promise<SendStatus>;
  final?: SendStatus;
}

export class LocalDispatcher implements Dispatcher {
  private readonly sends = new Map<string, LocalSend>();
  private readonly queued: LocalSend[] = [];
  private readonly running = new Set<LocalSend>();
  /** Settled sends, in the order they settled (the order they are forgotten in). */
  private readonly settledOrder: LocalSend[] = [];
  private readonly keys: IdempotencyKeys<KeyEntry>;
  /** Which idempotency key each send was submitted with, to keep its last status when it is forgotten. */
  private readonly keyOf = new Map<LocalSend, string>();
  private readonly host: LocalSendHost;
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly maxKept: number;
  private readonly retentionMs: number;
  private readonly dir: string;
  private readonly ownDir: boolean;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  private dirReady: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Closed, the feedback files deleted. */
  private released = false;
  private files = 0;

  constructor(private readonly options: LocalDispatcherOptions) {
    if (!(options?.clients instanceof Map)) {
      throw new PushError(
        'config',
        'new LocalDispatcher({ clients }): clients must be a Map of app name → PushClient',
      );
    }
    this.maxConcurrent = positive('maxConcurrent', options.maxConcurrent, 16);
    this.maxQueued = positive('maxQueued', options.maxQueued, 1000);
    this.maxKept = positive('maxKept', options.maxKept, 1000);
    this.retentionMs = positive('retentionMs', options.retentionMs, DEFAULT_RETENTION_MS);
    this.now = options.now ?? Date.now;
    this.keys = new IdempotencyKeys<KeyEntry>({ ...options.idempotency, now: this.now });
    this.ownDir = options.spoolDir === undefined;
    this.dir = options.spoolDir ?? join(tmpdir(), `pushline-sends-${process.pid}`);
    const observers = [...(options.observers ?? [])];
    this.host = {
      observers,
      now: this.now,
      report: (error, during, spec) => this.report(error, during, spec),
      settled: (send) => this.onSettled(send),
    };
    // Forgets expired sends even when nobody asks for anything (lookups forget them too).
    this.sweeper = setInterval(() => this.sweep(), Math.min(this.retentionMs, 60_000));
    this.sweeper.unref();
  }

  /**
   * Accepts a send: validates it, records it, starts it (or queues it behind `maxConcurrent`).
   * A `stream` input is read as the send goes, and this resolves once it is read to its end.
   * With `spec.idempotencyKey` already seen (for the same `submittedBy`), resolves with the
   * first send's status and sends nothing (a duplicate's devices are not read).
   */
  submit(spec: SendSpec): Promise<SendStatus> {
    if (this.closing) return Promise.reject(this.shuttingDown());
    const key =
      typeof spec?.idempotencyKey === 'string'
        ? `${spec.submittedBy ?? ''}\n${spec.idempotencyKey}`
        : undefined;
    if (key !== undefined) {
      const seen = this.keys.get(key);
      if (seen) return this.replay(seen, spec);
    }
    const accepting = this.accept(spec);
    if (key !== undefined) {
      const entry: KeyEntry = { id: spec.id, accepting };
      this.keys.set(key, entry);
      accepting.then(
        (status) => {
          entry.accepting = undefined;
          const send = this.sends.get(status.id);
          if (send) this.keyOf.set(send, key);
        },
        // Nothing was accepted: the key is free for a retry.
        () => {
          if (this.keys.get(key) === entry) this.keys.delete(key);
        },
      );
    }
    return accepting;
  }

  async status(id: string): Promise<SendStatus | undefined> {
    this.sweep();
    return this.sends.get(id)?.status();
  }

  settled(id: string): Promise<SendStatus> {
    this.sweep();
    const send = this.sends.get(id);
    if (!send) return Promise.reject(unknownSend(id));
    return send.settledStatus;
  }

  async *feedback(id: string, query: FeedbackQuery = {}): AsyncGenerator<FeedbackRecord> {
    this.sweep();
    const send = this.sends.get(id);
    if (!send) throw unknownSend(id);
    if (this.released)
      throw new PushError('closed', 'the dispatcher is closed: recorded feedback was deleted');
    const statuses = query.status ? new Set<string>(query.status) : undefined;
    for await (const line of send.spool.lines(query.follow ?? true)) {
      const record = parseFeedbackLine(line);
      if (statuses === undefined || statuses.has(record.status)) yield record;
    }
  }

  async abort(id: string, reason = 'aborted by request'): Promise<boolean> {
    this.sweep();
    const send = this.sends.get(id);
    if (!send) return false;
    const wasQueued = send.state === 'queued';
    const aborted = send.abort(reason);
    if (aborted && wasQueued) this.dequeue(send);
    return aborted;
  }

  /**
   * Stops taking sends (`submit` rejects with `unavailable`), stops reading streamed and source
   * inputs (the devices read finish; such a send still queued is aborted; inline sends, accepted
   * in full, all run, queued ones included), waits up to `graceMs`, aborts what is left (every device
   * read gets its `aborted` feedback), then closes the observers and deletes the feedback files.
   * Statuses stay readable; feedback does not.
   */
  close(graceMs: number): Promise<void> {
    this.closing ??= this.shutDown(Math.max(0, Number(graceMs) || 0));
    return this.closing;
  }

  /** Sends waiting for their turn (`maxConcurrent`): the metrics' queue depth. */
  get queuedSends(): number {
    return this.queued.length;
  }

  /** Devices read by the running sends whose final feedback is not in yet. */
  devicesInFlight(): number {
    let total = 0;
    for (const send of this.running) {
      const status = send.status();
      total += Math.max(0, status.accepted - status.counts.total);
    }
    return total;
  }

  // ── accepting ────────────────────────────────────────────────────────────────────────────

  private async accept(spec: SendSpec): Promise<SendStatus> {
    const client = this.validate(spec);
    const devices = this.input(spec);
    if (this.queued.length >= this.maxQueued && this.running.size >= this.maxConcurrent) {
      throw new PushError(
        'unavailable',
        `too many sends waiting to run (${this.maxQueued}); try again later`,
      );
    }
    const spool = await this.createSpool();
    if (this.closing) {
      await spool.delete();
      throw this.shuttingDown();
    }
    const send = new LocalSend(spec, devices, spool, this.host);
    this.sends.set(spec.id, send);
    if (this.running.size < this.maxConcurrent) this.launch(send, client);
    else this.queued.push(send);
    // A streamed body is read as the send goes; it is accepted once read to its end.
    if (spec.devices.kind === 'stream') await Promise.race([send.readEnded, send.settledStatus]);
    return send.status();
  }

  private validate(spec: SendSpec): PushClient {
    if (!spec || typeof spec !== 'object')
      throw new PushError('bad-request', 'submit(spec): spec must be an object');
    if (typeof spec.id !== 'string' || spec.id === '')
      throw new PushError('bad-request', 'a send needs an id');
    if (this.sends.has(spec.id))
      throw new PushError('bad-request', `a send with id '${spec.id}' exists already`);
    const client = this.options.clients.get(spec.app);
    if (!client) {
      const known = [...this.options.clients.keys()].map((name) => `'${name}'`).join(', ');
      throw new PushError(
        'config',
        `unknown app '${String(spec.app)}'; the apps configured are ${known || 'none'}`,
      );
    }
    if (
      spec.delivery !== undefined &&
      spec.delivery !== 'at-least-once' &&
      spec.delivery !== 'at-most-once'
    ) {
      throw new PushError('bad-request', `delivery must be 'at-least-once' or 'at-most-once'`);
    }
    return client;
  }

  /** The input as something to read devices from; a `source` is opened (not read) now. */
  private input(spec: SendSpec): Iterable<Device> | AsyncIterable<Device> {
    const input = spec.devices;
    switch (input?.kind) {
      case 'inline':
        if (!Array.isArray(input.devices))
          throw new PushError('bad-request', 'inline devices must be an array');
        return input.devices;
      case 'stream':
        if (!input.devices || !(Symbol.asyncIterator in input.devices)) {
          throw new PushError('bad-request', 'a stream input must be an AsyncIterable of devices');
        }
        return input.devices;
      case 'source': {
        const open = this.options.sources;
        if (!open) throw new PushError('config', 'this server has no databases to read devices from');
        try {
          return open(input.database, input.query, input.keyColumn);
        } catch (error) {
          const failure = toPushError(error, 'config');
          // A StoreError's code is not a PushError's: it says what is wrong with the config.
          throw failure === error
            ? failure
            : new PushError('config', redactText(failure.message), { cause: error });
        }
      }
      default:
        throw new PushError(
          'bad-request',
          `unknown device input kind '${String((input as { kind?: unknown })?.kind)}'`,
        );
    }
  }

  private async createSpool(): Promise<FeedbackSpool> {
    this.dirReady ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    try {
      await this.dirReady;
      // Named by a counter and a random part, never by the send's id (no path from a request).
      return await FeedbackSpool.create(join(this.dir, `${++this.files}-${randomUUID()}.ndjson`));
    } catch (error) {
      this.dirReady = undefined;
      throw new PushError(
        'unavailable',
        `cannot record the send's feedback in ${this.dir}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  private replay(seen: KeyEntry, spec: SendSpec): Promise<SendStatus> {
    if (seen.accepting) {
      // The first is still being accepted: answer as it does; if it is refused, try again as new.
      return seen.accepting.then(
        () => this.replay(seen, spec),
        () => this.submit(spec),
      );
    }
    const send = this.sends.get(seen.id);
    if (send) return Promise.resolve(send.status());
    if (seen.final) return Promise.resolve(structuredClone(seen.final));
    return this.submit(spec);
  }

  // ── running ──────────────────────────────────────────────────────────────────────────────

  private launch(send: LocalSend, client: PushClient): void {
    this.running.add(send);
    send.start(client);
  }

  private dequeue(send: LocalSend): void {
    const index = this.queued.indexOf(send);
    if (index !== -1) this.queued.splice(index, 1);
  }

  private onSettled(send: LocalSend): void {
    this.running.delete(send);
    this.dequeue(send);
    this.settledOrder.push(send);
    while (!this.closing && this.running.size < this.maxConcurrent && this.queued.length > 0) {
      const next = this.queued.shift()!;
      const client = this.options.clients.get(next.spec.app)!;
      this.launch(next, client);
    }
    this.sweep();
  }

  /** Forgets settled sends past their retention or past `maxKept`, deleting their files. */
  private sweep(): void {
    const expired = this.now() - this.retentionMs;
    while (this.settledOrder.length > 0) {
      const oldest = this.settledOrder[0]!;
      if (oldest.finishedAtMs! > expired && this.settledOrder.length <= this.maxKept) break;
      this.settledOrder.shift();
      this.forget(oldest);
    }
  }

  private forget(send: LocalSend): void {
    this.sends.delete(send.spec.id);
    const key = this.keyOf.get(send);
    if (key !== undefined) {
      this.keyOf.delete(send);
      // Its key outlives it: a retry still gets the first send's (last) status.
      const entry = this.keys.get(key);
      if (entry?.id === send.spec.id) entry.final = send.status();
    }
    void send.spool.delete().catch((error) => this.report(error, 'deleting a feedback file', send.spec));
  }

  private report(error: unknown, during: string, spec?: SendSpec): void {
    try {
      this.options.onError?.(error, spec ? { send: spec.id, app: spec.app, during } : { during });
    } catch {
      // A logger that throws must not break a send.
    }
  }

  private shuttingDown(): PushError {
    return new PushError('unavailable', 'shutting down: no new sends are accepted');
  }

  // ── closing ──────────────────────────────────────────────────────────────────────────────

  private async shutDown(graceMs: number): Promise<void> {
    clearInterval(this.sweeper);
    // Inline devices were accepted in full (the 202 counted them): those sends run through
    // the grace period, queued ones included (started now, past maxConcurrent). Only a send
    // whose input is still being read (a stream, a source) stops reading; a queued one of
    // those, of which nothing was read, is aborted.
    const waiting = this.queued.splice(0);
    const queued: LocalSend[] = [];
    for (const send of waiting) {
      if (send.spec.devices.kind === 'inline') {
        this.launch(send, this.options.clients.get(send.spec.app)!);
      } else {
        send.abort('the server shut down before this send started');
        queued.push(send);
      }
    }
    const running = [...this.running];
    for (const send of running) {
      if (send.spec.devices.kind !== 'inline') send.stop('the server shut down before every device was read');
    }
    const allSettled = Promise.all([...queued, ...running].map((send) => send.settledStatus));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([allSettled, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const send of running) send.abort(`the ${graceMs} ms shutdown grace period ran out`);
    await Promise.all([...queued, ...running].map((send) => send.abandon()));
    for (const observer of this.host.observers) {
      try {
        await observer.flush?.();
        await observer.close?.();
      } catch (error) {
        this.report(error, 'closing an observer');
      }
    }
    this.released = true;
    await Promise.all(
      [...this.sends.values()].map((send) =>
        send.spool.delete().catch((error) => this.report(error, 'deleting a feedback file', send.spec)),
      ),
    );
    if (this.ownDir && this.dirReady) await rmdir(this.dir).catch(() => undefined);
  }
}

function unknownSend(id: string): PushError {
  return new PushError('bad-request', `no send '${id}' (unknown, or forgotten after its retention time)`);
}

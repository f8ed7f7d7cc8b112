/**
 * What the dashboard knows of sends: the ones this server accepted (it sees every `submit`
 * through {@link SendDirectory.track}, whichever route made it: `/v1/sends` or gorush's
 * `/api/push`) and any other one a page opened by id (a send accepted by another instance on
 * the same Redis). Their status always comes from the dispatcher — in-process or BullMQ — read
 * here, server-side, every `intervalMs` while they run; the browsers are told what changed
 * through server-sent events and never poll.
 *
 * Bounded: at most `maxSends` sends are listed (the oldest settled forgotten first), each
 * with at most `maxSamples` points of throughput history (halved — every other point dropped —
 * when full, so a long send keeps its whole shape at a coarser grain).
 */
import type { Dispatcher, SendSpec, SendStatus } from '../../queue/dispatch.js';

/** One point of a send's progress. */
export interface Sample {
  /** ms since the epoch. */
  t: number;
  /** Devices with a final feedback. */
  total: number;
  /** The same, per provider. */
  providers: Record<string, number>;
}

export interface TrackedSend {
  readonly id: string;
  readonly app: string;
  /** The notification's title, as given (a stranger's text: escaped when shown). */
  readonly title: string | undefined;
  readonly createdAt: string;
  /** The last status read from the dispatcher (undefined until the first read). */
  status: SendStatus | undefined;
  readonly history: Sample[];
  /** When this process last read its status, ms. */
  seenAt: number;
}

export interface SendDirectoryOptions {
  /** Sends listed at most. Default 200. */
  maxSends?: number;
  /** Throughput points kept per send. Default 240. */
  maxSamples?: number;
  /** How often running sends' status is read, ms. Default 500. */
  intervalMs?: number;
  now?: () => number;
}

const TERMINAL = new Set(['done', 'aborted', 'failed']);

export const isTerminal = (status: SendStatus | undefined): boolean =>
  status !== undefined && TERMINAL.has(status.state);

function providerTotals(status: SendStatus): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const [name, counts] of Object.entries(status.counts.providers)) {
    totals[name] = counts.sent + counts.validated + counts.invalidToken + counts.failed;
  }
  return totals;
}

export class SendDirectory {
  readonly #sends = new Map<string, TrackedSend>();
  readonly #listeners = new Set<(changed: readonly TrackedSend[]) => void>();
  readonly #maxSends: number;
  readonly #maxSamples: number;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #ticking = false;

  constructor(
    private readonly dispatcher: Dispatcher,
    options: SendDirectoryOptions = {},
  ) {
    this.#maxSends = options.maxSends ?? 200;
    this.#maxSamples = Math.max(8, options.maxSamples ?? 240);
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => void this.tick(), options.intervalMs ?? 500);
    this.#timer.unref();
  }

  /**
   * The dispatcher the routes should use: the same one, with each accepted send noted here
   * (an idempotent replay notes the first send, not a new one).
   */
  track(): Dispatcher {
    const inner = this.dispatcher;
    return {
      submit: async (spec) => {
        this.#note(spec);
        try {
          const status = await inner.submit(spec);
          if (status.id !== spec.id) this.#sends.delete(spec.id);
          this.#update(this.#sends.get(status.id) ?? this.#entry(status, undefined), status);
          return status;
        } catch (error) {
          this.#sends.delete(spec.id);
          throw error;
        }
      },
      status: (id) => inner.status(id),
      settled: (id) => inner.settled(id),
      feedback: (id, query) => inner.feedback(id, query),
      abort: async (id, reason) => {
        const aborted = await inner.abort(id, reason);
        if (aborted) void this.refresh(id);
        return aborted;
      },
      close: (graceMs) => inner.close(graceMs),
    };
  }

  /** Sends listed, newest first. */
  list(): TrackedSend[] {
    return [...this.#sends.values()].reverse();
  }

  get(id: string): TrackedSend | undefined {
    return this.#sends.get(id);
  }

  /**
   * Reads a send's status now and lists it (a send opened by id is followed from then on).
   * Undefined for a send the dispatcher does not know.
   */
  async refresh(id: string): Promise<TrackedSend | undefined> {
    const status = await this.dispatcher.status(id);
    const tracked = this.#sends.get(id);
    if (status === undefined) return tracked;
    const entry = tracked ?? this.#entry(status, undefined);
    if (this.#update(entry, status)) this.#emit([entry]);
    return entry;
  }

  /** Calls `listener` with the sends whose status changed, after each read. */
  subscribe(listener: (changed: readonly TrackedSend[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Devices per second over the last `windowMs` (overall and per provider), from the history. */
  rate(send: TrackedSend, windowMs = 3000): { total: number; providers: Record<string, number> } {
    const history = send.history;
    const last = history.at(-1);
    if (last === undefined || isTerminal(send.status)) return { total: 0, providers: {} };
    let first = last;
    for (let i = history.length - 1; i >= 0; i--) {
      first = history[i]!;
      if (last.t - first.t >= windowMs) break;
    }
    const seconds = (last.t - first.t) / 1000;
    if (seconds <= 0) return { total: 0, providers: {} };
    const providers: Record<string, number> = {};
    for (const [name, total] of Object.entries(last.providers)) {
      providers[name] = (total - (first.providers[name] ?? 0)) / seconds;
    }
    return { total: (last.total - first.total) / seconds, providers };
  }

  /** Reads every running send's status once (the timer does this every `intervalMs`). */
  async tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const changed: TrackedSend[] = [];
      for (const entry of this.#sends.values()) {
        if (isTerminal(entry.status)) continue;
        let status: SendStatus | undefined;
        try {
          status = await this.dispatcher.status(entry.id);
        } catch {
          continue; // Redis down: try again next tick; the page keeps the last known status.
        }
        if (status !== undefined && this.#update(entry, status)) changed.push(entry);
      }
      if (changed.length > 0) this.#emit(changed);
    } finally {
      this.#ticking = false;
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#listeners.clear();
  }

  #note(spec: SendSpec): void {
    const title = typeof spec.notification?.title === 'string' ? spec.notification.title : undefined;
    this.#add({
      id: spec.id,
      app: spec.app,
      title,
      createdAt: spec.createdAt,
      status: undefined,
      history: [],
      seenAt: 0,
    });
  }

  #entry(status: SendStatus, title: string | undefined): TrackedSend {
    const entry: TrackedSend = {
      id: status.id,
      app: status.app,
      title,
      createdAt: status.createdAt,
      status: undefined,
      history: [],
      seenAt: 0,
    };
    this.#add(entry);
    return entry;
  }

  #add(entry: TrackedSend): void {
    this.#sends.set(entry.id, entry);
    if (this.#sends.size <= this.#maxSends) return;
    // Forget the oldest settled send first; when none has settled, the oldest.
    const victim =
      [...this.#sends.values()].find((send) => isTerminal(send.status)) ?? this.#sends.values().next().value!;
    this.#sends.delete(victim.id);
  }

  /** Takes a status; true when something a page shows changed. */
  #update(entry: TrackedSend, status: SendStatus): boolean {
    const before = entry.status;
    entry.status = status;
    const now = this.#now();
    entry.seenAt = now;
    const history = entry.history;
    const last = history.at(-1);
    if (last === undefined || last.total !== status.counts.total || !isTerminal(before)) {
      history.push({ t: now, total: status.counts.total, providers: providerTotals(status) });
      if (history.length > this.#maxSamples) {
        // Halve: keep every other point, and always the newest.
        const kept = history.filter((_, i) => i % 2 === 0 || i === history.length - 1);
        history.splice(0, history.length, ...kept);
      }
    }
    return (
      before === undefined ||
      before.state !== status.state ||
      before.counts.total !== status.counts.total ||
      before.accepted !== status.accepted ||
      !isTerminal(status)
    );
  }

  #emit(changed: readonly TrackedSend[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(changed);
      } catch {
        // One broken page stream must not stop the others.
      }
    }
  }
}

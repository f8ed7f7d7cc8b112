/**
 * The inbox: every notification the emulators accepted, newest first, at most `max` of them
 * (older ones are dropped: a million-device run keeps its tail, memory stays flat). It reads
 * the emulators' own inspection records every `intervalMs` — appended in order, so each read
 * walks back from the newest to the first one already seen and costs only what is new — and
 * tells its listeners (the inbox pages' event streams) what arrived.
 */
import type { AcceptedNotification } from '../apns/inspection.js';
import type { AcceptedFcmMessage } from '../fcm/inspection.js';
import type { AcceptedHmsMessage } from '../hms/inspection.js';
import type { ReceivedMessage } from '../webpush/push-service.js';
import { fromApns, fromFcm, fromHms, fromWebPush, type InboxItem, type InboxProvider } from './items.js';

/** What the inbox reads: the emulators (`startEmulator()`'s), any of them absent. */
export interface InboxSources {
  apns?: { readonly notifications: readonly AcceptedNotification[] };
  fcm?: { readonly messages: readonly AcceptedFcmMessage[]; readonly projectId: string };
  webpush?: { messages(): readonly ReceivedMessage[] };
  hms?: { readonly messages: readonly AcceptedHmsMessage[]; readonly appId: string };
}

export interface InboxOptions {
  /** Notifications kept at most. Default 1,000. */
  max?: number;
  /** How often the emulators' records are read, ms. Default 250. */
  intervalMs?: number;
  now?: () => number;
}

export interface InboxFilter {
  /** Part of a device token (or a Web Push endpoint). */
  token?: string;
  app?: string;
  provider?: InboxProvider;
}

export function matches(item: InboxItem, filter: InboxFilter): boolean {
  if (filter.provider !== undefined && item.provider !== filter.provider) return false;
  if (filter.app !== undefined && item.app !== filter.app) return false;
  if (filter.token !== undefined && !item.tokens.some((token) => token.includes(filter.token!))) return false;
  return true;
}

export class Inbox {
  readonly max: number;
  /** Newest last; trimmed in halves (O(1) amortised). */
  readonly #items: InboxItem[] = [];
  readonly #seen = new WeakSet<object>();
  readonly #listeners = new Set<(added: readonly InboxItem[]) => void>();
  readonly #apps = new Map<string, InboxProvider>();
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  #seq = 0;
  readonly #sources: InboxSources;

  constructor(sources: InboxSources, options: InboxOptions = {}) {
    // `startEmulator()`'s getters throw for an emulator that was not started: leave it out.
    const pick = <K extends keyof InboxSources>(name: K): InboxSources[K] => {
      try {
        return sources[name];
      } catch {
        return undefined;
      }
    };
    this.#sources = { apns: pick('apns'), fcm: pick('fcm'), webpush: pick('webpush'), hms: pick('hms') };
    this.max = Math.max(1, options.max ?? 1000);
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => this.collect(), options.intervalMs ?? 250);
    this.#timer.unref();
  }

  /** The notifications kept, newest first, those matching `filter` only. */
  list(filter: InboxFilter = {}, limit = this.max): InboxItem[] {
    const out: InboxItem[] = [];
    for (let i = this.#items.length - 1; i >= 0 && out.length < limit; i--) {
      const item = this.#items[i]!;
      if (this.#items.length - i > this.max) break;
      if (matches(item, filter)) out.push(item);
    }
    return out;
  }

  /** How many are kept. */
  get size(): number {
    return Math.min(this.#items.length, this.max);
  }

  /** Every app seen so far, with its provider (for the filter's choices). */
  apps(): Array<[string, InboxProvider]> {
    return [...this.#apps];
  }

  subscribe(listener: (added: readonly InboxItem[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads what the emulators accepted since the last read (the timer calls this). */
  collect(): InboxItem[] {
    const now = this.#now();
    const added: InboxItem[] = [];
    const { apns, fcm, webpush, hms } = this.#sources;
    if (apns)
      for (const n of this.#fresh(apns.notifications)) added.push(fromApns(n, 0, n.receivedAt ?? now));
    if (fcm) for (const m of this.#fresh(fcm.messages)) added.push(fromFcm(m, fcm.projectId, 0));
    if (webpush) for (const m of this.#fresh(webpush.messages())) added.push(fromWebPush(m, 0, now));
    if (hms) for (const m of this.#fresh(hms.messages)) added.push(fromHms(m, hms.appId, 0));
    if (added.length === 0) return added;
    added.sort((a, b) => a.receivedAt - b.receivedAt);
    const kept = added.slice(-this.max);
    for (const item of kept) {
      item.seq = ++this.#seq;
      this.#items.push(item);
      if (!this.#apps.has(item.app) && this.#apps.size < 1000) this.#apps.set(item.app, item.provider);
    }
    if (this.#items.length >= this.max * 2) this.#items.splice(0, this.#items.length - this.max);
    for (const listener of this.#listeners) {
      try {
        listener(kept);
      } catch {
        // A broken page stream must not stop the others.
      }
    }
    return kept;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#listeners.clear();
  }

  /**
   * The records not seen yet: walking back from the newest to the first one seen (records
   * are appended in order). At most `max` of them are taken: older ones would be dropped anyway.
   */
  #fresh<T extends object>(records: readonly T[]): T[] {
    const out: T[] = [];
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records[i]!;
      if (this.#seen.has(record)) break;
      this.#seen.add(record);
      if (out.length < this.max) out.push(record);
    }
    return out.reverse();
  }
}

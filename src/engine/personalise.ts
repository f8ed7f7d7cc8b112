/**
 * Personalised sends: `client.send((device) => notification, devices)`. The notification is
 * computed per device, but encoding stays "once per distinct notification per provider"
 * (design contract 3) through a small cache per lane: a notification the function returns
 * again — the same object, or an equal one (same JSON) — reuses its `PreparedSend`. So a
 * function that picks one of ten prebuilt per-locale objects costs ten `prepare` calls per
 * provider, not one per device.
 *
 * Nothing here runs for a plain notification object: that path is the shared one, prepared
 * once when its lane opens, with no per-device cost.
 */
import type { Device } from '../device.js';
import { PushError } from '../errors.js';
import type { Notification } from '../notification.js';
import type { PreparedSend } from '../provider.js';

/** A notification computed for one device (a name, a locale, a count). */
export type Personalise<D extends Device = Device> = (device: D) => Notification;

/** Distinct notifications remembered per lane, each way (by identity, by content). */
export const PREPARED_CACHE_LIMIT = 1000;

/**
 * After {@link PREPARED_CACHE_LIMIT} misses in a row (a notification per device: the cache
 * only costs), one lookup in this many still goes through the cache, so repeats that come
 * back are found again; the others are prepared directly.
 */
export const PREPARED_CACHE_PROBE = 64;

/**
 * The notification for one device, or the `bad-request` PushError that fails that device
 * when the function throws or returns something that is not a notification object.
 */
export function personalised<D extends Device>(fn: Personalise<D>, device: D): Notification | PushError {
  let notification: unknown;
  try {
    notification = fn(device);
  } catch (thrown) {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return new PushError('bad-request', `the notification function threw for this device: ${message}`, {
      reason: 'NotificationFunctionThrew',
      cause: thrown,
    });
  }
  if (notification === null || typeof notification !== 'object' || Array.isArray(notification)) {
    const got =
      notification === null ? 'null' : Array.isArray(notification) ? 'an array' : typeof notification;
    return new PushError(
      'bad-request',
      `the notification function must return a notification object for each device, got ${got}`,
      { reason: 'NotificationFunctionInvalid' },
    );
  }
  if (typeof (notification as { then?: unknown }).then === 'function') {
    return new PushError(
      'bad-request',
      'the notification function returned a promise; it must return the notification itself (compute async data before the send)',
      { reason: 'NotificationFunctionInvalid' },
    );
  }
  return notification as Notification;
}

/**
 * One lane's prepared sends for the notifications its devices got. `prepare` is the lane's
 * encoder (the provider's `prepare`, or its dry-run path); its PushError is remembered too,
 * so an invalid notification shared by many devices is checked once and fails each of them.
 *
 * LRU-ish and bounded: at most {@link PREPARED_CACHE_LIMIT} entries by identity and as many
 * by content; the least recently used goes first. When nothing has repeated for as many
 * lookups, most lookups skip the cache (see {@link PREPARED_CACHE_PROBE}). A job keeps its own `PreparedSend`, so
 * eviction never affects a device already queued or waiting for a retry.
 */
export class PreparedCache {
  private readonly byIdentity = new Map<Notification, PreparedSend | PushError>();
  private readonly byContent = new Map<string, PreparedSend | PushError>();
  /** `prepare` calls made (cache misses), for tests and the benchmark. */
  prepares = 0;
  /** Lookups in a row that found nothing. */
  private misses = 0;

  constructor(private readonly prepare: (notification: Notification) => PreparedSend | PushError) {}

  get(notification: Notification): PreparedSend | PushError {
    const known = this.byIdentity.get(notification);
    if (known !== undefined) {
      if (this.byIdentity.size > 1) touch(this.byIdentity, notification, known);
      this.misses = 0;
      return known;
    }
    // Nothing repeats: serialising and remembering would double the cost of each encoding.
    if (this.misses >= PREPARED_CACHE_LIMIT && this.misses++ % PREPARED_CACHE_PROBE !== 0) {
      this.prepares++;
      return this.prepare(notification);
    }
    // An equal object built afresh for each device (one per locale, made in the function) is
    // found by its JSON. That costs about what an APNs encoding does, so it pays only when
    // notifications repeat (hence the probing above). One that cannot be serialised is not cached.
    let content: string | undefined;
    try {
      content = JSON.stringify(notification);
    } catch {
      content = undefined;
    }
    let prepared = content === undefined ? undefined : this.byContent.get(content);
    if (prepared !== undefined) {
      touch(this.byContent, content!, prepared);
      this.misses = 0;
    } else {
      if (this.misses < PREPARED_CACHE_LIMIT) this.misses++;
      this.prepares++;
      prepared = this.prepare(notification);
      if (content !== undefined) remember(this.byContent, content, prepared);
    }
    remember(this.byIdentity, notification, prepared);
    return prepared;
  }
}

function touch<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
}

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (map.size >= PREPARED_CACHE_LIMIT) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

/**
 * A batch split by encoding: one request carries one message, so a personalised batch goes
 * out as one request per distinct notification in it. A shared send's batch (every job
 * without its own `prepared`) is returned as it is.
 */
export function byPrepared<J extends { prepared?: PreparedSend }>(batch: J[]): J[][] {
  const first = batch[0]?.prepared;
  if (batch.every((job) => job.prepared === first)) return [batch];
  const groups = new Map<PreparedSend | undefined, J[]>();
  for (const job of batch) {
    const group = groups.get(job.prepared);
    if (group) group.push(job);
    else groups.set(job.prepared, [job]);
  }
  return [...groups.values()];
}

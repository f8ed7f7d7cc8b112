/**
 * Device sources: whatever the caller hands in, pulled one device at a time and only when
 * the engine has room. A synchronous iterable is pulled synchronously (no promise per device);
 * an async iterable or object-mode Readable (which is async-iterable) through its iterator.
 */
import type { Readable } from 'node:stream';
import { PushError } from '../errors.js';

/** Anything pushline can pull devices from (a {@link PullSource} is an AsyncIterable). */
export type DeviceSource<D> = Iterable<D> | AsyncIterable<D> | Readable;

export type Pulled<D> = { done: false; value: D } | { done: true };

/** Whether an answer that may be a promise is one (a thenable). */
export function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

export interface Puller<D> {
  /** A result now (sync sources) or a promise of one. */
  next(): Pulled<D> | Promise<Pulled<D>>;
  /** Stops the source early (closes a database cursor, destroys a stream). */
  close(): void;
}

/**
 * The key of a source's own puller (see {@link PullSource}). Registered, so that two copies of
 * pushline in one process (a server and a library of different versions) still recognise it.
 */
export const PULL: unique symbol = Symbol.for('pushline.pull');

/**
 * A source that answers a pull at once when it already holds the next device, and with a
 * promise only when it must wait for input: an NDJSON body parsed a chunk at a time holds a few
 * hundred devices per chunk. Read through its async iterator instead, each device costs a
 * promise and a turn of the microtask queue at every level of async generators on the way (a
 * server's request body went through four), which was a tenth of what a server spent per
 * device. Its async iterator, for everyone else, gives the same devices.
 */
export interface PullSource<D> extends AsyncIterable<D> {
  [PULL](): Puller<D>;
}

export function isPullSource<D>(source: unknown): source is PullSource<D> {
  return (
    typeof source === 'object' && source !== null && typeof (source as PullSource<D>)[PULL] === 'function'
  );
}

/**
 * A puller's devices for `for await` (a {@link PullSource}'s async iterator): each answer as a
 * promise, one after another even when next() is called again before the last answer (as an
 * async generator queues them); return() closes the puller.
 */
export function asyncIteratorOf<D>(puller: Puller<D>): AsyncIterator<D> {
  let last: Promise<unknown> = Promise.resolve();
  return {
    next: () => {
      const answer = last.then(() => puller.next()) as Promise<IteratorResult<D>>;
      last = answer.catch(() => {});
      return answer;
    },
    return: async () => {
      puller.close();
      return { done: true, value: undefined };
    },
  };
}

export function pullerFor<D>(source: DeviceSource<D>): Puller<D> {
  if (source == null || typeof source !== 'object') {
    throw notADeviceSource();
  }
  if (isPullSource<D>(source)) return source[PULL]();
  if (Symbol.asyncIterator in source) {
    const iterator = (source as AsyncIterable<D>)[Symbol.asyncIterator]();
    return {
      next: () => iterator.next() as Promise<Pulled<D>>,
      close: () => {
        void iterator.return?.()?.catch(() => {});
      },
    };
  }
  if (Symbol.iterator in source) {
    const iterator = (source as Iterable<D>)[Symbol.iterator]();
    return {
      next: () => iterator.next() as Pulled<D>,
      close: () => {
        iterator.return?.();
      },
    };
  }
  throw notADeviceSource();
}

/** What `send()` says when `devices` is not something it can read devices from. */
function notADeviceSource(): PushError {
  return new PushError(
    'bad-request',
    'pushline: devices must be an Iterable, an AsyncIterable or an object-mode Readable (an array, a generator, or a source such as fromNdjson())',
  );
}

/**
 * Device sources: whatever the caller hands in, pulled one device at a time and only when
 * the engine has room. A synchronous iterable is pulled synchronously (no promise per device);
 * an async iterable or object-mode Readable (which is async-iterable) through its iterator.
 */
import type { Readable } from 'node:stream';
import { PushError } from '../errors.js';

/** Anything pushline can pull devices from. */
export type DeviceSource<D> = Iterable<D> | AsyncIterable<D> | Readable;

export type Pulled<D> = { done: false; value: D } | { done: true };

export interface Puller<D> {
  /** A result now (sync sources) or a promise of one. */
  next(): Pulled<D> | Promise<Pulled<D>>;
  /** Stops the source early (closes a database cursor, destroys a stream). */
  close(): void;
}

export function pullerFor<D>(source: DeviceSource<D>): Puller<D> {
  if (source == null || typeof source !== 'object') {
    throw notADeviceSource();
  }
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

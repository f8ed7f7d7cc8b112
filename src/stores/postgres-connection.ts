/**
 * One place that knows the three ways a caller hands us PostgreSQL (a Pool, a Client, a
 * connection string) and how each is given back: a pooled client is released (destroyed
 * after an error), a client we opened is ended, a caller's own client is left open.
 *
 * A leased client always has an `'error'` listener. `pg` emits `'error'` on a client whose
 * connection dies (a server restart, a dropped socket), and an EventEmitter with no listener
 * throws it: the whole process would crash. A pool listens only on its idle clients, not on
 * the one lent to us, so the lease listens for as long as it holds the client and keeps the
 * error: the query in progress fails on its own (pg rejects it), and `broken` tells the
 * holder not to talk to that connection again.
 */
import type pg from 'pg';
import { pgDriver } from './drivers.js';
import type { PostgresPool, PostgresTarget } from './handles.js';

export interface Lease {
  client: pg.ClientBase;
  /** The connection's error, once it has failed: don't send it anything more (not even a close). */
  readonly broken: Error | undefined;
  /** Gives the connection back; after an error the connection is not reused. */
  release(error?: unknown): Promise<void>;
}

// Duck-typed (not `instanceof pg.Pool`): the caller's pool may come from another copy of pg.
const isPool = (target: PostgresTarget): target is PostgresPool =>
  typeof target === 'object' && 'totalCount' in target && typeof target.connect === 'function';

export async function lease(target: PostgresTarget): Promise<Lease> {
  if (typeof target === 'string') {
    const client = new (pgDriver().Client)({ connectionString: target });
    // Ours for good: a late error (after end) has nowhere else to go either.
    const watch = watchErrors(client);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    return {
      client,
      get broken() {
        return watch.error;
      },
      release: () => client.end().catch(() => {}),
    };
  }
  if (isPool(target)) {
    const client = (await target.connect()) as pg.PoolClient;
    const watch = watchErrors(client);
    return {
      client,
      get broken() {
        return watch.error;
      },
      release: async (error) => {
        watch.stop();
        // A broken connection is destroyed by the pool, never handed out again.
        const failure = error ?? watch.error;
        client.release(failure === undefined ? undefined : (failure as Error));
      },
    };
  }
  const client = target as pg.ClientBase;
  const watch = watchErrors(client);
  return {
    client,
    get broken() {
      return watch.error;
    },
    release: async () => watch.stop(),
  };
}

/** Listens for `'error'` on a client and keeps the first one. */
function watchErrors(client: pg.ClientBase): { readonly error: Error | undefined; stop(): void } {
  let first: Error | undefined;
  const onError = (error: Error) => {
    first ??= error;
  };
  client.on('error', onError);
  return {
    get error() {
      return first;
    },
    stop: () => {
      client.off('error', onError);
    },
  };
}

/**
 * One place that knows the three ways a caller hands us PostgreSQL (a Pool, a Client, a
 * connection string) and how each is given back: a pooled client is released (destroyed
 * after an error), a client we opened is ended, a caller's own client is left open.
 */
import pg from 'pg';

/** What the PostgreSQL stores accept: a `pg.Pool`, a connected `pg.Client` / pool client, or a URL. */
export type PostgresTarget = pg.Pool | pg.ClientBase | string;

export interface Lease {
  client: pg.ClientBase;
  /** Gives the connection back; after an error the connection is not reused. */
  release(error?: unknown): Promise<void>;
}

const isPool = (target: PostgresTarget): target is pg.Pool =>
  target instanceof pg.Pool ||
  (typeof target === 'object' && 'totalCount' in target && typeof target.connect === 'function');

export async function lease(target: PostgresTarget): Promise<Lease> {
  if (typeof target === 'string') {
    const client = new pg.Client({ connectionString: target });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    return { client, release: () => client.end().catch(() => {}) };
  }
  if (isPool(target)) {
    const client = await target.connect();
    return {
      client,
      release: async (error) => client.release(error === undefined ? undefined : (error as Error)),
    };
  }
  return { client: target, release: async () => {} };
}

/**
 * The shapes of the database handles the stores accept, written out here rather than taken
 * from `@types/pg` / `@types/better-sqlite3`: the published `.d.ts` files must type-check in
 * a project that has neither (the drivers are optional peer dependencies). They are the few
 * members pushline relies on, so a real `pg.Pool`, `pg.Client` or better-sqlite3 `Database`
 * fits them as it is.
 */

/** A connected PostgreSQL client (a `pg.Client`, or a client lent by a `pg.Pool`). */
export interface PostgresClient {
  query(...args: never[]): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/** A PostgreSQL pool (a `pg.Pool`). */
export interface PostgresPool {
  readonly totalCount: number;
  connect(): Promise<PostgresClient & { release(error?: Error | boolean): void }>;
  end(): Promise<void>;
}

/** An open SQLite database (a better-sqlite3 `Database`). */
export interface SqliteDatabase {
  readonly name: string;
  readonly memory: boolean;
  prepare(source: string): unknown;
  close(): unknown;
}

/** What the PostgreSQL stores accept: a `pg.Pool`, a connected `pg.Client` / pool client, or a URL. */
export type PostgresTarget = PostgresPool | PostgresClient | string;

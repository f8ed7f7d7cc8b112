/**
 * Applies dead-token feedback to a PostgreSQL table: deletes the rows, or marks them. Each
 * batch is one transaction with one statement over an array of keys (`= ANY($1)` / `unnest`),
 * so a batch of 500 costs one round trip, not 500.
 */
import type pg from 'pg';
import { pgDriver } from './drivers.js';
import { StoreError } from './errors.js';
import {
  BatchingSink,
  checkSinkOptions,
  type DatabaseSinkOptions,
  type FeedbackSink,
  type Invalidation,
  type SinkBackend,
} from './feedback-sink.js';
import type { PostgresTarget } from './handles.js';
import { lease } from './postgres-connection.js';
import { quoteIdentifier } from './sql.js';

export interface PostgresFeedbackSinkOptions extends DatabaseSinkOptions {
  /**
   * How long a batch waits for a row lock before it gives up and is retried (ms). Default 5,000:
   * a sink stuck behind someone's long transaction retries and then reports, rather than hanging.
   */
  lockTimeoutMs?: number;
}

/**
 * SQLSTATE classes worth a retry: connection exception (08), transaction rollback (40:
 * serialization failure, deadlock), insufficient resources (53), object not in prerequisite
 * state (55: lock not available), operator intervention (57: shutdown), system error (58).
 * An error without a SQLSTATE is a network one (reset, refused) and also transient.
 */
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '55', '57', '58']);

/**
 * Opens a sink on a PostgreSQL table. Takes a `pg.Pool` (a client is borrowed per batch), a
 * connection string (the sink keeps one connection, ended by `close()`), or a connected
 * client (used, left open). The key column's type is read from the catalog on the first
 * batch, so keys are compared as that type and its index is used.
 */
export function postgresFeedbackSink(
  target: PostgresTarget,
  options: PostgresFeedbackSinkOptions,
): FeedbackSink {
  checkSinkOptions(options, 'postgresFeedbackSink');
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  if (!Number.isInteger(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new StoreError('store-config', `postgresFeedbackSink: lockTimeoutMs must be a whole number ≥ 0`);
  }
  const owned = typeof target === 'string';
  let pool: PostgresTarget = target;
  if (owned) {
    const ownPool = new (pgDriver().Pool)({ connectionString: target, max: 1 });
    // An idle connection that dies (a server restart) is dropped by the pool, which then
    // emits 'error': unheard, that would crash the process. The next batch connects afresh,
    // and a failure there is retried and reported like any other.
    ownPool.on('error', () => {});
    pool = ownPool;
  }
  return new BatchingSink(new PostgresBackend(pool, owned, options, lockTimeoutMs), options);
}

class PostgresBackend implements SinkBackend {
  readonly target: string;
  private statement: Promise<string> | undefined;

  constructor(
    private readonly db: PostgresTarget,
    private readonly owned: boolean,
    private readonly options: PostgresFeedbackSinkOptions,
    private readonly lockTimeoutMs: number,
  ) {
    this.target = `postgres table ${options.table}`;
  }

  /** Reads the catalog now: a missing table or column is reported before any feedback. */
  async check(): Promise<void> {
    const connection = await lease(this.db);
    let broken: unknown;
    try {
      await this.statementFor(connection.client);
    } catch (error) {
      broken = error instanceof StoreError ? undefined : error;
      throw error;
    } finally {
      await connection.release(broken);
    }
  }

  private statementFor(client: pg.ClientBase): Promise<string> {
    this.statement ??= this.buildStatement(client).catch((error: unknown) => {
      this.statement = undefined; // a lost connection must not stick as "no such table"
      throw error;
    });
    return this.statement;
  }

  async apply(batch: Invalidation[]): Promise<number> {
    const connection = await lease(this.db);
    let broken: unknown;
    try {
      const client = connection.client;
      const sql = await this.statementFor(client);
      const keys = batch.map((item) => item.key);
      await client.query('BEGIN');
      try {
        // SET LOCAL ends with the transaction: the caller's connection keeps its own setting.
        await client.query(`SET LOCAL lock_timeout = ${this.lockTimeoutMs}`);
        const result =
          this.options.mode === 'delete'
            ? await client.query(sql, [keys])
            : await client.query(sql, [keys, batch.map((item) => item.at)]);
        await client.query('COMMIT');
        return result.rowCount ?? 0;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
        throw error;
      }
    } catch (error) {
      broken ??= sqlState(error) === undefined ? error : undefined;
      throw error;
    } finally {
      await connection.release(broken);
    }
  }

  /** Reads the key column's type and checks the columns, then builds the batch statement. */
  private async buildStatement(client: pg.ClientBase): Promise<string> {
    const { table, keyColumn, markColumn, mode } = this.options;
    const quotedTable = quoteIdentifier(table);
    let columns: Map<string, string>;
    try {
      const result = await client.query<{ name: string; type: string }>(
        `SELECT attname AS name, format_type(atttypid, atttypmod) AS type
           FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
        [quotedTable],
      );
      columns = new Map(result.rows.map((row) => [row.name, row.type]));
    } catch (error) {
      // 42P01 undefined_table; 3F000 invalid_schema_name (the schema of schema.table does not exist).
      if (sqlState(error) === '42P01' || sqlState(error) === '3F000') {
        throw new StoreError('store-config', `postgresFeedbackSink: there is no table ${table}`, {
          cause: error,
        });
      }
      throw error;
    }
    const needed = [keyColumn, ...(mode === 'mark' ? [markColumn!] : [])];
    for (const column of needed) {
      if (!columns.has(column)) {
        throw new StoreError(
          'store-config',
          `postgresFeedbackSink: table ${table} has no column '${column}' (it has ${[...columns.keys()].join(', ')})`,
        );
      }
    }
    const key = quoteIdentifier(keyColumn);
    const keyArray = `$1::${columns.get(keyColumn)}[]`;
    if (mode === 'delete') return `DELETE FROM ${quotedTable} WHERE ${key} = ANY(${keyArray})`;
    const mark = quoteIdentifier(markColumn!);
    // Only unmarked rows: marking twice keeps the first (true) invalidation time.
    return (
      `UPDATE ${quotedTable} AS t SET ${mark} = v.at ` +
      `FROM unnest(${keyArray}, $2::timestamptz[]) AS v(key, at) ` +
      `WHERE t.${key} = v.key AND t.${mark} IS NULL`
    );
  }

  isPermanent(error: unknown): boolean {
    if (error instanceof StoreError) return true;
    const state = sqlState(error);
    return state !== undefined && !TRANSIENT_CLASSES.has(state.slice(0, 2));
  }

  hint(error: unknown): string | undefined {
    if (sqlState(error) === '55P03') return 'another transaction holds a lock on these rows';
    return undefined;
  }

  async release(): Promise<void> {
    if (this.owned) await (this.db as pg.Pool).end();
  }
}

function sqlState(error: unknown): string | undefined {
  // Only the server's own errors carry a SQLSTATE; Node's (ECONNRESET, EPIPE) are network ones.
  return error instanceof pgDriver().DatabaseError ? error.code : undefined;
}

/**
 * Devices from a SQLite query, streamed row by row from a cursor (`stmt.iterate()`): memory
 * stays the same whatever the row count, because only the row being handed out is held.
 */
import type Database from 'better-sqlite3';
import type { Device } from '../device.js';
import { type RowMappingOptions, rowMapper } from './columns.js';
import { sqliteDriver } from './drivers.js';
import { StoreError } from './errors.js';
import type { SqliteDatabase } from './handles.js';
import { malformedRow } from './malformed.js';
import { type RowLimitOptions, type RowLimits, rowLimits, rowProblem } from './row-limits.js';

export interface SqliteDevicesOptions extends RowMappingOptions, RowLimitOptions {
  /** A SELECT returning a token column, a platform column (unless `platform` is given) and any extras. */
  query: string;
  /** Positional (`?`) parameters as an array, or named (`@name`, `:name`, `$name`) ones as an object. */
  params?: readonly unknown[] | Record<string, unknown>;
  /**
   * Rows handed out between two yields to the event loop. better-sqlite3 reads synchronously,
   * so without these pauses a long cursor would starve timers and sockets. Default 1000.
   */
  chunkSize?: number;
}

/**
 * Streams devices from SQLite. Pass a path (opened read-only for the read and closed after
 * it) or an open `Database` (used as it is and left open).
 *
 * While the cursor is open its connection cannot run other statements, so a feedback sink
 * writing to the same file needs its own connection: give the sink the path, not this
 * `Database`. Every iteration runs the query afresh.
 */
export function sqliteDevices(
  db: SqliteDatabase | string,
  options: SqliteDevicesOptions,
): AsyncIterable<Device> {
  if (!options || typeof options.query !== 'string' || options.query.trim() === '') {
    throw new StoreError('store-config', "sqliteDevices(db, { query: 'SELECT …' }): query is missing");
  }
  const chunkSize = options.chunkSize ?? 1000;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new StoreError(
      'store-config',
      `sqliteDevices: chunkSize must be a whole number ≥ 1, got ${chunkSize}`,
    );
  }
  const limits = rowLimits(options.limits, 'sqliteDevices');
  return { [Symbol.asyncIterator]: () => readRows(db, options, chunkSize, limits) };
}

async function* readRows(
  target: SqliteDatabase | string,
  options: SqliteDevicesOptions,
  chunkSize: number,
  limits: Required<RowLimits>,
): AsyncGenerator<Device> {
  const owned = typeof target === 'string';
  const Driver = owned ? sqliteDriver() : undefined;
  let db: Database.Database;
  try {
    db = Driver
      ? new Driver(target as string, { readonly: true, fileMustExist: true })
      : (target as Database.Database);
  } catch (error) {
    throw new StoreError(
      'store-read',
      `sqlite: cannot open ${target as string}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  let rows: IterableIterator<unknown> | undefined;
  try {
    const statement = prepare(db, options.query);
    const toDevice = rowMapper(
      statement.columns().map((column) => column.name),
      options,
      'the sqlite query',
    );
    const params = options.params;
    try {
      rows =
        params === undefined
          ? statement.iterate()
          : Array.isArray(params)
            ? statement.iterate(...params)
            : statement.iterate(params);
    } catch (error) {
      throw new StoreError(
        'store-config',
        `sqlite: the query's params do not fit: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    let read = 0;
    while (true) {
      let next: IteratorResult<unknown>;
      try {
        next = rows.next();
      } catch (error) {
        throw new StoreError(
          'store-read',
          `sqlite: reading devices failed after ${read} rows: ${(error as Error).message}`,
          { cause: error },
        );
      }
      if (next.done) break;
      read++;
      const device = toDevice(next.value as Record<string, unknown>);
      const problem = rowProblem(device, limits) ?? notText(device);
      yield problem === undefined ? device : malformedRow('the sqlite query', read, problem, device);
      if (read % chunkSize === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    // Ends the cursor whether the read finished, failed, or the consumer stopped early.
    rows?.return?.();
    if (owned) db.close();
  }
}

/**
 * SQLite stores whatever bytes it is given, typed TEXT or not: a token that is a BLOB, or TEXT
 * that is not UTF-8 (which reaches us with U+FFFD in place of the bad bytes), is not a token,
 * and sending it would earn an `invalid-token` answer, i.e. the row deleted for the wrong reason.
 */
function notText(device: Device): string | undefined {
  for (const field of ['token', 'platform'] as const) {
    const value: unknown = device[field];
    if (ArrayBuffer.isView(value)) return `the ${field} is binary data (a BLOB), not text`;
    if (typeof value === 'string' && value.includes('\uFFFD')) {
      return `the ${field} is not valid UTF-8 text (it reads as U+FFFD where the database holds other bytes)`;
    }
  }
  return undefined;
}

function prepare(db: Database.Database, query: string): Database.Statement {
  let statement: Database.Statement;
  try {
    statement = db.prepare(query);
  } catch (error) {
    // Preparing reads the schema, so what is about the file at this moment, not the query
    // (another connection holding a lock past the busy timeout, a failing disk), surfaces here
    // too: that is a read failure (exit 74), not a query that does not compile.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|NOMEM|FULL|PROTOCOL)/.test(code)) {
      throw new StoreError('store-read', `sqlite: cannot read the database: ${(error as Error).message}`, {
        cause: error,
      });
    }
    throw new StoreError('store-config', `sqlite: the query does not compile: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!statement.reader) {
    throw new StoreError(
      'store-config',
      'sqlite: the query returns no rows; give a SELECT (or a statement with RETURNING) that returns the devices',
    );
  }
  return statement;
}

/**
 * Applies dead-token feedback to a SQLite table: deletes the rows, or marks them.
 */
import type Database from 'better-sqlite3';
import { sqliteDriver } from './drivers.js';
import { StoreError } from './errors.js';
import {
  BatchingSink,
  checkSinkOptions,
  type DatabaseSinkOptions,
  type FeedbackSink,
  type Invalidation,
  type SinkBackend,
} from './feedback-sink.js';
import type { SqliteDatabase } from './handles.js';
import { quoteIdentifier } from './sql.js';

export interface SqliteFeedbackSinkOptions extends DatabaseSinkOptions {
  /** How `mark` stores the time: ISO-8601 text (default), or Unix milliseconds / seconds. */
  markFormat?: 'iso' | 'unix-ms' | 'unix-s';
  /**
   * Switch a file database to WAL journaling (default true). The device source keeps a read
   * cursor open for the whole send; in WAL mode writers go on beside it, while the default
   * rollback journal would make every commit wait for the cursor and fail as "database is locked".
   * WAL is a persistent setting of the file.
   */
  wal?: boolean;
  /** How long one statement waits on a lock before the batch is retried (ms). Default 100 when the sink opens the file. */
  busyTimeoutMs?: number;
}

// SQLite's transient conditions: another connection holds a lock, or I/O hiccuped.
const TRANSIENT = /^SQLITE_(BUSY|LOCKED|IOERR|PROTOCOL|FULL)/;

/**
 * Opens a sink on a SQLite table. Give it a path (opened and closed by the sink) or an open
 * `Database` (left open); not the `Database` the device source is reading through, since a
 * connection with an open cursor cannot write.
 */
export function sqliteFeedbackSink(
  db: SqliteDatabase | string,
  options: SqliteFeedbackSinkOptions,
): FeedbackSink {
  checkSinkOptions(options, 'sqliteFeedbackSink');
  const owned = typeof db === 'string';
  const Driver = owned ? sqliteDriver() : undefined;
  let connection: Database.Database;
  try {
    connection = Driver
      ? new Driver(db as string, { fileMustExist: true, timeout: options.busyTimeoutMs ?? 100 })
      : (db as Database.Database);
  } catch (error) {
    throw new StoreError(
      'store-config',
      `sqliteFeedbackSink: cannot open ${db as string}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    if (!owned && options.busyTimeoutMs !== undefined)
      connection.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
    checkTable(connection, options);
    if (options.wal !== false && !connection.memory) useWal(connection);
    return new BatchingSink(new SqliteBackend(connection, owned, options), options);
  } catch (error) {
    if (owned) connection.close();
    throw error;
  }
}

function checkTable(db: Database.Database, options: SqliteFeedbackSinkOptions): void {
  const [schema, table] = options.table.includes('.') ? options.table.split('.', 2) : ['main', options.table];
  const columns = db
    .prepare(`SELECT name FROM pragma_table_info(?, ?)`)
    .pluck()
    .all(table, schema) as string[];
  if (columns.length === 0) {
    throw new StoreError(
      'store-config',
      `sqliteFeedbackSink: there is no table ${options.table} in ${db.name}`,
    );
  }
  const needed = [options.keyColumn, ...(options.mode === 'mark' ? [options.markColumn!] : [])];
  for (const column of needed) {
    if (!columns.includes(column)) {
      throw new StoreError(
        'store-config',
        `sqliteFeedbackSink: table ${options.table} has no column '${column}' (it has ${columns.join(', ')})`,
      );
    }
  }
}

function useWal(db: Database.Database): void {
  if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal') return;
  try {
    db.pragma('journal_mode = WAL');
  } catch (error) {
    throw new StoreError(
      'store-config',
      `sqliteFeedbackSink: cannot switch ${db.name} to WAL (${(error as Error).message}); ` +
        'create the sink before the device source starts reading, or pass wal: false',
      { cause: error },
    );
  }
}

class SqliteBackend implements SinkBackend {
  readonly target: string;
  private readonly applyBatch: (batch: Invalidation[]) => number;

  constructor(
    private readonly db: Database.Database,
    private readonly owned: boolean,
    options: SqliteFeedbackSinkOptions,
  ) {
    this.target = `sqlite table ${options.table}`;
    const table = quoteIdentifier(options.table);
    const key = quoteIdentifier(options.keyColumn);
    if (options.mode === 'delete') {
      const remove = db.prepare(`DELETE FROM ${table} WHERE ${key} = ?`);
      this.applyBatch = db.transaction((batch: Invalidation[]) => {
        let changed = 0;
        for (const { key: value } of batch) changed += remove.run(value).changes;
        return changed;
      });
    } else {
      const column = quoteIdentifier(options.markColumn!);
      // Only unmarked rows: marking twice keeps the first (true) invalidation time.
      const mark = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${key} = ? AND ${column} IS NULL`);
      const format = options.markFormat ?? 'iso';
      const stamp = (at: Date) =>
        format === 'iso'
          ? at.toISOString()
          : format === 'unix-ms'
            ? at.getTime()
            : Math.floor(at.getTime() / 1000);
      this.applyBatch = db.transaction((batch: Invalidation[]) => {
        let changed = 0;
        for (const { key: value, at } of batch) changed += mark.run(stamp(at), value).changes;
        return changed;
      });
    }
  }

  async apply(batch: Invalidation[]): Promise<number> {
    return this.applyBatch(batch);
  }

  isPermanent(error: unknown): boolean {
    const code = (error as { code?: unknown })?.code;
    return !(typeof code === 'string' && TRANSIENT.test(code));
  }

  hint(error: unknown): string | undefined {
    const message = String((error as Error)?.message ?? '');
    if (message.includes('busy executing a query')) {
      return 'the device source is reading through this same connection: give the sink its own, e.g. the path';
    }
    if (/SQLITE_(BUSY|LOCKED)/.test(String((error as { code?: unknown })?.code))) {
      return 'another connection holds a lock; a device source reading the same file needs WAL mode';
    }
    return undefined;
  }

  async release(): Promise<void> {
    if (this.owned && this.db.open) this.db.close();
  }
}

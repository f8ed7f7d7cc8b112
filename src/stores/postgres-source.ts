/**
 * Devices from a PostgreSQL query through a server-side cursor (pg-cursor): the server keeps
 * the result, we fetch `batchSize` rows at a time, so memory is one batch whatever the row
 * count.
 *
 * Why pg-cursor and not pg-query-stream: pg-query-stream is a Readable wrapped around this
 * same cursor. Reading the cursor directly gives an explicit `read(n)` / `close()` that map
 * one to one onto an async generator's next/return, without a stream's own buffering and
 * destroy semantics in between, and the field list of the first batch lets us check the
 * columns before the first device is handed out.
 */
import type pg from 'pg';
import type Cursor from 'pg-cursor';
import type { Device } from '../device.js';
import { type RowMappingOptions, rowMapper } from './columns.js';
import { pgCursor } from './drivers.js';
import { StoreError } from './errors.js';
import type { PostgresTarget } from './handles.js';
import { malformedRow } from './malformed.js';
import { type Lease, lease } from './postgres-connection.js';
import { type RowLimitOptions, type RowLimits, rowLimits, rowProblem } from './row-limits.js';

export interface PostgresDevicesOptions extends RowMappingOptions, RowLimitOptions {
  /** A SELECT returning a token column, a platform column (unless `platform` is given) and any extras. */
  query: string;
  /** `$1`, `$2`, … parameters. */
  params?: readonly unknown[];
  /** Rows fetched per round trip. Default 1000. */
  batchSize?: number;
}

/**
 * Streams devices from PostgreSQL. Takes a `pg.Pool` (a client is borrowed for the read and
 * released after it), a connection string (a connection is opened and ended) or a connected
 * client (used, and left open). The connection is given back when the read ends, when the
 * consumer stops early, and on error. Every iteration runs the query afresh.
 */
export function postgresDevices(
  target: PostgresTarget,
  options: PostgresDevicesOptions,
): AsyncIterable<Device> {
  if (!options || typeof options.query !== 'string' || options.query.trim() === '') {
    throw new StoreError('store-config', "postgresDevices(db, { query: 'SELECT …' }): query is missing");
  }
  const batchSize = options.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new StoreError(
      'store-config',
      `postgresDevices: batchSize must be a whole number ≥ 1, got ${batchSize}`,
    );
  }
  const limits = rowLimits(options.limits, 'postgresDevices');
  return { [Symbol.asyncIterator]: () => readRows(target, options, batchSize, limits) };
}

interface Batch {
  rows: Record<string, unknown>[];
  fields: readonly { name: string }[] | undefined;
}

function readBatch(cursor: Cursor, size: number): Promise<Batch> {
  return new Promise((resolve, reject) => {
    cursor.read(size, (error, rows, result) => {
      if (error) reject(error);
      else
        resolve({
          rows: rows as Record<string, unknown>[],
          fields: (result as pg.QueryResult | undefined)?.fields,
        });
    });
  });
}

async function* readRows(
  target: PostgresTarget,
  options: PostgresDevicesOptions,
  batchSize: number,
  limits: Required<RowLimits>,
): AsyncGenerator<Device> {
  let connection: Lease;
  try {
    connection = await lease(target);
  } catch (error) {
    throw new StoreError('store-read', `postgres: cannot connect: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let failure: unknown;
  let cursor: Cursor | undefined;
  let read = 0;
  let readFailed = false;
  try {
    cursor = connection.client.query(
      new (pgCursor())(options.query, options.params as unknown[] | undefined),
    );
    let toDevice: ((row: Record<string, unknown>) => Device) | undefined;
    while (true) {
      let batch: Batch;
      try {
        batch = await readBatch(cursor, batchSize);
      } catch (error) {
        readFailed = true;
        // SQLSTATE class 42 is "syntax error or access rule violation": the query, not the server.
        const sqlState = (error as { code?: unknown }).code;
        const code =
          typeof sqlState === 'string' && sqlState.startsWith('42') ? 'store-config' : 'store-read';
        const what =
          code === 'store-config' ? 'the query failed' : `reading devices failed after ${read} rows`;
        throw new StoreError(code, `postgres: ${what}: ${(error as Error).message}`, { cause: error });
      }
      toDevice ??= rowMapper(
        (batch.fields ?? []).map((field) => field.name),
        options,
        'the postgres query',
      );
      if (batch.rows.length === 0) break;
      for (const row of batch.rows) {
        read++;
        // A jsonb column can hold a document nested thousands deep: it fails alone (row-limits.ts).
        const device = toDevice(row);
        const problem = rowProblem(device, limits);
        yield problem === undefined ? device : malformedRow('the postgres query', read, problem, device);
      }
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // A cursor left open holds its portal: close it before the connection goes back. After a
    // read error the connection is not trusted again (a pool destroys it instead of reusing it).
    // A connection that died while the consumer held a row (a server restart between two
    // batches) is not asked to close anything: it would wait forever for the server's answer.
    let broken = readFailed || connection.broken !== undefined;
    if (connection.broken) failure ??= connection.broken;
    if (cursor && !broken) {
      try {
        await cursor.close();
      } catch (error) {
        broken = true;
        failure ??= error;
      }
    }
    await connection.release(broken ? failure : undefined);
  }
}

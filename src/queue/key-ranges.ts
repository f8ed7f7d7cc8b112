/**
 * Key ranges of a `source` send (issue #15, point 2): the worker that runs range n reads
 *
 *   SELECT * FROM (<query>) AS q WHERE q."<key>" > $after ORDER BY q."<key>" LIMIT <size>
 *
 * and, before sending, keeps the page in Redis and enqueues range n+1 after the page's last
 * key. Reading is a chain — one page at a time, each by whichever worker took that range — and
 * sending is parallel: while one worker sends range n, another already reads n+1. No process
 * streams every row, no planner walks the table first, and a re-run range sends exactly the
 * devices first read (the kept page), even if the table changed since.
 *
 * Why not a planner splitting the key space up front: it would read every key (10M rows in one
 * place, what the issue rules out) or guess ranges from min/max, which gives empty or huge
 * chunks on sparse keys. The chain costs one indexed query per 1,000 devices.
 */
import type { Device } from '../device.js';
import { rowMapper } from '../stores/columns.js';
import { quoteIdentifier } from '../stores/sql.js';

/** Runs one query for a worker; `placeholder(n)` spells the n-th parameter (`$1` or `?`). */
export interface KeyRangeReader {
  query(sql: string, params: readonly unknown[]): Promise<Record<string, unknown>[]>;
  placeholder(n: number): string;
}

export interface KeyRangePage {
  devices: Device[];
  /** The last key read when the page was full (there may be more); undefined: the end. */
  last?: string | number;
}

/** Reads one key range of at most `size` rows after `after` (null: from the start). */
export async function readKeyRange(
  reader: KeyRangeReader,
  source: { query: string; keyColumn: string },
  after: string | number | null,
  size: number,
): Promise<KeyRangePage> {
  const key = `q.${quoteIdentifier(source.keyColumn)}`;
  const inner = source.query.trim().replace(/;+\s*$/, '');
  const where = after === null ? '' : ` WHERE ${key} > ${reader.placeholder(1)}`;
  const sql = `SELECT * FROM (${inner}) AS q${where} ORDER BY ${key} LIMIT ${size}`;
  const rows = await reader.query(sql, after === null ? [] : [after]);
  if (rows.length === 0) return { devices: [] };
  const map = rowMapper(Object.keys(rows[0]!), {}, `the query of this send`);
  const devices = rows.map(map);
  const lastKey = rows[rows.length - 1]![source.keyColumn];
  const last = typeof lastKey === 'bigint' ? lastKey.toString() : (lastKey as string | number);
  // BigInt row ids would not survive JSON in the kept page: keep them as digits.
  for (const device of devices) {
    for (const [name, value] of Object.entries(device))
      if (typeof value === 'bigint') device[name] = value.toString();
  }
  return rows.length < size ? { devices } : { devices, last };
}

/** A reader on a SQLite file (opened read-only) or an open better-sqlite3 database. */
export async function sqliteKeyRanges(
  target: string | import('better-sqlite3').Database,
): Promise<KeyRangeReader> {
  const { default: Database } = await import('better-sqlite3');
  const db =
    typeof target === 'string' ? new Database(target, { readonly: true, fileMustExist: true }) : target;
  db.defaultSafeIntegers(false);
  return {
    placeholder: () => '?',
    query: async (sql, params) => db.prepare(sql).all(...params) as Record<string, unknown>[],
  };
}

/** A reader on PostgreSQL: a `pg.Pool` (or a URL, for which one small pool is made). */
export async function postgresKeyRanges(target: string | import('pg').Pool): Promise<KeyRangeReader> {
  const { default: pg } = await import('pg');
  const pool = typeof target === 'string' ? new pg.Pool({ connectionString: target, max: 2 }) : target;
  return {
    placeholder: (n) => `$${n}`,
    query: async (sql, params) => (await pool.query(sql, [...params])).rows as Record<string, unknown>[],
  };
}

/**
 * The database and CSV drivers, loaded at first use. They are optional peer dependencies: a
 * program that reads NDJSON or sends pushes never installs or loads native SQLite or
 * PostgreSQL. `createRequire` (all four ship CommonJS) rather than `import()` keeps the
 * stores' synchronous factories (`sqliteFeedbackSink`, `csvDevices`) synchronous.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type * as CsvParse from 'csv-parse';
import type Pg from 'pg';
import type PgCursor from 'pg-cursor';
import { StoreError } from './errors.js';

const require = createRequire(import.meta.url);

function load<T>(name: string, install: string, usedBy: string): T {
  try {
    return require(name) as T;
  } catch (error) {
    const missing =
      (error as { code?: unknown }).code === 'MODULE_NOT_FOUND' &&
      (error as Error).message.includes(`'${name}'`);
    if (!missing) throw error;
    throw new StoreError('store-config', `${usedBy} needs the ${name} package: npm install ${install}`, {
      cause: error,
    });
  }
}

/** better-sqlite3, for the SQLite source and sink. */
export const sqliteDriver = (): typeof BetterSqlite3 =>
  load('better-sqlite3', 'better-sqlite3', 'the SQLite store');

/** pg, for the PostgreSQL source and sink. */
export const pgDriver = (): typeof Pg => load('pg', 'pg pg-cursor', 'the PostgreSQL store');

/** pg-cursor, for the PostgreSQL source. */
export const pgCursor = (): typeof PgCursor => load('pg-cursor', 'pg pg-cursor', 'the PostgreSQL store');

/** csv-parse, for the CSV source. */
export const csvParser = (): typeof CsvParse => load('csv-parse', 'csv-parse', 'the CSV source');

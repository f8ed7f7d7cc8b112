/**
 * From a source spec string (what a command line or a config file holds) to a device source:
 *
 *   sqlite:path/to.db              SQLite file (needs a query)
 *   postgres://… | postgresql://…  PostgreSQL connection string (needs a query)
 *   devices.ndjson | devices.jsonl NDJSON file
 *   devices.csv                    CSV file with a header line
 *   -                              NDJSON on stdin
 */
import type { Readable } from 'node:stream';
import type { Device } from '../device.js';
import type { RowMappingOptions } from './columns.js';
import { csvDevices } from './csv-source.js';
import { StoreError } from './errors.js';
import { ndjsonDevices } from './ndjson-source.js';
import { postgresDevices } from './postgres-source.js';
import { sqliteDevices } from './sqlite-source.js';

export interface OpenDeviceSourceOptions extends RowMappingOptions {
  /** The SELECT for a database source. */
  query?: string;
  /** Parameters of that query. */
  params?: readonly unknown[];
  /** Rows per round trip (PostgreSQL) or between event-loop yields (SQLite). */
  batchSize?: number;
  /** What `-` reads. Default `process.stdin`. */
  stdin?: Readable;
}

export const SUPPORTED_SOURCES =
  "sqlite:<path>, postgres://… or postgresql://…, a .ndjson / .jsonl / .csv file, or '-' for NDJSON on stdin";

/** Opens the device source a spec names; throws a `store-config` StoreError for an unknown one. */
export function openDeviceSource(spec: string, options: OpenDeviceSourceOptions = {}): AsyncIterable<Device> {
  if (typeof spec !== 'string' || spec.trim() === '') {
    throw new StoreError('store-config', `no device source given; use ${SUPPORTED_SOURCES}`);
  }
  if (spec === '-') return ndjsonDevices(options.stdin ?? process.stdin);

  const lower = spec.toLowerCase();
  if (lower.startsWith('sqlite:')) {
    // sqlite:path, and the URL-like sqlite:///absolute/path.
    let path = spec.slice('sqlite:'.length);
    if (path.startsWith('///')) path = path.slice(2);
    if (path === '') throw new StoreError('store-config', `'${spec}' names no file: use sqlite:path/to.db`);
    return sqliteDevices(path, {
      ...mapping(options),
      query: needQuery(options, 'a sqlite source'),
      ...(options.params ? { params: options.params } : {}),
      ...(options.batchSize ? { chunkSize: options.batchSize } : {}),
    });
  }
  if (lower.startsWith('postgres://') || lower.startsWith('postgresql://')) {
    return postgresDevices(spec, {
      ...mapping(options),
      query: needQuery(options, 'a postgres source'),
      ...(options.params ? { params: options.params } : {}),
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(lower)) {
    throw new StoreError(
      'store-config',
      `unknown device source scheme in '${spec}'; use ${SUPPORTED_SOURCES}`,
    );
  }
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl')) return ndjsonDevices(spec);
  if (lower.endsWith('.csv')) return csvDevices(spec, mapping(options));
  throw new StoreError(
    'store-config',
    `cannot tell what kind of device source '${spec}' is; use ${SUPPORTED_SOURCES}`,
  );
}

function mapping(options: OpenDeviceSourceOptions): RowMappingOptions {
  return {
    ...(options.columns ? { columns: options.columns } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
  };
}

function needQuery(options: OpenDeviceSourceOptions, what: string): string {
  if (typeof options.query === 'string' && options.query.trim() !== '') return options.query;
  throw new StoreError(
    'store-config',
    `${what} needs a query, e.g. query: 'SELECT id, platform, token FROM devices'`,
  );
}

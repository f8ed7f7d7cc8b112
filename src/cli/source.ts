/**
 * The `--devices` side of `pushline send`: opening the source a spec names (with the errors
 * a person can act on), the feedback sink for `--apply-feedback` on the same database, and a
 * background count of the devices so the progress bar can show an ETA.
 */
import { createReadStream, existsSync } from 'node:fs';
import type { Device, Platform } from '../device.js';
import { PLATFORMS } from '../device.js';
import { maskUrl, redactText, urlHasSecret } from '../redact.js';
import { pgDriver, sqliteDriver } from '../stores/drivers.js';
import { StoreError } from '../stores/errors.js';
import type { FeedbackSink } from '../stores/feedback-sink.js';
import { openDeviceSource } from '../stores/open-source.js';
import { postgresFeedbackSink } from '../stores/postgres-sink.js';
import { checkTableName, TABLE_NAME_FORMS } from '../stores/sql.js';
import { sqliteFeedbackSink } from '../stores/sqlite-sink.js';
import { inCliTerms } from './cli-terms.js';
import { CliError, EXIT } from './exit-codes.js';
import { missingPackage } from './report.js';

/** A missing driver is an install to make (78); any other store error here is the command line's (64). */
const exitFor = (error: StoreError) => (missingPackage(error) ? EXIT.config : EXIT.usage);

/** What kind of store a `--devices` spec names. */
export type SourceKind =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string }
  | { kind: 'file'; path: string; format: 'ndjson' | 'csv' }
  | { kind: 'stdin' }
  | { kind: 'unknown' };

export function sourceKind(spec: string): SourceKind {
  const lower = spec.toLowerCase();
  if (spec === '-') return { kind: 'stdin' };
  if (lower.startsWith('sqlite:')) {
    let path = spec.slice('sqlite:'.length);
    if (path.startsWith('///')) path = path.slice(2);
    return { kind: 'sqlite', path };
  }
  if (lower.startsWith('postgres://') || lower.startsWith('postgresql://'))
    return { kind: 'postgres', url: spec };
  if (lower.endsWith('.ndjson') || lower.endsWith('.jsonl'))
    return { kind: 'file', path: spec, format: 'ndjson' };
  if (lower.endsWith('.csv')) return { kind: 'file', path: spec, format: 'csv' };
  return { kind: 'unknown' };
}

export interface SourceFlags {
  devices: string;
  query?: string;
  tokenColumn?: string;
  platformColumn?: string;
  platform?: string;
}

/**
 * A PostgreSQL URL without its password, for messages: the userinfo's and any
 * `?password=` / `sslpassword=` query parameter's.
 */
export function redactUrl(spec: string): string {
  return maskUrl(spec);
}

/** Where `--devices-env` and `--devices` come from. */
export interface DevicesFlags {
  devices?: string;
  devicesEnv?: string;
}

/**
 * The device source spec: `--devices`, or the environment variable named by `--devices-env`
 * (so a database password stays out of the process's argv, which every local user can read
 * in `ps` and `/proc`, and out of shell history). A password on the command line still works
 * but earns a warning on stderr; Node cannot reliably erase it from /proc/PID/cmdline.
 */
export function devicesSpec(
  flags: DevicesFlags,
  env: NodeJS.ProcessEnv,
  stderr: NodeJS.WritableStream,
): string {
  if (flags.devices !== undefined && flags.devicesEnv !== undefined) {
    throw new CliError('give --devices or --devices-env, not both', EXIT.usage);
  }
  if (flags.devicesEnv !== undefined) {
    const name = flags.devicesEnv;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new CliError(
        '--devices-env takes the NAME of an environment variable holding the source (e.g. --devices-env PUSHLINE_DEVICES), not the source itself',
        EXIT.usage,
      );
    }
    const value = env[name];
    if (value === undefined || value === '') {
      throw new CliError(
        `--devices-env names the environment variable ${name}, which is not set: export it (e.g. ${name}='postgres://user:password@host/db') before running pushline`,
        EXIT.usage,
      );
    }
    return value;
  }
  if (!flags.devices) {
    throw new CliError(
      'give the devices with --devices: sqlite:path (with --query), postgres://… (with --query), a .ndjson/.jsonl/.csv file, or - for NDJSON on stdin (or --devices-env NAME)',
      EXIT.usage,
    );
  }
  if (urlHasSecret(flags.devices)) {
    stderr.write(
      'pushline: warning: --devices carries a password on the command line, where any local user can read it (ps, /proc) and your shell history keeps it; ' +
        'put the URL in an environment variable and pass --devices-env NAME, or leave the password out and use PGPASSWORD or ~/.pgpass\n',
    );
  }
  return flags.devices;
}

/** Opens the device source; throws a {@link CliError} for a spec or a file that cannot work. */
export function openSource(flags: SourceFlags, stdin: NodeJS.ReadableStream): AsyncIterable<Device> {
  const kind = sourceKind(flags.devices);
  if (flags.platform !== undefined && !PLATFORMS.includes(flags.platform as Platform)) {
    throw new CliError(
      `--platform must be one of ${PLATFORMS.join(', ')}, got '${flags.platform}'`,
      EXIT.usage,
    );
  }
  if ((kind.kind === 'sqlite' || kind.kind === 'file') && kind.path !== '' && !existsSync(kind.path)) {
    throw new CliError(
      `the device source '${kind.path}' does not exist: check the path given to --devices`,
      EXIT.noInput,
    );
  }
  if (flags.query !== undefined && (kind.kind === 'file' || kind.kind === 'stdin')) {
    throw new CliError('--query applies to sqlite: and postgres:// sources only', EXIT.usage);
  }
  const columns: { token?: string; platform?: string } = {};
  if (flags.tokenColumn) columns.token = flags.tokenColumn;
  if (flags.platformColumn) columns.platform = flags.platformColumn;
  try {
    return openDeviceSource(flags.devices, {
      ...(flags.query !== undefined ? { query: flags.query } : {}),
      ...(Object.keys(columns).length > 0 ? { columns } : {}),
      ...(flags.platform !== undefined ? { platform: flags.platform as Platform } : {}),
      stdin: stdin as never,
    });
  } catch (error) {
    if (error instanceof StoreError) {
      // The spec may hold a database password: it is never echoed as given.
      const message = inCliTerms(
        redactText(error.message.split(flags.devices).join(redactUrl(flags.devices))),
      );
      throw new CliError(missingPackage(error) ? message : `--devices: ${message}`, exitFor(error), {
        cause: error,
      });
    }
    throw error;
  }
}

export interface SinkFlags {
  table?: string;
  keyColumn?: string;
  markColumn?: string;
}

/** The sink for `--apply-feedback`, on the database the devices come from. */
export function openSink(spec: string, flags: SinkFlags): FeedbackSink {
  const kind = sourceKind(spec);
  if (kind.kind !== 'sqlite' && kind.kind !== 'postgres') {
    throw new CliError(
      '--apply-feedback needs a database source (sqlite:path or postgres://…): a file has no rows to delete; use --out to keep the feedback',
      EXIT.usage,
    );
  }
  if (!flags.table) {
    throw new CliError(
      '--apply-feedback needs --table: the table whose rows hold the tokens (and --key-column, default id)',
      EXIT.usage,
    );
  }
  // Checked here, before any database is opened: a name like x.y.z would otherwise reach the
  // database as a cross-database reference and come back as an error no option explains.
  for (const [flag, value] of [
    ['--table', flags.table],
    ['--key-column', flags.keyColumn],
    ['--mark-column', flags.markColumn],
  ] as const) {
    if (value === undefined) continue;
    try {
      checkTableName(value);
    } catch {
      throw new CliError(`${flag} must be ${TABLE_NAME_FORMS}, got '${value}'`, EXIT.usage);
    }
  }
  const options = {
    table: flags.table,
    keyColumn: flags.keyColumn ?? 'id',
    mode: flags.markColumn ? ('mark' as const) : ('delete' as const),
    ...(flags.markColumn ? { markColumn: flags.markColumn } : {}),
  };
  try {
    return kind.kind === 'sqlite'
      ? sqliteFeedbackSink(kind.path, options)
      : postgresFeedbackSink(kind.url, options);
  } catch (error) {
    if (missingPackage(error)) throw new CliError((error as Error).message, EXIT.config, { cause: error });
    if (error instanceof StoreError) {
      throw new CliError(
        `--apply-feedback: ${inCliTerms(error.message)}; check --table, --key-column and --mark-column`,
        EXIT.usage,
        { cause: error },
      );
    }
    // SQLite checks the table as the sink opens: 'nosuch.devices' is "unknown database 'nosuch'".
    if ((error as { code?: unknown })?.code === 'SQLITE_ERROR') {
      throw new CliError(
        `--apply-feedback: cannot use --table '${flags.table}': ${(error as Error).message}; check --table, --key-column and --mark-column`,
        EXIT.usage,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * How many devices the source holds, when that is cheap to learn: a count over the query,
 * or the lines of a file. Undefined when unknown; never throws (the send itself will report).
 */
export async function countDevices(flags: SourceFlags): Promise<number | undefined> {
  const kind = sourceKind(flags.devices);
  const query = flags.query?.trim().replace(/;+\s*$/, '');
  try {
    if (kind.kind === 'sqlite' && query) {
      const db = new (sqliteDriver())(kind.path, { readonly: true, fileMustExist: true });
      try {
        return Number(db.prepare(`SELECT count(*) FROM (${query})`).pluck().get());
      } finally {
        db.close();
      }
    }
    if (kind.kind === 'postgres' && query) {
      const client = new (pgDriver().Client)({ connectionString: kind.url, statement_timeout: 10_000 });
      // A server restart mid-count emits 'error': unheard it would crash the send. The count
      // only feeds the progress bar; its query fails and the total stays unknown.
      client.on('error', () => {});
      await client.connect();
      try {
        const result = await client.query(`SELECT count(*) AS n FROM (${query}) AS pushline_count`);
        return Number(result.rows[0]?.n);
      } finally {
        await client.end();
      }
    }
    if (kind.kind === 'file') {
      const lines = await countLines(kind.path);
      return kind.format === 'csv' ? Math.max(0, lines - 1) : lines;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Non-empty lines of a file (a final line without a newline counts). */
async function countLines(path: string): Promise<number> {
  let lines = 0;
  let lineHasText = false;
  for await (const chunk of createReadStream(path)) {
    for (const byte of chunk as Buffer) {
      if (byte === 10) {
        if (lineHasText) lines++;
        lineHasText = false;
      } else if (byte !== 13 && byte !== 32) lineHasText = true;
    }
  }
  return lineHasText ? lines + 1 : lines;
}

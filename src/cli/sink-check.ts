/**
 * `--apply-feedback` is checked before the first device is sent: the table and its columns
 * (the sink's own check), and that the devices query returns the key column, without which a
 * dead token's row cannot be found. Found at the first dead token instead, the send would
 * stop half done.
 */
import type { Platform } from '../device.js';
import type { RowMappingOptions } from '../stores/columns.js';
import { rowMapper } from '../stores/columns.js';
import { pgDriver, sqliteDriver } from '../stores/drivers.js';
import { StoreError } from '../stores/errors.js';
import type { FeedbackSink } from '../stores/feedback-sink.js';
import { inCliTerms } from './cli-terms.js';
import { CliError, EXIT } from './exit-codes.js';
import { loginRefused, loginRefusedMessage } from './report.js';
import { type SinkFlags, type SourceFlags, sourceKind } from './source.js';

/** Throws a {@link CliError} when the sink or the query cannot apply the feedback. */
export async function checkSinkFits(
  source: SourceFlags,
  flags: SinkFlags,
  sink: FeedbackSink,
): Promise<void> {
  try {
    await sink.ready?.();
  } catch (error) {
    if (loginRefused(error)) {
      throw new CliError(loginRefusedMessage(`--apply-feedback: ${(error as Error).message}`), EXIT.config, {
        cause: error,
      });
    }
    if (error instanceof StoreError && error.code === 'store-config') {
      throw new CliError(
        `--apply-feedback: ${inCliTerms(error.message)}; check --table, --key-column and --mark-column. Nothing was sent`,
        EXIT.usage,
        { cause: error },
      );
    }
    throw new CliError(
      `--apply-feedback: ${(error as Error)?.message ?? String(error)}. Nothing was sent`,
      EXIT.io,
      { cause: error },
    );
  }
  const key = flags.keyColumn ?? 'id';
  const names = await queryColumns(source);
  if (names === undefined) return; // a query that does not run is the source's to report, before any device
  let fields: string[];
  try {
    fields = Object.keys(rowMapper(names, mapping(source), 'the query')({}));
  } catch {
    return; // no token or platform column: the source reports it, before any device
  }
  if (!fields.includes(key)) {
    throw new CliError(
      `--apply-feedback: the --query returns the columns ${names.join(', ')} but not the key column '${key}' ` +
        `(--key-column${flags.keyColumn === undefined ? ', default id' : ''}), so a dead token's row could not be found: ` +
        'select it in --query, or name the right column with --key-column. Nothing was sent',
      EXIT.data,
    );
  }
}

function mapping(flags: SourceFlags): RowMappingOptions {
  const columns: { token?: string; platform?: string } = {};
  if (flags.tokenColumn) columns.token = flags.tokenColumn;
  if (flags.platformColumn) columns.platform = flags.platformColumn;
  return {
    ...(Object.keys(columns).length > 0 ? { columns } : {}),
    ...(flags.platform !== undefined ? { platform: flags.platform as Platform } : {}),
  };
}

/** The column names the devices query returns, without reading a row; undefined when unknown. */
async function queryColumns(flags: SourceFlags): Promise<string[] | undefined> {
  const kind = sourceKind(flags.devices);
  const query = flags.query?.trim().replace(/;+\s*$/, '');
  if (!query) return undefined;
  try {
    if (kind.kind === 'sqlite') {
      const db = new (sqliteDriver())(kind.path, { readonly: true, fileMustExist: true });
      try {
        return db
          .prepare(query)
          .columns()
          .map((column) => column.name);
      } finally {
        db.close();
      }
    }
    if (kind.kind === 'postgres') {
      const client = new (pgDriver().Client)({ connectionString: kind.url, statement_timeout: 10_000 });
      await client.connect();
      try {
        const result = await client.query(`SELECT * FROM (${query}) AS pushline_columns LIMIT 0`);
        return result.fields.map((field) => field.name);
      } finally {
        await client.end();
      }
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * Devices from CSV (a header line naming the columns, then one device per line), from a file
 * or a stream, parsed by csv-parse as a stream: records are pulled with backpressure, so only
 * a few are held whatever the file's size.
 *
 * Columns map as in the SQL sources (`token`, `platform`, `app` by default, the rest ride
 * along as strings). A record csv-parse rejects (wrong number of fields, a stray quote), one
 * that holds bytes that are not UTF-8, or one over the row size limit (row-limits.ts) becomes
 * one `invalid-device` feedback naming its line (see malformed.ts); the run goes on.
 */
import type { CsvError } from 'csv-parse';
import type { Device } from '../device.js';
import { type RowMapper, type RowMappingOptions, rowMapper } from './columns.js';
import { csvParser } from './drivers.js';
import { StoreError } from './errors.js';
import { describeInput, openInput, type TextInput, Utf8Ranges } from './input.js';
import { malformedLine } from './malformed.js';
import { type RowLimitOptions, type RowLimits, rowLimits, rowProblem } from './row-limits.js';

export interface CsvDevicesOptions extends RowMappingOptions, RowLimitOptions {
  /** Column names for a file without a header line. Default: the first line is the header. */
  header?: string[];
  /** Field delimiter. Default `,`. */
  delimiter?: string;
}

/** Streams devices from CSV. A path is opened for each iteration; a stream can be read once. */
export function csvDevices(input: TextInput, options: CsvDevicesOptions = {}): AsyncIterable<Device> {
  const limits = rowLimits(options.limits, 'csvDevices');
  return { [Symbol.asyncIterator]: () => readDevices(input, options, limits) };
}

interface ParsedRecord {
  record: Record<string, string>;
  /** `bytes`: the offset just after the record (its line break included). */
  info: { lines: number; bytes: number };
  /** Set as csv-parse hands the record out: it holds bytes that are not UTF-8. */
  notUtf8?: boolean;
}

async function* readDevices(
  input: TextInput,
  options: CsvDevicesOptions,
  limits: Required<RowLimits>,
): AsyncGenerator<Device> {
  const name = describeInput(input);
  // Rejected records, reported by csv-parse while it parses; handed out before the next record.
  const rejected: Device[] = [];
  // csv-parse decodes bad bytes to U+FFFD without a word: the bytes are checked on their way in,
  // and a record is matched to them by its byte range, from the end of the one before it (kept
  // in csv-parse's callbacks, which run in the file's order, unlike our reading of the records).
  const utf8 = new Utf8Ranges();
  let recordStart = 0;
  const parser = csvParser().parse({
    columns:
      options.header ??
      ((names: string[]) => {
        recordStart = parser.info.bytes;
        return names;
      }),
    delimiter: options.delimiter ?? ',',
    bom: true,
    trim: true,
    skip_empty_lines: true,
    info: true,
    on_record: (parsed: ParsedRecord) => {
      parsed.notUtf8 = utf8.within(recordStart, parsed.info.bytes);
      recordStart = parsed.info.bytes;
      return parsed;
    },
    skip_records_with_error: true,
    on_skip: (error: CsvError | undefined, raw: string | undefined) => {
      const line = Number((error as { lines?: number } | undefined)?.lines ?? 0);
      recordStart = Math.max(recordStart, Number((error as { bytes?: number } | undefined)?.bytes ?? 0));
      rejected.push(malformedLine(name, line, error?.message ?? 'unreadable record', raw ?? ''));
      return undefined;
    },
  });
  const source = openInput(input);
  source.on('error', (error) => parser.destroy(error));
  const checked = source.pipe(utf8.transform());
  checked.pipe(parser);
  let toDevice: RowMapper | undefined;
  let line = 0;
  try {
    for await (const parsed of parser as AsyncIterable<ParsedRecord>) {
      while (rejected.length > 0) yield rejected.shift()!;
      line = parsed.info.lines;
      toDevice ??= rowMapper(Object.keys(parsed.record), options, `${name} (CSV)`);
      const device = toDevice(parsed.record);
      const problem = parsed.notUtf8
        ? 'not valid UTF-8 (the record holds bytes that are not UTF-8 text)'
        : rowProblem(device, limits);
      if (problem === undefined) yield device;
      else
        yield malformedLine(name, line, problem, Object.values(parsed.record).join(options.delimiter ?? ','));
    }
    while (rejected.length > 0) yield rejected.shift()!;
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError(
      'store-read',
      `cannot read ${name} after line ${line}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  } finally {
    source.unpipe(checked);
    checked.unpipe(parser);
    if (typeof input === 'string') source.destroy();
    checked.destroy();
    parser.destroy();
  }
}

/**
 * Devices from CSV (a header line naming the columns, then one device per line), from a file
 * or a stream, parsed by csv-parse as a stream: records are pulled with backpressure, so only
 * a few are held whatever the file's size.
 *
 * Columns map as in the SQL sources (`token`, `platform`, `app` by default, the rest ride
 * along as strings). A record csv-parse rejects (wrong number of fields, a stray quote)
 * becomes one `invalid-device` feedback naming its line (see malformed.ts); the run goes on.
 */
import { type CsvError, parse } from 'csv-parse';
import type { Device } from '../device.js';
import { type RowMapper, type RowMappingOptions, rowMapper } from './columns.js';
import { StoreError } from './errors.js';
import { describeInput, openInput, type TextInput } from './input.js';
import { malformedLine } from './malformed.js';

export interface CsvDevicesOptions extends RowMappingOptions {
  /** Column names for a file without a header line. Default: the first line is the header. */
  header?: string[];
  /** Field delimiter. Default `,`. */
  delimiter?: string;
}

/** Streams devices from CSV. A path is opened for each iteration; a stream can be read once. */
export function csvDevices(input: TextInput, options: CsvDevicesOptions = {}): AsyncIterable<Device> {
  return { [Symbol.asyncIterator]: () => readDevices(input, options) };
}

interface ParsedRecord {
  record: Record<string, string>;
  info: { lines: number };
}

async function* readDevices(input: TextInput, options: CsvDevicesOptions): AsyncGenerator<Device> {
  const name = describeInput(input);
  // Rejected records, reported by csv-parse while it parses; handed out before the next record.
  const rejected: Device[] = [];
  const parser = parse({
    columns: options.header ?? true,
    delimiter: options.delimiter ?? ',',
    bom: true,
    trim: true,
    skip_empty_lines: true,
    info: true,
    skip_records_with_error: true,
    on_skip: (error: CsvError | undefined, raw: string | undefined) => {
      const line = Number((error as { lines?: number } | undefined)?.lines ?? 0);
      rejected.push(malformedLine(name, line, error?.message ?? 'unreadable record', raw ?? ''));
      return undefined;
    },
  });
  const source = openInput(input);
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  let toDevice: RowMapper | undefined;
  let line = 0;
  try {
    for await (const parsed of parser as AsyncIterable<ParsedRecord>) {
      while (rejected.length > 0) yield rejected.shift()!;
      line = parsed.info.lines;
      toDevice ??= rowMapper(Object.keys(parsed.record), options, `${name} (CSV)`);
      yield toDevice(parsed.record);
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
    source.unpipe(parser);
    if (typeof input === 'string') source.destroy();
    parser.destroy();
  }
}

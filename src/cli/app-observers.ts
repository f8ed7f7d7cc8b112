/**
 * What runs sends — `pushline serve` (its in-process dispatcher or workers) and `pushline
 * worker` — hands every final feedback to, and where `source` sends read their devices, from
 * the config: the metrics (every app, in the server), each app's `webhook` (signed batches,
 * its deliveries counted in the metrics) and `deadTokens` (applied to a database of
 * `databases` through a feedback sink); `databases.<name>.url` opened as a device source (the
 * in-process dispatcher) or as key ranges (queue workers).
 */
import type { PushlineConfig } from '../config/index.js';
import type { Device } from '../device.js';
import { PushError } from '../errors.js';
import { type AppClients, appClients } from '../queue/app-clients.js';
import type { FeedbackObserver } from '../queue/dispatch.js';
import type { KeyRangeReader } from '../queue/key-ranges.js';
import type { SourceOpener } from '../queue/local.js';
import { forApp, type SinkObserver, sinkObserver } from '../queue/sink-observer.js';
import type { ServerMetrics } from '../server/metrics.js';
import { openFeedbackSink } from '../stores/open-sink.js';
import { openDeviceSource } from '../stores/open-source.js';
import { webhookSink } from '../stores/webhook-sink.js';
import { CliError, EXIT } from './exit-codes.js';

const text = (value: string | Buffer): string => (typeof value === 'string' ? value : value.toString('utf8'));

/** A database's URL (it may hold a password: never logged, never echoed). */
/** The config's apps as clients (queue/app-clients.ts); a provider the config cannot build exits 78. */
export function configAppClients(config: PushlineConfig): AppClients {
  try {
    return appClients(config);
  } catch (error) {
    if (error instanceof PushError) throw new CliError(error.message, EXIT.config, { cause: error });
    throw error;
  }
}

export function databaseUrl(config: PushlineConfig, name: string): string | undefined {
  const entry = config.databases?.[name];
  return entry === undefined ? undefined : text(entry.url.reveal());
}

export interface AppObservers {
  /** The metrics first (when given), then each app's webhook and dead-token sink, each kept to its app. */
  observers: FeedbackObserver[];
  /** The dead-token sinks, to check their tables at start (`ready()`). */
  deadTokenSinks: Array<{ app: string; sink: SinkObserver }>;
}

/** The observers of the config's apps; `log` as in {@link appObservers}. */

/**
 * The feedback observers of the config's apps. `log` gets failures that do not stop a send
 * (a webhook batch given up, a dead token not applied); it must not throw.
 */
export function appObservers(
  config: PushlineConfig,
  metrics: ServerMetrics | undefined,
  log: (message: string, context: Record<string, unknown>) => void,
): AppObservers {
  const observers: FeedbackObserver[] = metrics === undefined ? [] : [metrics];
  const deadTokenSinks: AppObservers['deadTokenSinks'] = [];
  for (const [app, section] of Object.entries(config.apps ?? {})) {
    const webhook = section.webhook;
    if (webhook !== undefined) {
      const sink = webhookSink({
        url: webhook.url,
        secret: text(webhook.secret.reveal()),
        app,
        ...(webhook.statuses === undefined
          ? {}
          : { statuses: webhook.statuses as ('sent' | 'validated' | 'invalid-token' | 'failed')[] }),
        ...(webhook.batchSize === undefined ? {} : { batchSize: webhook.batchSize }),
        ...(webhook.batchDelayMs === undefined ? {} : { batchDelayMs: webhook.batchDelayMs }),
        ...(webhook.timeoutMs === undefined ? {} : { timeoutMs: webhook.timeoutMs }),
        ...(webhook.attempts === undefined ? {} : { retry: { attempts: webhook.attempts } }),
        ...(metrics === undefined ? {} : { onDelivery: (event) => metrics.webhookDelivery(app, event) }),
        onError: (error, batch) =>
          log('webhook batch given up', {
            app,
            batch: batch.batchId,
            records: batch.records,
            error: error.message,
          }),
      });
      observers.push(forApp(app, sink));
    }
    const dead = section.deadTokens;
    if (dead !== undefined) {
      const url = databaseUrl(config, dead.database);
      if (url === undefined) {
        throw new PushError(
          'config',
          `apps.${app}.deadTokens.database names '${dead.database}', which is not in databases`,
        );
      }
      let sink: SinkObserver;
      try {
        sink = sinkObserver(
          () =>
            openFeedbackSink(url, {
              table: dead.table,
              keyColumn: dead.keyColumn,
              mode: dead.mode,
              ...(dead.keyField === undefined ? {} : { keyField: dead.keyField }),
              ...(dead.markColumn === undefined ? {} : { markColumn: dead.markColumn }),
            }),
          {
            onError: (error) =>
              log('dead tokens not applied', {
                app,
                error: error instanceof Error ? error.message : String(error),
              }),
          },
        );
      } catch (error) {
        // The database cannot be opened (a missing SQLite file, a bad URL): the config is wrong.
        throw new PushError(
          'config',
          `apps.${app}.deadTokens: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      deadTokenSinks.push({ app, sink });
      observers.push(forApp(app, sink));
    }
  }
  return { observers, deadTokenSinks };
}

/** `source` sends: `databases.<name>.url` opened as a device source running the send's query. */
export function appSources(config: PushlineConfig): SourceOpener {
  return (database: string, query: string): AsyncIterable<Device> => {
    const url = databaseUrl(config, database);
    if (url === undefined) {
      const known = Object.keys(config.databases ?? {}).join(', ') || 'none';
      throw new PushError('config', `no database '${database}' in the config (known: ${known})`);
    }
    return openDeviceSource(url, { query });
  };
}

/** Key-range readers on the config's databases, for queue workers (`source` sends); close them after the workers. */
export async function keyRangeReaders(
  config: PushlineConfig,
): Promise<{ readers: Map<string, KeyRangeReader>; close(): Promise<void> }> {
  const readers = new Map<string, KeyRangeReader>();
  const closers: Array<() => Promise<void>> = [];
  const { sqliteKeyRanges, postgresKeyRanges } = await import('../queue/key-ranges.js');
  for (const name of Object.keys(config.databases ?? {})) {
    const url = databaseUrl(config, name)!;
    const lower = url.toLowerCase();
    if (lower.startsWith('sqlite:')) {
      let path = url.slice('sqlite:'.length);
      if (path.startsWith('///')) path = path.slice(2);
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(path, { readonly: true, fileMustExist: true });
      closers.push(async () => void db.close());
      readers.set(name, await sqliteKeyRanges(db));
    } else if (lower.startsWith('postgres://') || lower.startsWith('postgresql://')) {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      closers.push(() => pool.end());
      readers.set(name, await postgresKeyRanges(pool));
    }
  }
  return {
    readers,
    close: async () => {
      for (const close of closers) await close().catch(() => undefined);
    },
  };
}

/**
 * What `pushline serve` (and its in-process workers) hands every final feedback to, and where
 * `source` sends read their devices, from the config: the metrics (every app), each app's
 * `webhook` (signed batches, its deliveries counted in the metrics) and `deadTokens` (applied
 * to a database of `databases` through a feedback sink), and `databases.<name>.url` opened as
 * a device source.
 */
import type { PushlineConfig } from '../config/index.js';
import type { Device } from '../device.js';
import { PushError } from '../errors.js';
import type { FeedbackObserver } from '../queue/dispatch.js';
import type { SourceOpener } from '../queue/local.js';
import { forApp, type SinkObserver, sinkObserver } from '../queue/sink-observer.js';
import type { ServerMetrics } from '../server/metrics.js';
import { openFeedbackSink } from '../stores/open-sink.js';
import { openDeviceSource } from '../stores/open-source.js';
import { webhookSink } from '../stores/webhook-sink.js';

const text = (value: string | Buffer): string => (typeof value === 'string' ? value : value.toString('utf8'));

/** A database's URL (it may hold a password: never logged, never echoed). */
export function databaseUrl(config: PushlineConfig, name: string): string | undefined {
  const entry = config.databases?.[name];
  return entry === undefined ? undefined : text(entry.url.reveal());
}

export interface ServeObservers {
  /** The metrics first, then each app's webhook and dead-token sink, each kept to its app. */
  observers: FeedbackObserver[];
  /** The dead-token sinks, to check their tables at start (`ready()`). */
  deadTokenSinks: Array<{ app: string; sink: SinkObserver }>;
}

/**
 * The feedback observers of the config's apps. `log` gets failures that do not stop a send
 * (a webhook batch given up, a dead token not applied); it must not throw.
 */
export function serveObservers(
  config: PushlineConfig,
  metrics: ServerMetrics,
  log: (message: string, context: Record<string, unknown>) => void,
): ServeObservers {
  const observers: FeedbackObserver[] = [metrics];
  const deadTokenSinks: ServeObservers['deadTokenSinks'] = [];
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
        onDelivery: (event) => metrics.webhookDelivery(app, event),
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
      const sink = sinkObserver(
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
      deadTokenSinks.push({ app, sink });
      observers.push(forApp(app, sink));
    }
  }
  return { observers, deadTokenSinks };
}

/** `source` sends: `databases.<name>.url` opened as a device source running the send's query. */
export function serveSources(config: PushlineConfig): SourceOpener {
  return (database: string, query: string): AsyncIterable<Device> => {
    const url = databaseUrl(config, database);
    if (url === undefined) {
      const known = Object.keys(config.databases ?? {}).join(', ') || 'none';
      throw new PushError('config', `no database '${database}' in the config (known: ${known})`);
    }
    return openDeviceSource(url, { query });
  };
}

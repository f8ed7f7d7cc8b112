/**
 * `pushline worker`: processes the chunk jobs of sends accepted by `pushline serve --redis`,
 * with one client per app of the config, until SIGINT/SIGTERM — then it finishes the requests
 * in flight (up to --grace-period), records them, and hands the rest back to the queue.
 */
import { CONFIG_SCHEMA, ConfigError, loadConfig, type PushlineConfig } from '../config/index.js';
import { PushError } from '../errors.js';
import { connectRedis, evictionWarning, maskRedisUrl } from '../queue/redis-connection.js';
import { queueOptions } from '../queue/redis-options.js';
import { startWorker } from '../queue/worker.js';
import type { WorkerMetricsServer } from '../server/worker-metrics.js';
import { appObservers, configAppClients, keyRangeReaders } from './app-observers.js';
import { configCliError } from './config.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';
import { sanitize } from './sanitize.js';
import { load } from './server-commands.js';

export interface WorkerFlags {
  redis?: string;
  config?: string;
  concurrency?: string;
  gracePeriod?: string;
  takeoverAfter?: string;
  metricsPort?: string;
  metricsHost?: string;
}

function whole(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new CliError(`${flag} must be a whole number from ${min} to ${max}, got '${value}'`, EXIT.usage);
  }
  return parsed;
}

export async function runWorker(flags: WorkerFlags, io: CliIO): Promise<ExitCode> {
  const concurrency = whole('--concurrency', flags.concurrency, 1, 64);
  const takeover = whole('--takeover-after', flags.takeoverAfter, 1000, 600_000);
  const grace = whole('--grace-period', flags.gracePeriod, 0, 3_600_000) ?? 30_000;
  const portFlag = whole('--metrics-port', flags.metricsPort, 0, 65_535);
  let config: PushlineConfig;
  try {
    config = loadConfig(CONFIG_SCHEMA, flags.config, io.env);
  } catch (error) {
    if (error instanceof ConfigError) throw configCliError(error, flags.config);
    throw error;
  }
  // The metrics: flags first, then the config's redis.metricsPort / metricsHost.
  const metricsPort = portFlag ?? config.redis?.metricsPort;
  if (flags.metricsHost !== undefined && metricsPort === undefined) {
    throw new CliError('--metrics-host needs --metrics-port (or redis.metricsPort in --config)', EXIT.usage);
  }
  const metricsHost = flags.metricsHost ?? config.redis?.metricsHost;
  const queue = queueOptions(config, flags.redis);
  if (queue === undefined) {
    throw new CliError(
      'no Redis to take work from: give --redis redis://host:port, set PUSHLINE_REDIS_URL, or redis.url in --config',
      EXIT.usage,
    );
  }
  const url = queue.worker.redis;
  const clients = configAppClients(config);
  const log = (message: string) => io.stderr.write(`pushline worker: ${sanitize(message)}\n`);
  const probe = connectRedis(url, 'patient', () => undefined);
  const warning = await Promise.race([
    evictionWarning(probe),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 3000).unref()),
  ]);
  probe.disconnect();
  if (warning) log(warning);

  // Each app's webhook and dead-token database see the feedback recorded here, and `source`
  // sends read their key ranges from the config's databases.
  let metricsServer: WorkerMetricsServer | undefined;
  let observers: ReturnType<typeof appObservers>;
  try {
    if (metricsPort !== undefined) metricsServer = await startMetrics(metricsPort, metricsHost);
    observers = appObservers(config, metricsServer?.metrics, (message, context) =>
      log(`${message} ${JSON.stringify(context)}`),
    );
    for (const { app, sink } of observers.deadTokenSinks) {
      await sink.ready().catch((error: unknown) => {
        throw new PushError(
          'config',
          `apps.${app}.deadTokens: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    }
  } catch (error) {
    await metricsServer?.close();
    await clients.close();
    if (error instanceof Error && (error instanceof PushError || error.name === 'StoreError'))
      throw new CliError(error.message, EXIT.config, { cause: error });
    throw error;
  }
  const ranges = await keyRangeReaders(config);
  const worker = startWorker({
    ...queue.worker,
    clients: (app) => clients.get(app),
    observers: observers.observers,
    sources: (database) => ranges.readers.get(database),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(takeover === undefined ? {} : { lockDurationMs: takeover, stalledIntervalMs: takeover }),
    log,
  });
  metricsServer?.attach(worker);
  const metricsAt = metricsServer ? `, metrics on ${metricsServer.url}/metrics` : '';
  log(`started: ${maskRedisUrl(url)}, apps ${clients.names.join(', ')}, pid ${process.pid}${metricsAt}`);
  if (!io.signal.aborted)
    await new Promise((resolve) => io.signal.addEventListener('abort', resolve, { once: true }));
  log(`stopping: finishing requests in flight (up to ${grace} ms), handing the rest back`);
  const closing = worker.close(grace);
  await closing;
  for (const observer of observers.observers) await observer.close?.().catch(() => undefined);
  await ranges.close();
  await clients.close();
  // Last: a scrape during the stop still sees the final counts.
  await metricsServer?.close();
  log(`stopped after ${worker.chunks} chunks`);
  return EXIT.ok;
}

/**
 * The metrics server of `--metrics-port`. prom-client is loaded only then (an optional peer
 * dependency, as for `pushline serve`); a port that cannot be bound exits 78.
 */
async function startMetrics(port: number, host = '127.0.0.1'): Promise<WorkerMetricsServer> {
  const { startWorkerMetrics } = await load(
    'worker --metrics-port',
    () => import('../server/worker-metrics.js'),
  );
  try {
    return await startWorkerMetrics({ port, host });
  } catch (error) {
    throw new CliError(
      `--metrics-port: cannot listen on ${host}:${port}: ${(error as Error).message}`,
      EXIT.config,
      { cause: error },
    );
  }
}

/**
 * `pushline serve`: the push server. Reads the config (file + environment: the `server`,
 * `apiKeys`, `databases` and `apps` sections of the one schema, src/config/server.ts), builds
 * one `PushClient` per app (queue/app-clients.ts, the same builder as `pushline worker`), the
 * feedback observers (metrics, each app's webhook and dead-token database), the dispatcher —
 * in this process by default (queue/local.ts), or BullMQ on Redis with `--redis` (workers
 * elsewhere, or `--workers N` here) — and the HTTP server; listens until SIGTERM/SIGINT, then
 * shuts down gracefully: new requests get 503, accepted sends get `server.shutdownTimeoutMs`
 * to finish (what is left is aborted, every device still gets its feedback; on Redis, what
 * the workers here have not done is handed back to the queue), and the process exits 0.
 *
 * `--emulator` starts the built-in emulators and points every app at them, and — when the
 * config has no API key — makes one and prints it once with a curl example: one command to try
 * the server. `pushline key` makes a key for the config.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { PushClient } from '../client.js';
import { CONFIG_SCHEMA, ConfigError, loadConfig, type PushlineConfig } from '../config/index.js';
import type { Platform } from '../device.js';
import { Inbox, type InboxPages, inboxPages } from '../emulator/inbox/index.js';
import { type Emulator, startEmulator } from '../emulator/index.js';
import { PushError } from '../errors.js';
import type { Provider } from '../provider.js';
import { apns } from '../providers/apns/index.js';
import { PRODUCTION_ORIGIN, SANDBOX_ORIGIN } from '../providers/apns/options.js';
import { fcm } from '../providers/fcm/index.js';
import { hms } from '../providers/hms/index.js';
import { webPush } from '../providers/webpush/index.js';
import { DEFAULT_APP } from '../queue/app-clients.js';
import { bullmqDispatcher } from '../queue/bullmq.js';
import type { Dispatcher, FeedbackObserver } from '../queue/dispatch.js';
import { LocalDispatcher } from '../queue/local.js';
import { maskRedisUrl } from '../queue/redis-connection.js';
import { queueOptions } from '../queue/redis-options.js';
import { type PushlineWorker, startWorker } from '../queue/worker.js';
import { buildServer } from '../server/app.js';
import { generateApiKey } from '../server/auth.js';
import { GORUSH_METRICS, type GorushSettings, GorushStats } from '../server/gorush/index.js';
import { createMetrics, type ServerMetrics } from '../server/metrics.js';
import { type ApiKeyOptions, type AppInfo, SERVER_DEFAULTS, type ServerSettings } from '../server/options.js';
import { appObservers, appSources, configAppClients, keyRangeReaders } from './app-observers.js';
import { closeClient } from './close-client.js';
import { configCliError } from './config.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';
import { sanitize } from './sanitize.js';

export interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  emulator?: boolean;
  emulatorLatency?: string;
  logLevel?: string;
  /** Redis URL: sends go to the BullMQ queue (also `redis.url` / `PUSHLINE_REDIS_URL`). */
  redis?: string;
  /** With Redis: workers run in this process (default 0: `pushline worker` elsewhere). */
  workers?: string;
}

/** pushline's version, from its package.json (src/cli → ../../, dist/cli → ../../). */
export function pushlineVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The apps built: their clients, and what the server knows of them. */
interface BuiltApps {
  clients: Map<string, PushClient>;
  info: Record<string, AppInfo>;
}

const EMULATOR_TEAM = 'EMUTEAM001';

/** The APNs topic an app gets from the emulator: `com.example.<name>`. */
const emulatorTopic = (app: string) => `com.example.${app.replace(/[^A-Za-z0-9.-]/g, '-')}`;

function appInfo(providers: readonly Provider[], topics: string[], apnsProduction?: boolean): AppInfo {
  const platforms = new Set<Platform>();
  for (const provider of providers) for (const platform of provider.platforms) platforms.add(platform);
  return {
    platforms: [...platforms],
    apnsTopics: topics,
    ...(apnsProduction === undefined ? {} : { apnsProduction }),
  };
}

/**
 * The APNs environment an app's `apns` section sends to, for gorush's `production` /
 * `development` (a token of one environment is `BadDeviceToken` in the other, so a request
 * must reach an app of the environment it names): the section's `production` when given —
 * with an `endpoint` too, which then stands for that environment (a proxy, Apple's port 2197)
 * — else the environment of Apple's host the endpoint names; undefined when unknown (an
 * emulator's endpoint).
 */
export function apnsEnvironment(
  section: { production?: boolean | undefined; endpoint?: string | undefined } | undefined,
): boolean | undefined {
  if (section === undefined) return undefined;
  if (typeof section.production === 'boolean') return section.production;
  if (section.endpoint === undefined) return undefined;
  let host: string;
  try {
    host = new URL(section.endpoint).hostname;
  } catch {
    return undefined;
  }
  if (host === new URL(PRODUCTION_ORIGIN).hostname) return true;
  if (host === new URL(SANDBOX_ORIGIN).hostname) return false;
  return undefined;
}

function emulatorApps(
  emulator: Emulator,
  names: string[],
  topics: string[],
  environments: Array<boolean | undefined>,
): BuiltApps {
  const built: BuiltApps = { clients: new Map(), info: {} };
  for (const [index, name] of names.entries()) {
    const topic = topics[index]!;
    const providers = [
      apns({ ...emulator.apns.providerOptions, topic }),
      fcm(emulator.fcm.providerOptions),
      webPush(emulator.webpush.providerOptions),
      hms(emulator.hms.providerOptions),
    ];
    built.clients.set(name, new PushClient({ providers }));
    // The app keeps its configured environment: gorush's production / development still choose it.
    built.info[name] = appInfo(providers, [topic], environments[index]);
  }
  return built;
}

/** Every app of the config, built as `pushline worker` builds them (queue/app-clients.ts). */
function configApps(config: PushlineConfig): BuiltApps {
  const clients = configAppClients(config);
  const built: BuiltApps = { clients: new Map(clients.clients), info: {} };
  for (const name of clients.names) {
    const section = config.apps?.[name]?.apns ?? (name === DEFAULT_APP ? config.providers.apns : undefined);
    const topic =
      config.apps?.[name]?.apns?.topic ?? (name === DEFAULT_APP ? config.providers.apns?.topic : undefined);
    built.info[name] = appInfo(clients.providers(name), topic ? [topic] : [], apnsEnvironment(section));
  }
  return built;
}

/** What `pushline serve` takes from the config, mapped onto the server's options. */
interface ServeConfig {
  config: PushlineConfig;
  settings: ServerSettings;
  apiKeys: Record<string, ApiKeyOptions>;
  /** App names: `apps`, or the single app `default` (from `providers`) when there is none. */
  appNames: string[];
  /** gorush's API settings (`server.gorush`). */
  gorush: Omit<GorushSettings, 'bodyLimit'>;
}

const NO_LIMIT = { max: Number.MAX_SAFE_INTEGER, timeWindowMs: 60_000 };

function loadServeConfig(path: string | undefined, env: NodeJS.ProcessEnv): ServeConfig {
  let config: PushlineConfig;
  try {
    config = loadConfig(CONFIG_SCHEMA, path, env);
  } catch (error) {
    if (error instanceof ConfigError) throw configCliError(error, path);
    throw error;
  }
  const { server } = config;
  const settings: ServerSettings = { host: server.host, port: server.port };
  if (server.tls !== undefined) settings.tls = { cert: server.tls.certFile, key: server.tls.key.reveal() };
  if (server.public !== undefined) settings.public = server.public;
  if (server.rateLimit !== undefined) {
    settings.rateLimit = server.rateLimit.max === 0 ? false : { ...server.rateLimit };
  }
  if (server.bodyLimit !== undefined) settings.bodyLimit = server.bodyLimit;
  if (server.maxInlineDevices !== undefined) settings.maxInlineDevices = server.maxInlineDevices;
  if (server.shutdownTimeoutMs !== undefined) settings.shutdownTimeoutMs = server.shutdownTimeoutMs;
  if (server.idempotencyTtlMs !== undefined) settings.idempotencyTtlMs = server.idempotencyTtlMs;

  const apiKeys: Record<string, ApiKeyOptions> = {};
  for (const [id, key] of Object.entries(config.apiKeys ?? {})) {
    apiKeys[id] = {
      hash: key.hash,
      apps: key.apps,
      permissions: key.permissions,
      ...(key.defaultApp === undefined ? {} : { defaultApp: key.defaultApp }),
      ...(key.rateLimit === undefined
        ? {}
        : { rateLimit: key.rateLimit.max === 0 ? NO_LIMIT : { ...key.rateLimit } }),
    };
  }
  const apps = config.apps ?? {};
  const databases = Object.keys(config.databases ?? {});
  for (const [name, app] of Object.entries(apps)) {
    if (app.deadTokens !== undefined && !databases.includes(app.deadTokens.database)) {
      throw new CliError(
        `apps.${name}.deadTokens.database names '${app.deadTokens.database}', which is not in databases (known: ${databases.join(', ') || 'none'})`,
        EXIT.config,
      );
    }
  }
  const appNames = Object.keys(apps).length > 0 ? Object.keys(apps) : [DEFAULT_APP];
  const gorush = {
    sync: server.gorush.sync,
    maxNotification: server.gorush.maxNotification,
    maskTokens: server.gorush.maskTokens,
  };
  return { config, settings, apiKeys, appNames, gorush };
}

function latencyFlag(value: string | undefined): number {
  if (value === undefined) return 0;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 60_000) {
    throw new CliError(
      `--emulator-latency must be a whole number of ms from 0 to 60000, got '${value}'`,
      EXIT.usage,
    );
  }
  return parsed;
}

function portFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    throw new CliError(`--port must be a port number (0 for any free one), got '${value}'`, EXIT.usage);
  }
  return parsed;
}

function workersFlag(value: string | undefined, redis: boolean): number {
  if (value === undefined) return 0;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 64) {
    throw new CliError(`--workers must be a whole number from 0 to 64, got '${value}'`, EXIT.usage);
  }
  if (parsed > 0 && !redis) {
    throw new CliError(
      '--workers runs queue workers: it needs Redis (--redis URL, redis.url or PUSHLINE_REDIS_URL); without it sends run in this process anyway',
      EXIT.usage,
    );
  }
  return parsed;
}

export async function runServe(flags: ServeFlags, io: CliIO): Promise<ExitCode> {
  const { config, settings, apiKeys, appNames, gorush } = loadServeConfig(flags.config, io.env);
  if (flags.host !== undefined) settings.host = flags.host;
  const port = portFlag(flags.port);
  if (port !== undefined) settings.port = port;
  const latency = latencyFlag(flags.emulatorLatency);
  const queue = queueOptions(config, flags.redis);
  const workerCount = workersFlag(flags.workers, queue !== undefined);
  const version = pushlineVersion();

  // Run last to first: the server, the workers, the dispatcher, the observers, the clients, the emulator.
  const cleanups: Array<() => Promise<void>> = [];
  // Until the server's logger exists, what goes wrong in the background goes to stderr.
  let logWarning = (message: string, context: Record<string, unknown>): void => {
    io.stderr.write(`pushline serve: ${sanitize(`${message} ${JSON.stringify(context)}`)}\n`);
  };
  try {
    let madeKey: string | undefined;
    let inboxMount: InboxPages | undefined;
    let built: BuiltApps;
    // The emulators' origins, named as the services they stand for in the metrics.
    const origins: Record<string, string> = {};
    if (flags.emulator) {
      // Each app keeps its configured APNs topic (gorush requests choose their app by it).
      const topics = appNames.map((name) => config.apps?.[name]?.apns?.topic ?? emulatorTopic(name));
      const emulator = await startEmulator({
        apns: {
          teamId: EMULATOR_TEAM,
          teams: { [EMULATOR_TEAM]: topics },
          topic: topics[0]!,
          // The inbox (/inbox) shows the most recent ones; more would only cost memory.
          record: 1000,
          ...(latency > 0 ? { scenarios: { latencyMs: latency } } : {}),
        },
        fcm: latency > 0 ? { latencyMs: latency } : {},
        webpush: latency > 0 ? { latencyMs: latency } : {},
      });
      cleanups.unshift(() => emulator.close());
      const inbox = new Inbox(emulator);
      inboxMount = inboxPages(inbox, {
        nav: [
          { label: 'Sends', href: '/ui' },
          { label: 'Emulator inbox', href: '/inbox', current: true },
        ],
      });
      const mounted = inboxMount;
      cleanups.unshift(async () => {
        mounted.close();
        inbox.close();
      });
      built = emulatorApps(
        emulator,
        appNames,
        topics,
        appNames.map((name) => apnsEnvironment(config.apps?.[name]?.apns)),
      );
      origins[emulator.apns.origin] = 'apns';
      origins[emulator.fcm.origin] = 'fcm';
      origins[emulator.hms.origin] = 'hms';
      for (const origin of emulator.webpush.origins) origins[origin] = 'webpush';
      if (Object.keys(apiKeys).length === 0) {
        const made = generateApiKey();
        madeKey = made.key;
        apiKeys['emulator'] = {
          hash: made.hash,
          apps: ['*'],
          permissions: ['send', 'read'],
          defaultApp: appNames[0]!,
        };
      }
    } else {
      built = configApps(config);
    }
    const { clients } = built;
    cleanups.unshift(async () => {
      await Promise.all([...clients.values()].map((client) => closeClient(client)));
    });
    if (Object.keys(apiKeys).length === 0) {
      io.stderr.write(
        'pushline serve: no API key in the config (apiKeys): every route but /healthz will answer 401; make one with pushline key\n',
      );
    }

    const gorushStats = new GorushStats();
    const metrics = createMetrics({
      origins,
      gorush: { metrics: GORUSH_METRICS, stats: () => gorushStats.app(version) },
    });
    const runsSends = queue === undefined || workerCount > 0;
    const { observers, deadTokenSinks } = runsSends
      ? observersOf(config, metrics, (message, context) => logWarning(message, context))
      : { observers: [metrics] as FeedbackObserver[], deadTokenSinks: [] };
    let observersClosed = false;
    cleanups.unshift(async () => {
      if (observersClosed) return;
      for (const observer of observers) await observer.close?.();
    });
    // A dead-token table that is not there stops the server now, not at the first dead token.
    for (const { app, sink } of deadTokenSinks) {
      await sink.ready().catch((error: unknown) => {
        throw new CliError(
          `apps.${app}.deadTokens: ${error instanceof Error ? error.message : String(error)}`,
          EXIT.config,
        );
      });
    }

    let dispatcher: Dispatcher;
    let healthy: (() => Promise<boolean>) | undefined;
    const workers: PushlineWorker[] = [];
    if (queue === undefined) {
      const limits = config.server.sends;
      const local = new LocalDispatcher({
        clients,
        ...(limits?.concurrency === undefined ? {} : { maxConcurrent: limits.concurrency }),
        ...(limits?.queued === undefined ? {} : { maxQueued: limits.queued }),
        ...(limits?.kept === undefined ? {} : { maxKept: limits.kept }),
        sources: appSources(config),
        observers,
        onError: (error, context) =>
          logWarning('a send went on after a failure', {
            ...context,
            error: error instanceof Error ? error.message : String(error),
          }),
      });
      // The dispatcher closes the observers (after its sends).
      observersClosed = true;
      metrics.setQueueDepth(() => local.queuedSends);
      metrics.setInFlight(() => local.devicesInFlight());
      dispatcher = local;
      cleanups.unshift(() => local.close(0));
    } else {
      const log = (message: string) => logWarning(message, { redis: maskRedisUrl(queue.worker.redis) });
      let bull: Awaited<ReturnType<typeof bullmqDispatcher>>;
      try {
        bull = await bullmqDispatcher({ ...queue.dispatcher, apps: [...clients.keys()], log });
      } catch (error) {
        if (error instanceof PushError) throw new CliError(error.message, EXIT.config, { cause: error });
        throw error;
      }
      const ranges = workerCount > 0 ? await keyRangeReaders(config) : undefined;
      if (ranges) cleanups.unshift(() => ranges.close());
      for (let i = 0; i < workerCount; i++) {
        workers.push(
          startWorker({
            ...queue.worker,
            clients: (app) => clients.get(app),
            observers,
            sources: (database) => ranges?.readers.get(database),
            log,
          }),
        );
      }
      // On shutdown the workers here finish what is in flight and hand the rest back to the
      // queue first; then the dispatcher lets go of Redis.
      dispatcher = closingAfter(bull, async (graceMs) => {
        await Promise.all(workers.splice(0).map((worker) => worker.close(graceMs)));
      });
      cleanups.unshift(async () => {
        await Promise.all(workers.splice(0).map((worker) => worker.close(0)));
        await bull.close(0);
      });
      healthy = () => bull.healthy();
      // Chunk jobs waiting or running on every worker of this Redis (cached: scrapes cost one call).
      metrics.setQueueDepth(() => bull.queueDepth(), 'chunks');
      if (workers.length > 0) {
        metrics.setInFlight(() => workers.reduce((sum, worker) => sum + worker.devicesInFlight(), 0));
      }
    }

    let app: Awaited<ReturnType<typeof buildServer>>;
    try {
      app = await buildServer({
        server: settings,
        apiKeys,
        apps: built.info,
        databases: Object.keys(config.databases ?? {}),
        dispatcher,
        version,
        gorush: { settings: gorush, stats: gorushStats },
        metrics,
        ...(healthy === undefined ? {} : { healthy }),
        ...(inboxMount === undefined ? {} : { inbox: inboxMount }),
        logger: { level: flags.logLevel ?? 'info', stream: io.stdout },
      });
    } catch (error) {
      // An API key entry that does not fit (an app it names is not configured).
      if (error instanceof Error && /^apiKeys\./.test(error.message))
        throw new CliError(error.message, EXIT.config);
      throw error;
    }
    const server = app;
    logWarning = (message, context) => {
      server.log.warn(context, message);
    };
    let shutDown = false;
    cleanups.unshift(async () => {
      if (!shutDown) await server.shutdown(0);
    });
    const host = settings.host ?? SERVER_DEFAULTS.host;
    await app.listen({ host, port: settings.port ?? SERVER_DEFAULTS.port });
    const address = app.server.address();
    const boundPort = typeof address === 'object' && address !== null ? address.port : settings.port;
    const url = `${settings.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    const appList = [...clients.keys()];
    app.log.info(
      {
        url,
        apps: appList,
        emulator: flags.emulator === true,
        queue: queue === undefined ? 'in-process' : maskRedisUrl(queue.worker.redis),
        workers: queue === undefined ? undefined : workerCount,
      },
      'listening',
    );
    io.stderr.write(banner(url, appList, madeKey, flags.emulator === true));

    if (!io.signal.aborted) await once(io.signal, 'abort');
    const grace = settings.shutdownTimeoutMs ?? SERVER_DEFAULTS.shutdownTimeoutMs;
    app.log.info({ graceMs: grace }, 'shutting down: finishing accepted sends');
    shutDown = true;
    await app.shutdown(grace);
    app.log.info('stopped');
    return EXIT.ok;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

/** The observers, a config error (an unknown database) as the CLI's. */
function observersOf(
  config: PushlineConfig,
  metrics: ServerMetrics,
  log: (message: string, context: Record<string, unknown>) => void,
): ReturnType<typeof appObservers> {
  try {
    return appObservers(config, metrics, log);
  } catch (error) {
    if (error instanceof PushError || (error instanceof Error && error.name === 'StoreError'))
      throw new CliError(error.message, EXIT.config, { cause: error });
    throw error;
  }
}

/** The dispatcher, with `before(graceMs)` run first when it is closed. */
function closingAfter(dispatcher: Dispatcher, before: (graceMs: number) => Promise<void>): Dispatcher {
  return {
    submit: (spec) => dispatcher.submit(spec),
    status: (id) => dispatcher.status(id),
    settled: (id) => dispatcher.settled(id),
    feedback: (id, query) => dispatcher.feedback(id, query),
    abort: (id, reason) => dispatcher.abort(id, reason),
    close: async (graceMs) => {
      await before(graceMs);
      await dispatcher.close(graceMs);
    },
  };
}

function banner(url: string, apps: string[], key: string | undefined, emulator: boolean): string {
  const lines = [
    `pushline serve: listening on ${url} (apps: ${apps.join(', ')})${emulator ? ', sending to the built-in emulators' : ''}`,
    `  dashboard ${url}/ui${emulator ? `  ·  emulator inbox ${url}/inbox` : ''}  (log in with an API key)`,
  ];
  if (key !== undefined) {
    lines.push(
      `  API key   ${key}`,
      '            (made for this run, shown once; for a lasting one: pushline key, then apiKeys in the config)',
      '',
      'Try:',
      `  curl -s -X POST ${url}/v1/sends -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
      `    -d '{"notification":{"title":"Hello","body":"from pushline serve"},"devices":[{"platform":"ios","token":"${'ab'.repeat(32)}"}]}'`,
      `  curl -s ${url}/v1/sends/<id>/feedback -H 'Authorization: Bearer ${key}'`,
    );
  }
  lines.push('Stop with Ctrl-C (or SIGTERM): accepted sends finish first.', '');
  return `${lines.map((line) => sanitize(line)).join('\n')}\n`;
}

/** `pushline key`: a new API key, shown once, and the hash that goes in the config. */
export function runKey(flags: { json?: boolean }, io: CliIO): ExitCode {
  const { key, hash } = generateApiKey();
  if (flags.json) {
    io.stdout.write(`${JSON.stringify({ key, hash })}\n`);
  } else {
    io.stdout.write(
      [
        `key   ${key}`,
        '      give it to the client (Authorization: Bearer <key>); it is shown only now',
        `hash  ${hash}`,
        '      put it in the config: "apiKeys": { "<name>": { "hash": "…", "apps": ["*"], "permissions": ["send", "read"] } }',
        '',
      ].join('\n'),
    );
  }
  return EXIT.ok;
}

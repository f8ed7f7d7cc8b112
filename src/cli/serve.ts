/**
 * `pushline serve`: the push server. Reads the config (file + environment: the `server`,
 * `apiKeys`, `databases` and `apps` sections of the one schema, src/config/server.ts), builds
 * one `PushClient` per app (`apps.<name>`, or the single app `default` from `providers` when
 * there is no `apps`), the dispatcher that runs sends in this process, and the HTTP server;
 * listens until SIGTERM/SIGINT, then shuts down gracefully: new requests get 503, accepted
 * sends get `server.shutdownTimeoutMs` to finish (what is left is aborted, every device still
 * gets its feedback), and the process exits 0.
 *
 * `--emulator` starts the built-in emulators and points every app at them, and — when the
 * config has no API key — makes one and prints it once with a curl example: one command to try
 * the server. `pushline key` makes a key for the config.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { PushClient } from '../client.js';
import {
  apnsOptions,
  CONFIG_SCHEMA,
  ConfigError,
  fcmOptions,
  loadConfig,
  type PushlineConfig,
  webPushOptions,
} from '../config/index.js';
import type { Platform } from '../device.js';
import { type Emulator, startEmulator } from '../emulator/index.js';
import type { Provider } from '../provider.js';
import { apns } from '../providers/apns/index.js';
import { fcm } from '../providers/fcm/index.js';
import { webPush } from '../providers/webpush/index.js';
import { buildServer } from '../server/app.js';
import { generateApiKey } from '../server/auth.js';
import { InterimDispatcher } from '../server/interim-dispatcher.js';
import { type ApiKeyOptions, type AppInfo, SERVER_DEFAULTS, type ServerSettings } from '../server/options.js';
import { closeClient } from './close-client.js';
import type { ProviderConfig } from './config.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';
import { providersFromConfig } from './providers.js';
import { sanitize } from './sanitize.js';

export interface ServeFlags {
  config?: string;
  host?: string;
  port?: string;
  emulator?: boolean;
  emulatorLatency?: string;
  logLevel?: string;
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

/** An app built: its client, and what the server knows of it. */
interface BuiltApp {
  client: PushClient;
  info: AppInfo;
}

const EMULATOR_TEAM = 'EMUTEAM001';

/** The APNs topic an app gets from the emulator: `com.example.<name>`. */
const emulatorTopic = (app: string) => `com.example.${app.replace(/[^A-Za-z0-9.-]/g, '-')}`;

function appInfo(providers: Provider[], topics: string[]): AppInfo {
  const platforms = new Set<Platform>();
  for (const provider of providers) for (const platform of provider.platforms) platforms.add(platform);
  return { platforms: [...platforms], apnsTopics: topics };
}

function emulatorApps(emulator: Emulator, names: string[], topics: string[]): Record<string, BuiltApp> {
  const apps: Record<string, BuiltApp> = {};
  for (const [index, name] of names.entries()) {
    const topic = topics[index]!;
    const providers = [
      apns({ ...emulator.apns.providerOptions, topic }),
      fcm(emulator.fcm.providerOptions),
      webPush(emulator.webpush.providerOptions),
    ];
    apps[name] = { client: new PushClient({ providers }), info: appInfo(providers, [topic]) };
  }
  return apps;
}

type AppSection = NonNullable<PushlineConfig['apps']>[string];

/** An app's providers from its sections (`apps.<name>`, or `providers` for the single app `default`). */
function appFromSections(
  name: string,
  sections: Pick<AppSection, 'apns' | 'fcm' | 'webpush' | 'hms'>,
): BuiltApp {
  if (sections.hms !== undefined) {
    // TODO(coordinator): hms(hmsConfig(sections.hms)) once src/providers/hms (w16-hms) is merged.
    throw new CliError(`apps.${name}.hms: the HMS provider is not part of this build yet`, EXIT.config);
  }
  const config: ProviderConfig = {};
  if (sections.apns !== undefined) config.apns = apnsOptions(sections.apns);
  if (sections.fcm !== undefined) config.fcm = fcmOptions(sections.fcm);
  if (sections.webpush !== undefined) config.webpush = webPushOptions(sections.webpush);
  const providers = providersFromConfig(config);
  const topic = config.apns?.topic;
  return { client: new PushClient({ providers }), info: appInfo(providers, topic ? [topic] : []) };
}

/** What `pushline serve` takes from the config, mapped onto the server's options. */
interface ServeConfig {
  config: PushlineConfig;
  settings: ServerSettings;
  apiKeys: Record<string, ApiKeyOptions>;
  /** App names: `apps`, or the single app `default` (from `providers`) when there is none. */
  appNames: string[];
}

const NO_LIMIT = { max: Number.MAX_SAFE_INTEGER, timeWindowMs: 60_000 };

function loadServeConfig(path: string | undefined, env: NodeJS.ProcessEnv): ServeConfig {
  let config: PushlineConfig;
  try {
    config = loadConfig(CONFIG_SCHEMA, path, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT.config);
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
  const appNames = Object.keys(apps).length > 0 ? Object.keys(apps) : ['default'];
  return { config, settings, apiKeys, appNames };
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

export async function runServe(flags: ServeFlags, io: CliIO): Promise<ExitCode> {
  const { config, settings, apiKeys, appNames } = loadServeConfig(flags.config, io.env);
  if (flags.host !== undefined) settings.host = flags.host;
  const port = portFlag(flags.port);
  if (port !== undefined) settings.port = port;
  const latency = latencyFlag(flags.emulatorLatency);

  let emulator: Emulator | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const apps: Record<string, BuiltApp> = {};
    cleanups.push(async () => {
      await Promise.all(Object.values(apps).map((app) => closeClient(app.client)));
    });
    let madeKey: string | undefined;
    if (flags.emulator) {
      // Each app keeps its configured APNs topic (gorush requests choose their app by it).
      const topics = appNames.map((name) => config.apps?.[name]?.apns?.topic ?? emulatorTopic(name));
      emulator = await startEmulator({
        apns: {
          teamId: EMULATOR_TEAM,
          teams: { [EMULATOR_TEAM]: topics },
          topic: topics[0]!,
          record: false,
          ...(latency > 0 ? { scenarios: { latencyMs: latency } } : {}),
        },
        fcm: latency > 0 ? { latencyMs: latency } : {},
        webpush: latency > 0 ? { latencyMs: latency } : {},
      });
      const started = emulator;
      cleanups.push(() => started.close());
      Object.assign(apps, emulatorApps(emulator, appNames, topics));
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
    } else if (config.apps !== undefined && Object.keys(config.apps).length > 0) {
      for (const [name, sections] of Object.entries(config.apps))
        apps[name] = appFromSections(name, sections);
    } else {
      apps['default'] = appFromSections('default', config.providers);
    }
    if (Object.keys(apiKeys).length === 0) {
      io.stderr.write(
        'pushline serve: no API key in the config (apiKeys): every route but /healthz will answer 401; make one with pushline key\n',
      );
    }

    // TODO(coordinator): replace with the in-process dispatcher of src/queue/local.ts (w14-local),
    // built from the same clients, with the feedback observers registered on it:
    //   - metrics (src/server/metrics.ts);
    //   - each app's webhook (src/stores/webhook-sink.ts) from config.apps[name].webhook:
    //     { url, secret: secret.reveal(), statuses, batchSize, batchDelayMs, timeoutMs, retry: { attempts } },
    //     kept to its app's sends (queue/sink-observer.ts forApp);
    //   - each app's dead-token sink from config.apps[name].deadTokens
    //     ({ table, keyColumn, keyField, mode, markColumn } on config.databases[database].url.reveal()),
    //     through queue/sink-observer.ts;
    //   - the databases (config.databases, url.reveal()) for `source` sends.
    const dispatcher = new InterimDispatcher(
      Object.fromEntries(Object.entries(apps).map(([name, app]) => [name, app.client])),
    );
    let app: Awaited<ReturnType<typeof buildServer>>;
    try {
      app = await buildServer({
        server: settings,
        apiKeys,
        apps: Object.fromEntries(Object.entries(apps).map(([name, built]) => [name, built.info])),
        databases: Object.keys(config.databases ?? {}),
        dispatcher,
        version: pushlineVersion(),
        logger: { level: flags.logLevel ?? 'info', stream: io.stdout },
      });
    } catch (error) {
      // An API key entry that does not fit (an app it names is not configured).
      if (error instanceof Error && /^apiKeys\./.test(error.message))
        throw new CliError(error.message, EXIT.config);
      throw error;
    }
    let shutDown = false;
    cleanups.unshift(async () => {
      if (!shutDown) await app.shutdown(0);
    });
    const host = settings.host ?? SERVER_DEFAULTS.host;
    await app.listen({ host, port: settings.port ?? SERVER_DEFAULTS.port });
    const address = app.server.address();
    const boundPort = typeof address === 'object' && address !== null ? address.port : settings.port;
    const url = `${settings.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    app.log.info({ url, apps: Object.keys(apps), emulator: flags.emulator === true }, 'listening');
    io.stderr.write(banner(url, Object.keys(apps), madeKey, flags.emulator === true));

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

function banner(url: string, apps: string[], key: string | undefined, emulator: boolean): string {
  const lines = [
    `pushline serve: listening on ${url} (apps: ${apps.join(', ')})${emulator ? ', sending to the built-in emulators' : ''}`,
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

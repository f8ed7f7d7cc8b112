/**
 * TEMPORARY — the `server`, `apiKeys`, `apps` and `databases` sections of `pushline.json` for
 * `pushline serve`, read by hand until the one declarative config schema (`src/config/`,
 * w21-config) is merged; then these sections are declared with that schema and this file
 * goes. Until then an app's providers come from `--emulator` or, for a single app named
 * `default`, from the environment variables of `pushline send` (PUSHLINE_APNS_*, …).
 *
 * Messages name the field, never a value.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ApiKeyOptions, RateLimit, ServerSettings } from '../server/options.js';
import { CliError, EXIT } from './exit-codes.js';

export interface ServeConfig {
  server: ServerSettings;
  apiKeys: Record<string, ApiKeyOptions>;
  /** App names; their provider sections are not read here (see the file's comment). */
  apps: string[];
  databases: string[];
}

const configError = (message: string) => new CliError(message, EXIT.config);
type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function object(value: unknown, where: string): Json {
  if (value === undefined) return {};
  if (!isObject(value)) throw configError(`${where} must be an object`);
  return value;
}

function wholeNumber(value: unknown, where: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw configError(`${where} must be a whole number ≥ ${min}`);
  }
  return value;
}

function strings(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw configError(`${where} must be a list of strings`);
  }
  return value as string[];
}

function rateLimit(value: unknown, where: string): RateLimit | undefined {
  if (value === undefined) return undefined;
  const section = object(value, where);
  return {
    max: wholeNumber(section['max'], `${where}.max`) ?? 1200,
    timeWindowMs: wholeNumber(section['timeWindowMs'], `${where}.timeWindowMs`) ?? 60_000,
  };
}

function readFile(path: string, where: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw configError(
      `cannot read the file '${path}' named by ${where} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    );
  }
}

/** Reads the sections `pushline serve` adds to the config file; environment variables override. */
export function loadServeConfig(path: string | undefined, env: NodeJS.ProcessEnv): ServeConfig {
  let root: Json = {};
  const base = path === undefined ? process.cwd() : dirname(resolve(path));
  if (path !== undefined) {
    const text = readFile(path, '--config');
    try {
      root = object(JSON.parse(text), `the config file '${path}'`);
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw configError(`the config file '${path}' is not valid JSON`);
    }
  }
  const server = object(root['server'], 'server');
  const settings: ServerSettings = {};
  const host = env['PUSHLINE_SERVER_HOST'] || server['host'];
  if (host !== undefined) {
    if (typeof host !== 'string' || host === '')
      throw configError('server.host must be a host name or address');
    settings.host = host;
  }
  const port = env['PUSHLINE_SERVER_PORT'] ? Number(env['PUSHLINE_SERVER_PORT']) : server['port'];
  const portNumber = wholeNumber(port, 'server.port (PUSHLINE_SERVER_PORT)', 0);
  if (portNumber !== undefined) settings.port = portNumber;
  const tls = server['tls'];
  if (tls !== undefined) {
    const section = object(tls, 'server.tls');
    if (typeof section['certFile'] !== 'string' || typeof section['keyFile'] !== 'string') {
      throw configError('server.tls needs certFile and keyFile (PEM files)');
    }
    settings.tls = {
      cert: readFile(resolve(base, section['certFile']), 'server.tls.certFile'),
      key: readFile(resolve(base, section['keyFile']), 'server.tls.keyFile'),
    };
  }
  const bodyLimit = wholeNumber(server['bodyLimit'], 'server.bodyLimit');
  if (bodyLimit !== undefined) settings.bodyLimit = bodyLimit;
  const maxInline = wholeNumber(server['maxInlineDevices'], 'server.maxInlineDevices');
  if (maxInline !== undefined) settings.maxInlineDevices = maxInline;
  const publicRoutes = strings(server['public'], 'server.public');
  if (publicRoutes !== undefined) settings.public = publicRoutes;
  if (server['rateLimit'] === false) settings.rateLimit = false;
  else {
    const limit = rateLimit(server['rateLimit'], 'server.rateLimit');
    if (limit !== undefined) settings.rateLimit = limit;
  }
  const shutdown = wholeNumber(server['shutdownTimeoutMs'], 'server.shutdownTimeoutMs', 0);
  if (shutdown !== undefined) settings.shutdownTimeoutMs = shutdown;
  const ttl = wholeNumber(server['idempotencyTtlMs'], 'server.idempotencyTtlMs');
  if (ttl !== undefined) settings.idempotencyTtlMs = ttl;

  const apiKeys: Record<string, ApiKeyOptions> = {};
  for (const [id, value] of Object.entries(object(root['apiKeys'], 'apiKeys'))) {
    const entry = object(value, `apiKeys.${id}`);
    const limit = rateLimit(entry['rateLimit'], `apiKeys.${id}.rateLimit`);
    apiKeys[id] = {
      hash: entry['hash'] as string,
      apps: strings(entry['apps'], `apiKeys.${id}.apps`) ?? [],
      permissions: (strings(entry['permissions'], `apiKeys.${id}.permissions`) ??
        []) as ApiKeyOptions['permissions'],
      ...(typeof entry['defaultApp'] === 'string' ? { defaultApp: entry['defaultApp'] } : {}),
      ...(limit === undefined ? {} : { rateLimit: limit }),
    };
  }
  const apps = Object.keys(object(root['apps'], 'apps'));
  const databases = Object.keys(object(root['databases'], 'databases'));
  return { server: settings, apiKeys, apps, databases };
}

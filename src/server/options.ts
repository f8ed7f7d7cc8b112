/**
 * What `buildServer()` takes: plain, already-validated values. The config file (`server`,
 * `apiKeys`, `apps`, `databases` sections) and `pushline serve`'s flags map onto these; a
 * program embedding the server can build them itself. Secrets never appear here in clear:
 * API keys are hashes, and TLS material is held only to hand it to the listener.
 */
import { SERVER_SECTION } from '../config/server.js';
import type { Platform } from '../device.js';
import type { Dispatcher } from '../queue/dispatch.js';
import type { GorushSettings, GorushStats } from './gorush/index.js';
import type { ServerMetrics } from './metrics.js';
import type { MountedPages } from './ui/routes.js';

/** What a key may do: `send` creates and aborts sends; `read` reads sends, their feedback and stats. */
export type Permission = 'send' | 'read';

export const PERMISSIONS: readonly Permission[] = ['send', 'read'];

/** A request budget: at most `max` requests per `timeWindowMs`. */
export interface RateLimit {
  max: number;
  timeWindowMs: number;
}

/** One API key, as the config holds it (its id is its name in `apiKeys`). */
export interface ApiKeyOptions {
  /** `sha256:<64 hex digits>` of the key, as `pushline key` prints it. The key itself is never stored. */
  hash: string;
  /** The apps this key may send to and read; `["*"]` for every app. */
  apps: readonly string[];
  /** What the key may do. */
  permissions: readonly Permission[];
  /** The app a request gets when it names none. Default: the key's app when it has exactly one. */
  defaultApp?: string;
  /** This key's own budget, instead of `server.rateLimit`. */
  rateLimit?: RateLimit;
}

/** The listener and the HTTP API's limits (config section `server`). */
export interface ServerSettings {
  /** Default 127.0.0.1: a push server holds credentials; exposing it is a choice (`0.0.0.0`). */
  host?: string;
  /** Default 8088, gorush's. 0 picks a free port. */
  port?: number;
  /** TLS for the listener (PEM text); without it the server speaks plain HTTP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Largest JSON request body, bytes. Default 1 MiB. NDJSON bodies are streamed and not limited as a whole. */
  bodyLimit?: number;
  /** Most devices inline in one `POST /v1/sends` (more: stream them as NDJSON). Default 10,000. */
  maxInlineDevices?: number;
  /**
   * Routes served without an API key (exact paths, e.g. `["/metrics"]` behind a private
   * network). `/healthz` is always public. Nothing else is, unless listed here.
   */
  public?: readonly string[];
  /** Per-key request budget (per client IP on public routes). Default 1,200 a minute; `false` turns it off. */
  rateLimit?: RateLimit | false;
  /**
   * On SIGTERM/SIGINT: how long accepted sends get to finish before what is left is aborted
   * (each device still gets its feedback). Default 10,000 ms.
   */
  shutdownTimeoutMs?: number;
  /** How long an `Idempotency-Key` is remembered. Default 24 h. */
  idempotencyTtlMs?: number;
  /** Most idempotency keys remembered at once (oldest forgotten first). Default 100,000. */
  idempotencyMaxKeys?: number;
}

/** What the server knows of an app (its providers live behind the dispatcher). */
export interface AppInfo {
  /** The platforms the app has a provider for. */
  platforms: readonly Platform[];
  /** The APNs topics (bundle ids) the app sends to: gorush requests pick their app by `topic`. */
  apnsTopics: readonly string[];
  /**
   * Its APNs environment — true production, false sandbox, undefined unknown (an emulator's
   * endpoint): gorush's `production` / `development` pick the app of that environment.
   */
  apnsProduction?: boolean;
}

export interface ServerOptions {
  server?: ServerSettings;
  /** Keys by id. An empty map leaves only `/healthz` and `server.public` routes usable. */
  apiKeys: Readonly<Record<string, ApiKeyOptions>>;
  /** Apps by name (`apps.<name>` in the config). */
  apps: Readonly<Record<string, AppInfo>>;
  /** Names of the databases of the config (`databases.<name>`) a send's `source` may name. */
  databases?: readonly string[];
  /** What runs the sends. The server does not close it: the caller does, after `app.close()`. */
  dispatcher: Dispatcher;
  /** pushline's version, for `/version`. */
  version: string;
  /**
   * gorush's API: its settings (config `server.gorush`; gorush's defaults when absent) and the
   * counters of `/api/stat/app` (pass the same to `createMetrics` so `/metrics` agrees).
   */
  gorush?: { settings?: Partial<Omit<GorushSettings, 'bodyLimit'>>; stats?: GorushStats };
  /** The Prometheus metrics: `/metrics`, per-request samples, sends accepted and settled. */
  metrics?: ServerMetrics;
  /**
   * Whether `metrics.sendSettled` is fed by waiting on `dispatcher.settled(id)` for each send
   * (cheap in-process; a poll per send on Redis, where the workers see the ends). Default true.
   */
  metricsFollowSends?: boolean;
  /** Whether what runs the sends can take one now (Redis up): `/healthz` answers 503 when not. */
  healthy?: () => Promise<boolean>;
  /**
   * The dashboard at `/ui` (on by default; `false` leaves it out): the sends and their live
   * progress, behind a login with the same API keys. `intervalMs`: how often running sends'
   * status is read for it (default 500); `sessionTtlMs`: how long a login lasts (default 8 h).
   */
  ui?: boolean | { intervalMs?: number; sessionTtlMs?: number };
  /** Pages served behind the dashboard's login: the emulator inbox (`/inbox`) with `serve --emulator`. */
  inbox?: MountedPages;
  /**
   * Pino options or a destination for the JSON logs. Default: info level on stdout; `false`
   * for no logs (tests).
   */
  logger?: boolean | { level?: string; stream?: NodeJS.WritableStream };
}

/** A default the config schema declares (an invariant of src/config/server.ts, not input). */
function declared<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new Error(`the config schema declares no default for ${field}`);
  return value;
}

/**
 * The defaults of {@link ServerSettings}, in one place (README and `--help` quote them); those
 * the config schema declares (`server.host`, `server.port`) are read from it, not repeated.
 */
export const SERVER_DEFAULTS = {
  host: declared(SERVER_SECTION.fields.host.default, 'server.host'),
  port: declared(SERVER_SECTION.fields.port.default, 'server.port'),
  bodyLimit: 1024 * 1024,
  maxInlineDevices: 10_000,
  rateLimit: { max: 1200, timeWindowMs: 60_000 },
  shutdownTimeoutMs: 10_000,
  idempotencyTtlMs: 24 * 60 * 60 * 1000,
  idempotencyMaxKeys: 100_000,
} as const;

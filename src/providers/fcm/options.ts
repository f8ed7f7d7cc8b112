/**
 * `fcm()` options, checked once at construction: every mistake is a `config` PushError
 * thrown by `fcm()` itself, before any device is read.
 */
import type { Platform } from '../../device.js';
import { cleartextProblem } from '../../https-only.js';
import { quoteValue } from '../../redact.js';
import { type Http2Client, http2Protocol } from '../../transport/index.js';
import { configError } from './errors.js';
import { type LoadedServiceAccount, loadServiceAccount, type ServiceAccount } from './service-account.js';

export interface FcmOptions {
  /**
   * The service-account key: the parsed JSON object, the path of the JSON file, or the JSON
   * text itself (a string starting with `{`). Without it, `GOOGLE_APPLICATION_CREDENTIALS`
   * is used, which may likewise hold the path or the JSON text.
   */
  serviceAccount?: ServiceAccount | string;
  /** Firebase project id; defaults to the service account's `project_id`. */
  projectId?: string;
  /** Base URL of the FCM API. Default `https://fcm.googleapis.com` (point it at the emulator in tests). */
  endpoint?: string;
  /**
   * Allow `http://` (cleartext) for `endpoint` and the service account's `token_uri` when
   * their host is loopback (127.0.0.0/8, ::1, localhost), for a local test server. Default
   * false: both must be `https://`, because they carry tokens and bearer credentials.
   */
  allowInsecureLoopback?: boolean;
  /** Extra trusted CA certificate(s), PEM, for both the FCM endpoint and the token endpoint. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Device platforms to serve. Default `['android']`; add `'ios'` / `'web'` for apps that receive through FCM. */
  platforms?: readonly Platform[];
  /** The app this provider serves, when one client serves several apps (devices carry `app`). */
  app?: string;
  /** Send every message with `validate_only: true` (FCM checks it, delivers nothing). */
  validateOnly?: boolean;
  /**
   * Requests kept in flight at once, fixed (the engine's lane limit). Default: adaptive — the
   * pool's limit starts at 1,000, grows while the round trip stays near its no-load value,
   * backs off on a rising round trip, `429`, refused streams and GOAWAY, up to
   * `maxConcurrency` (README, Latency). The engine's window follows it.
   */
  concurrency?: number;
  /** Cap on the adaptive in-flight limit when `concurrency` is not set. Default 10,000. */
  maxConcurrency?: number;
  /**
   * Most HTTP/2 connections to the FCM endpoint, fixed. Default: opened as the in-flight limit
   * needs (a new one when every open one's streams are busy), up to `maxConnections`.
   */
  connections?: number;
  /** Cap on the connections opened when `connections` is not set. Default 16. */
  maxConnections?: number;
  /** Per-request timeout, ms. Default: the transport's. */
  timeoutMs?: number;
  /** HTTP CONNECT proxy URL. */
  proxy?: string;
  /**
   * Which HTTP/2 client carries the requests: `'wire'` (default), pushline's own framing and HPACK
   * on the pool's TLS connections (src/transport/wire/), or `'node-http2'`, Node's own client. The
   * pool behaves the same on both; 'wire' takes about a fifth of the CPU per request, so several
   * times the pushes per second (README, Performance). 'node-http2' is the fallback if you suspect
   * the wire client: same options, same outcomes.
   */
  transport?: Http2Client;
  /** Name reported in feedback and summaries. Default `'fcm'`. */
  name?: string;
}

export interface ResolvedFcmOptions {
  name: string;
  account: LoadedServiceAccount;
  projectId: string;
  /** Origin of the FCM endpoint, e.g. `https://fcm.googleapis.com`. */
  endpointOrigin: string;
  /** `/v1/projects/<id>/messages:send`, with any base path of `endpoint` in front. */
  sendPath: string;
  platforms: readonly Platform[];
  app: string | undefined;
  validateOnly: boolean;
  /** Fixed in-flight limit; undefined: adaptive (the pool's). */
  concurrency: number | undefined;
  maxConcurrency: number | undefined;
  ca: FcmOptions['ca'];
  connections: number | undefined;
  maxConnections: number | undefined;
  timeoutMs: number | undefined;
  proxy: string | undefined;
  protocol: 'h2' | 'h2-wire';
}

const FCM_PLATFORMS: readonly Platform[] = ['android', 'ios', 'web'];

function positiveInt(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw configError(`\`${name}\` must be a positive integer, got ${quoteValue(value)}`);
  }
  return value;
}

/** Checks `fcm()` options and loads the service account. Throws `config` PushErrors. */
export function resolveFcmOptions(
  options: FcmOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedFcmOptions {
  if (typeof options !== 'object' || options === null) throw configError('options must be an object');
  const allowInsecureLoopback = options.allowInsecureLoopback === true;
  const account = loadServiceAccount(options.serviceAccount, env, { allowInsecureLoopback });
  const projectId = options.projectId ?? account.account.project_id;
  if (typeof projectId !== 'string' || projectId === '') {
    throw configError(
      `no project id: the service account from ${account.source} has no \`project_id\`; pass \`projectId\` (Firebase console → Project settings).`,
    );
  }
  let endpoint: URL;
  try {
    endpoint = new URL(options.endpoint ?? 'https://fcm.googleapis.com');
  } catch {
    throw configError(
      `\`endpoint\` ${quoteValue(options.endpoint)} is not a URL (e.g. https://fcm.googleapis.com)`,
    );
  }
  const cleartext = cleartextProblem(endpoint, '`endpoint`', allowInsecureLoopback);
  if (cleartext !== undefined) throw configError(cleartext);
  const platforms = options.platforms ?? ['android'];
  if (!Array.isArray(platforms) || platforms.length === 0) {
    throw configError('`platforms` must be a non-empty array of "android", "ios", "web"');
  }
  for (const p of platforms) {
    if (!FCM_PLATFORMS.includes(p)) {
      throw configError(
        `\`platforms\` holds ${quoteValue(p)}; FCM serves "android", "ios" and "web" devices`,
      );
    }
  }
  if (options.app !== undefined && (typeof options.app !== 'string' || options.app === '')) {
    throw configError('`app` must be a non-empty string');
  }
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  return {
    name: options.name ?? 'fcm',
    account,
    projectId,
    endpointOrigin: endpoint.origin,
    sendPath: `${basePath}/v1/projects/${encodeURIComponent(projectId)}/messages:send`,
    platforms: [...new Set(platforms)],
    app: options.app,
    validateOnly: options.validateOnly === true,
    concurrency: positiveInt(options.concurrency, 'concurrency'),
    maxConcurrency: positiveInt(options.maxConcurrency, 'maxConcurrency'),
    ca: options.ca,
    connections: positiveInt(options.connections, 'connections'),
    maxConnections: positiveInt(options.maxConnections, 'maxConnections'),
    timeoutMs: positiveInt(options.timeoutMs, 'timeoutMs'),
    proxy: options.proxy,
    protocol: http2Protocol('fcm', options.transport),
  };
}

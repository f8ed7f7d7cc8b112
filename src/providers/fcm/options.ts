/**
 * `fcm()` options, checked once at construction: every mistake is a `config` PushError
 * thrown by `fcm()` itself, before any device is read.
 */
import { readFileSync } from 'node:fs';
import type { Platform } from '../../device.js';
import { cleartextProblem } from '../../https-only.js';
import { providerName } from '../../provider.js';
import { quoteValue } from '../../redact.js';
import { type Http2Client, http2Protocol } from '../../transport/index.js';
import { configError } from './errors.js';
import {
  isInlineJson,
  type LoadedServiceAccount,
  loadServiceAccount,
  type ServiceAccount,
} from './service-account.js';

export interface FcmOptions {
  /**
   * The service-account key: the parsed JSON object, the path of the JSON file, or the JSON
   * text itself (a string starting with `{`). Without it, `GOOGLE_APPLICATION_CREDENTIALS`
   * is used, which may likewise hold the path or the JSON text.
   */
  serviceAccount?: ServiceAccount | string;
  /**
   * `'service-account'` (default): the key of `serviceAccount` or `GOOGLE_APPLICATION_CREDENTIALS`,
   * signed by pushline itself. `'application-default'`: Google Application Default Credentials,
   * as firebase-admin's `applicationDefault()` — `GOOGLE_APPLICATION_CREDENTIALS` of any type
   * (`service_account`, `authorized_user`, `external_account`…), the gcloud file, else the
   * metadata server (Cloud Run, GKE, GCE). Needs the optional package `google-auth-library@10`
   * unless the credentials turn out to be a service-account key file. See README, "Application
   * Default Credentials".
   */
  credential?: 'service-account' | 'application-default';
  /**
   * With `credential: 'application-default'`: more options for google-auth-library's
   * `new GoogleAuth(...)` (e.g. `keyFilename`, `clientOptions`); `scopes` and `projectId` are
   * pushline's.
   */
  googleAuth?: Record<string, unknown>;
  /**
   * Firebase project id. Default: the service account's `project_id`; with Application Default
   * Credentials, `GOOGLE_CLOUD_PROJECT` / `GCLOUD_PROJECT`, else the credentials' project
   * (asked on first send).
   */
  projectId?: string;
  /** Base URL of the FCM API. Default `https://fcm.googleapis.com` (point it at the emulator in tests). */
  endpoint?: string;
  /**
   * Allow `http://` (cleartext) for `endpoint` and the service account's `token_uri` when
   * their host is loopback (127.0.0.0/8, ::1, localhost), for a local test server. Default
   * false: both must be `https://`, because they carry tokens and bearer credentials.
   */
  allowInsecureLoopback?: boolean;
  /**
   * Base URL of the Instance ID API, for topic subscriptions (`client.subscribe`). Default
   * `https://iid.googleapis.com`.
   */
  topicEndpoint?: string;
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
  /** Name reported in feedback and summaries. Default `'fcm'`, or `'fcm:<app>'` with `app`. Unique within a client. */
  name?: string;
}

export interface ResolvedFcmOptions {
  name: string;
  /** The service-account key; undefined with Application Default Credentials other than a key file. */
  account: LoadedServiceAccount | undefined;
  /** Set when google-auth-library finds the credentials (`credential: 'application-default'`). */
  applicationDefault: { googleAuth: Record<string, unknown> | undefined } | undefined;
  /** Undefined until the credentials name it (ADC without `projectId` or GOOGLE_CLOUD_PROJECT). */
  projectId: string | undefined;
  /** Origin of the FCM endpoint, e.g. `https://fcm.googleapis.com`. */
  endpointOrigin: string;
  /** Any base path of `endpoint` (`''` for Google's). */
  basePath: string;
  /** `/v1/projects/<id>/messages:send`, with any base path of `endpoint` in front (undefined: see `projectId`). */
  sendPath: string | undefined;
  /** Origin and base path of the Instance ID API (topic subscriptions). */
  topicOrigin: string;
  topicBasePath: string;
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
  const credential = options.credential ?? 'service-account';
  if (credential !== 'service-account' && credential !== 'application-default') {
    throw configError(
      `\`credential\` must be 'service-account' or 'application-default', got ${quoteValue(credential)}`,
    );
  }
  if (
    options.googleAuth !== undefined &&
    (typeof options.googleAuth !== 'object' ||
      options.googleAuth === null ||
      Array.isArray(options.googleAuth))
  ) {
    throw configError('`googleAuth` must be an object of google-auth-library `GoogleAuth` options');
  }
  if (
    options.projectId !== undefined &&
    (typeof options.projectId !== 'string' || options.projectId === '')
  ) {
    throw configError('`projectId` must be a non-empty string');
  }
  let account: LoadedServiceAccount | undefined;
  let applicationDefault: ResolvedFcmOptions['applicationDefault'];
  let projectId = options.projectId;
  if (credential === 'service-account') {
    if (options.googleAuth !== undefined) {
      throw configError("`googleAuth` applies to credential: 'application-default' only");
    }
    account = loadServiceAccount(options.serviceAccount, env, { allowInsecureLoopback });
    projectId ??= account.account.project_id;
    if (typeof projectId !== 'string' || projectId === '') {
      throw configError(
        `no project id: the service account from ${account.source} has no \`project_id\`; pass \`projectId\` (Firebase console → Project settings).`,
      );
    }
  } else {
    if (options.serviceAccount !== undefined) {
      throw configError(
        "pass either `serviceAccount` (a key) or credential: 'application-default', not both",
      );
    }
    // A service-account key file found the ADC way keeps pushline's own signing (no
    // dependency); everything else is google-auth-library's to find and use.
    account = serviceAccountFromEnvironment(env, allowInsecureLoopback);
    if (account === undefined) applicationDefault = { googleAuth: options.googleAuth };
    // firebase-admin's order: the option, the environment, then the credentials' own.
    projectId ??=
      nonEmpty(env['GOOGLE_CLOUD_PROJECT']) ?? nonEmpty(env['GCLOUD_PROJECT']) ?? account?.account.project_id;
  }
  const endpoint = parseEndpoint(
    options.endpoint,
    'https://fcm.googleapis.com',
    '`endpoint`',
    allowInsecureLoopback,
  );
  const topicEndpoint = parseEndpoint(
    options.topicEndpoint,
    'https://iid.googleapis.com',
    '`topicEndpoint`',
    allowInsecureLoopback,
  );
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
    name: providerName('fcm', options.name, options.app),
    account,
    applicationDefault,
    projectId,
    endpointOrigin: endpoint.origin,
    basePath,
    sendPath: projectId === undefined ? undefined : sendPathFor(basePath, projectId),
    topicOrigin: topicEndpoint.origin,
    topicBasePath: topicEndpoint.pathname.replace(/\/+$/, ''),
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

/** `<base>/v1/projects/<id>/messages:send`. */
export function sendPathFor(basePath: string, projectId: string): string {
  return `${basePath}/v1/projects/${encodeURIComponent(projectId)}/messages:send`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function parseEndpoint(value: unknown, fallback: string, name: string, allowInsecureLoopback: boolean): URL {
  let url: URL;
  try {
    url = new URL((value as string | undefined) ?? fallback);
  } catch {
    throw configError(`${name} ${quoteValue(value)} is not a URL (e.g. ${fallback})`);
  }
  const cleartext = cleartextProblem(url, name, allowInsecureLoopback);
  if (cleartext !== undefined) throw configError(cleartext);
  return url;
}

/**
 * With Application Default Credentials: the service-account key named by
 * GOOGLE_APPLICATION_CREDENTIALS (a path or the JSON itself), or undefined when the variable
 * is unset or names credentials of another type (google-auth-library's to read).
 */
function serviceAccountFromEnvironment(
  env: NodeJS.ProcessEnv,
  allowInsecureLoopback: boolean,
): LoadedServiceAccount | undefined {
  const value = env['GOOGLE_APPLICATION_CREDENTIALS'];
  if (!value) return undefined;
  let type: unknown;
  try {
    const text = isInlineJson(value) ? value : readFileSync(value, 'utf8');
    type = (JSON.parse(text) as { type?: unknown })?.type;
  } catch {
    // Unreadable or not JSON: google-auth-library reports it in its own words.
    return undefined;
  }
  if (type !== 'service_account') return undefined;
  return loadServiceAccount(undefined, env, { allowInsecureLoopback });
}

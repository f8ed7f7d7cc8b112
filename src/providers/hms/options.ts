/**
 * `hms()` options, checked once at construction: every mistake is a `config` PushError thrown
 * by `hms()` itself, before any device is read. The client secret is never echoed.
 */
import { cleartextProblem } from '../../https-only.js';
import { providerName } from '../../provider.js';
import { quoteValue } from '../../redact.js';
import { type Http2Client, http2Protocol } from '../../transport/index.js';
import { configError } from './errors.js';

/** Huawei's send API (v1) and OAuth token endpoint. */
export const DEFAULT_ENDPOINT = 'https://push-api.cloud.huawei.com';
export const DEFAULT_AUTH_ENDPOINT = 'https://oauth-login.cloud.huawei.com/oauth2/v3/token';
/** Huawei takes at most 1,000 tokens per request ("使用约束"). */
export const MAX_TOKENS_PER_REQUEST = 1000;

export interface HmsOptions {
  /**
   * The app's id in AppGallery Connect (Project settings → App information), which the v1 URL
   * `/v1/{appId}/messages:send` carries. Every Huawei SDK uses the OAuth 2.0 client id here,
   * which is the same number for an app.
   */
  appId: string;
  /** OAuth 2.0 client id; default `appId` (what Huawei's SDKs do). */
  clientId?: string;
  /** OAuth 2.0 client secret (AppGallery Connect → the app's OAuth 2.0 client). Never logged. */
  clientSecret: string;
  /** Base URL of the send API. Default `https://push-api.cloud.huawei.com` (point it at the emulator in tests). */
  endpoint?: string;
  /** OAuth token URL. Default `https://oauth-login.cloud.huawei.com/oauth2/v3/token`. */
  authEndpoint?: string;
  /**
   * Allow `http://` (cleartext) for `endpoint` and `authEndpoint` when their host is loopback,
   * for a local test server. Default false: both carry the secret or bearer tokens.
   */
  allowInsecureLoopback?: boolean;
  /** Extra trusted CA certificate(s), PEM, for both endpoints (the emulator's). TLS is always verified. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** The app this provider serves, when one client serves several apps (devices carry `app`). */
  app?: string;
  /** Tokens per request, 1 to 1,000. Default 1,000. */
  batchSize?: number;
  /** Requests kept in flight at once (the engine's lane limit). Default 8. */
  concurrency?: number;
  /**
   * The app's entry activity, e.g. `com.example.app.MainActivity`: Huawei sets a badge only with
   * it (`android.notification.badge.class` is mandatory). Without it a notification's `badge`
   * is not sent to Huawei devices (give `hms.android.notification.badge` to set one anyway).
   */
  badgeClass?: string;
  /** Send every message with `validate_only: true` (Huawei checks it, delivers nothing). */
  validateOnly?: boolean;
  /** HTTP/2 connections to the send endpoint. Default: the transport's. */
  connections?: number;
  /** Per-request timeout, ms. Default: the transport's. */
  timeoutMs?: number;
  /** HTTP CONNECT proxy URL. */
  proxy?: string;
  /** `'wire'` (default) or `'node-http2'`, as for `fcm()`. */
  transport?: Http2Client;
  /** Name reported in feedback and summaries. Default `'hms'`, or `'hms:<app>'` with `app`. Unique within a client. */
  name?: string;
}

export interface ResolvedHmsOptions {
  name: string;
  appId: string;
  clientId: string;
  clientSecret: string;
  /** Origin of the send API, e.g. `https://push-api.cloud.huawei.com`. */
  endpointOrigin: string;
  /** `/v1/<appId>/messages:send`, with any base path of `endpoint` in front. */
  sendPath: string;
  /** The OAuth token URL, checked. */
  authUrl: URL;
  app: string | undefined;
  batchSize: number;
  concurrency: number;
  badgeClass: string | undefined;
  validateOnly: boolean;
  ca: HmsOptions['ca'];
  connections: number | undefined;
  timeoutMs: number | undefined;
  proxy: string | undefined;
  protocol: 'h2' | 'h2-wire';
}

function positiveInt(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `a whole number from 1 to ${max}`;
    throw configError(`\`${name}\` must be ${range}, got ${quoteValue(value)}`);
  }
  return value;
}

function nonEmpty(value: unknown, name: string, hint: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
  if (typeof value !== 'string' || value.trim() === '') {
    throw configError(`\`${name}\` is missing: ${hint}`);
  }
  return value.trim();
}

function url(value: string, name: string, allowInsecureLoopback: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw configError(`\`${name}\` ${quoteValue(value)} is not a URL`);
  }
  const cleartext = cleartextProblem(parsed, `\`${name}\``, allowInsecureLoopback);
  if (cleartext !== undefined) throw configError(cleartext);
  return parsed;
}

/** Checks `hms()` options. Throws `config` PushErrors (never showing the secret). */
export function resolveHmsOptions(options: HmsOptions): ResolvedHmsOptions {
  if (typeof options !== 'object' || options === null) throw configError('options must be an object');
  const appId = nonEmpty(
    options.appId,
    'appId',
    'the app id from AppGallery Connect (Project settings → App information)',
  );
  if (!/^[A-Za-z0-9._-]+$/.test(appId)) {
    throw configError(
      `\`appId\` ${quoteValue(appId)} is not an app id (digits, as AppGallery Connect shows it)`,
    );
  }
  const clientId =
    options.clientId === undefined
      ? appId
      : nonEmpty(options.clientId, 'clientId', 'the OAuth 2.0 client id, or leave it out to use appId');
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') {
    throw configError(
      '`clientSecret` is missing: the OAuth 2.0 client secret from AppGallery Connect (Project settings → App information)',
    );
  }
  const allowInsecureLoopback = options.allowInsecureLoopback === true;
  const endpoint = url(options.endpoint ?? DEFAULT_ENDPOINT, 'endpoint', allowInsecureLoopback);
  const authUrl = url(options.authEndpoint ?? DEFAULT_AUTH_ENDPOINT, 'authEndpoint', allowInsecureLoopback);
  if (options.app !== undefined && (typeof options.app !== 'string' || options.app === '')) {
    throw configError('`app` must be a non-empty string');
  }
  if (
    options.badgeClass !== undefined &&
    (typeof options.badgeClass !== 'string' || options.badgeClass === '')
  ) {
    throw configError(
      '`badgeClass` must be the full name of the app\'s entry activity, e.g. "com.example.MainActivity"',
    );
  }
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  return {
    name: providerName('hms', options.name, options.app),
    appId,
    clientId,
    clientSecret: options.clientSecret,
    endpointOrigin: endpoint.origin,
    sendPath: `${basePath}/v1/${encodeURIComponent(appId)}/messages:send`,
    authUrl,
    app: options.app,
    batchSize: positiveInt(options.batchSize, 'batchSize', MAX_TOKENS_PER_REQUEST) ?? MAX_TOKENS_PER_REQUEST,
    concurrency: positiveInt(options.concurrency, 'concurrency') ?? 8,
    badgeClass: options.badgeClass,
    validateOnly: options.validateOnly === true,
    ca: options.ca,
    connections: positiveInt(options.connections, 'connections'),
    timeoutMs: positiveInt(options.timeoutMs, 'timeoutMs'),
    proxy: options.proxy,
    protocol: http2Protocol('hms', options.transport),
  };
}

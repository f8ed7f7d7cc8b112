/**
 * The options of `apns()` and their validation. Everything that can be checked without a
 * request is checked here, at construction, and reported as a `config` PushError naming
 * the problem and the fix — not as a million failed requests later.
 */

import type { KeyObject } from 'node:crypto';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Platform } from '../../device.js';
import { PLATFORMS } from '../../device.js';
import { cleartextProblem } from '../../https-only.js';
import { providerName } from '../../provider.js';
import { maskUrl, quoteValue, secretDescription } from '../../redact.js';
import { type Http2Client, http2Protocol } from '../../transport/index.js';
import type { Pool, TlsOptions } from '../../transport/types.js';
import type { CertificateMaterial } from './certificate-auth.js';
import { describePem, loadPemCertificate, loadPkcs12 } from './certificate-auth.js';
import { configError, PROVIDER_NAME } from './errors.js';

export const PRODUCTION_ORIGIN = 'https://api.push.apple.com';
export const SANDBOX_ORIGIN = 'https://api.sandbox.push.apple.com';
/** Where the adaptive in-flight limit starts (and the lane's limit with a pool that has none). */
export const DEFAULT_CONCURRENCY = 1000;
/** Channel management (broadcast push), production: Apple's `api-manage-broadcast.push.apple.com`, port 2196 (docs/APNS-BROADCAST.md). */
export const MANAGE_PRODUCTION_ORIGIN = 'https://api-manage-broadcast.push.apple.com:2196';
/** Channel management (broadcast push), development: `api-manage-broadcast.sandbox.push.apple.com`, port 2195. */
export const MANAGE_SANDBOX_ORIGIN = 'https://api-manage-broadcast.sandbox.push.apple.com:2195';

/**
 * Options of {@link apns}. Token auth: `teamId` + `keyId` + `key` (the `.p8`). Certificate
 * auth: `cert` + `key` (PEM) or `pfx` (`.p12`), with `passphrase` when encrypted.
 */
export interface ApnsOptions {
  /** Token auth: your 10-character Team ID (the JWT's `iss`). */
  teamId?: string;
  /** Token auth: the 10-character Key ID of the `.p8` key (the JWT's `kid`). */
  keyId?: string;
  /**
   * Token auth: the `.p8` key (PEM text, a Buffer, or a file path).
   * Certificate auth: the certificate's PEM private key (text, Buffer or path).
   */
  key?: string | Buffer;
  /** Certificate auth: the PEM client certificate (text, Buffer or path). */
  cert?: string | Buffer;
  /** Certificate auth: the `.p12` bundle (Buffer or path). */
  pfx?: string | Buffer;
  /** Passphrase of the `.p12` or of an encrypted PEM key. */
  passphrase?: string;
  /** Your app's bundle id (`apns-topic`). With certificate auth it defaults to the certificate's UID. */
  topic?: string;
  /**
   * `true`: api.push.apple.com; `false`: api.sandbox.push.apple.com. Required unless
   * `endpoint` is given, because a token of one environment is `BadDeviceToken` in the other
   * and would be reported as dead.
   */
  production?: boolean;
  /** Base URL overriding the environment, e.g. an emulator's `https://127.0.0.1:<port>` or port 2197. */
  endpoint?: string;
  /**
   * Allow an `http://` (cleartext h2c) `endpoint` on a loopback host (127.0.0.0/8, ::1,
   * localhost), for a local test server. Default false: the endpoint must be `https://`,
   * because the requests carry device tokens and the provider token.
   */
  allowInsecureLoopback?: boolean;
  /** Extra trusted CA(s), PEM: for a local server's self-signed certificate. */
  ca?: TlsOptions['ca'];
  /** The app this provider serves when one client serves several apps (devices carry `app`). */
  app?: string;
  /**
   * Name in feedback (`Feedback.provider`), summaries and metrics. Default `'apns'`, or
   * `'apns:<app>'` with `app`. Unique within a client.
   */
  name?: string;
  /** Device platforms routed here; default `['ios']`. */
  platforms?: Platform[];
  /**
   * Most HTTP/2 connections to APNs, fixed (Apple recommends several for volume). Default: the
   * pool opens them as the in-flight limit needs — a new one when every open one has its
   * 1,000 streams (APNs' SETTINGS_MAX_CONCURRENT_STREAMS) busy — up to `maxConnections`.
   */
  connections?: number;
  /** Cap on the connections opened when `connections` is not set. Default 16. */
  maxConnections?: number;
  /**
   * Requests in flight at once, fixed. Default: adaptive — starts at 1,000, grows while the
   * round trip stays near its no-load value (APNs is 30–150 ms away: 1,000 in flight at 100 ms
   * is at most 10,000/s), backs off on a rising round trip, `429`, refused streams and GOAWAY,
   * up to `maxConcurrency` (README, Latency). The engine's window follows it.
   */
  concurrency?: number;
  /** Cap on the adaptive in-flight limit when `concurrency` is not set. Default 10,000. */
  maxConcurrency?: number;
  /** Per-request timeout in ms. */
  timeoutMs?: number;
  /** HTTP CONNECT proxy URL, e.g. `http://proxy.internal:3128`. */
  proxy?: string;
  /**
   * Which HTTP/2 client carries the requests: `'wire'` (default), pushline's own framing and HPACK
   * on the pool's TLS connections (src/transport/wire/), or `'node-http2'`, Node's own client. The
   * pool behaves the same on both; 'wire' takes about a fifth of the CPU per request, so several
   * times the pushes per second (README, Performance). 'node-http2' is the fallback if you suspect
   * the wire client: same options, same outcomes.
   */
  transport?: Http2Client;
  /** Receives warnings (certificate expiring soon). Default: `process.emitWarning`. */
  onWarning?: (message: string, code: string) => void;
  /** Milliseconds since the epoch; for tests. Default `Date.now`. */
  clock?: () => number;
  /** Send through this pool instead of the one shared by every client of the credential (the provider then does not close it). */
  pool?: Pool;
}

export type ResolvedAuth =
  | { kind: 'token'; teamId: string; keyId: string; key: KeyObject }
  | { kind: 'certificate'; material: CertificateMaterial };

export interface ResolvedApnsOptions {
  name: string;
  auth: ResolvedAuth;
  topic: string;
  origin: string;
  /** `production`, `sandbox`, or the endpoint: used in messages. */
  environment: string;
  app: string | undefined;
  platforms: readonly Platform[];
  connections: number | undefined;
  maxConnections: number | undefined;
  /** Fixed in-flight limit; undefined: adaptive (the pool's). */
  concurrency: number | undefined;
  maxConcurrency: number | undefined;
  timeoutMs: number | undefined;
  proxy: string | undefined;
  protocol: 'h2' | 'h2-wire';
  ca: TlsOptions['ca'] | undefined;
  clock: () => number;
  onWarning: (message: string, code: string) => void;
  pool: Pool | undefined;
}

const APPLE_ID = /^[A-Z0-9]{10}$/;

/** Validates and normalises the options; throws a `config` PushError on the first problem. */
export function resolveApnsOptions(options: ApnsOptions): ResolvedApnsOptions {
  if (options === null || typeof options !== 'object') {
    throw configError('options must be an object: apns({ teamId, keyId, key, topic, production })');
  }
  const auth = resolveAuth(options);
  const topic = options.topic ?? (auth.kind === 'certificate' ? auth.material.topic : undefined);
  if (topic === undefined) {
    throw configError("topic is required: your app's bundle id, e.g. topic: 'com.example.app'");
  }
  if (typeof topic !== 'string' || topic === '' || /\s/.test(topic)) {
    throw configError(`topic must be your app's bundle id without spaces; got ${quoteValue(topic)}`);
  }
  const { origin, environment } = resolveOrigin(options);
  if (options.app !== undefined && (typeof options.app !== 'string' || options.app === '')) {
    throw configError('app must be a non-empty string');
  }
  const name = providerName(PROVIDER_NAME, options.name, options.app);
  const platforms = options.platforms ?? ['ios'];
  if (!Array.isArray(platforms) || platforms.length === 0 || !platforms.every((p) => PLATFORMS.includes(p))) {
    throw configError(
      `platforms must be a non-empty list of ${PLATFORMS.join(', ')}; got ${quoteValue(platforms)}`,
    );
  }
  if (options.proxy !== undefined) checkUrl(options.proxy, 'proxy');
  if (options.clock !== undefined && typeof options.clock !== 'function')
    throw configError('clock must be a function');
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') {
    throw configError('onWarning must be a function (message, code) => void');
  }
  const clock = options.clock ?? Date.now;
  if (auth.kind === 'certificate' && auth.material.expiresAt.getTime() <= clock()) {
    throw configError(
      `the push certificate expired on ${auth.material.expiresAt.toISOString()}: make a new one on Apple's developer site (or switch to token auth, whose keys do not expire)`,
    );
  }
  return {
    name,
    auth,
    topic,
    origin,
    environment,
    app: options.app,
    platforms: [...platforms],
    connections: positiveInteger(options.connections, 'connections'),
    maxConnections: positiveInteger(options.maxConnections, 'maxConnections'),
    concurrency: positiveInteger(options.concurrency, 'concurrency'),
    maxConcurrency: positiveInteger(options.maxConcurrency, 'maxConcurrency'),
    timeoutMs: positiveInteger(options.timeoutMs, 'timeoutMs'),
    proxy: options.proxy,
    protocol: http2Protocol('apns', options.transport),
    ca: options.ca,
    clock,
    onWarning:
      options.onWarning ??
      ((message, code) => process.emitWarning(message, { code, type: 'PushlineWarning' })),
    pool: options.pool,
  };
}

function resolveAuth(options: ApnsOptions): ResolvedAuth {
  const token = options.teamId !== undefined || options.keyId !== undefined;
  const certificate = options.cert !== undefined || options.pfx !== undefined;
  if (token && certificate) {
    throw configError(
      'give one kind of auth, not both: token auth (teamId, keyId, key) or certificate auth (cert + key, or pfx)',
    );
  }
  if (certificate) return resolveCertificateAuth(options);
  if (options.key === undefined && !token) {
    throw configError(
      'no credentials: give teamId, keyId and key (the .p8 file) for token auth, or cert + key / pfx for certificate auth',
    );
  }
  return resolveTokenAuth(options);
}

function resolveTokenAuth(options: ApnsOptions): ResolvedAuth {
  const { teamId, keyId } = options;
  if (teamId === undefined) {
    throw configError(
      "token auth needs teamId: your 10-character Team ID (Apple developer site, 'Membership details')",
    );
  }
  if (typeof teamId !== 'string' || !APPLE_ID.test(teamId)) {
    throw configError(
      `teamId must be your 10-character Team ID (capital letters and digits); got ${quoteValue(teamId)}`,
    );
  }
  if (keyId === undefined) {
    throw configError(
      "token auth needs keyId: the 10-character Key ID shown with the key (it is in the .p8's name, AuthKey_<keyId>.p8)",
    );
  }
  if (typeof keyId !== 'string' || !APPLE_ID.test(keyId)) {
    throw configError(
      `keyId must be the key's 10-character Key ID (capital letters and digits); got ${quoteValue(keyId)}`,
    );
  }
  if (options.key === undefined) {
    throw configError(
      "token auth needs key: the .p8 file from Apple's developer site (its text, a Buffer, or its path)",
    );
  }
  const pem = readPemOrFile(options.key, 'key', 'PRIVATE KEY');
  const expected = "key is not a PKCS#8 EC P-256 private key (the .p8 file from Apple's developer site)";
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (cause) {
    throw configError(`${expected}; got ${describePem(pem)}`, cause);
  }
  if (key.asymmetricKeyType !== 'ec') {
    throw configError(
      `${expected}; got a${key.asymmetricKeyType === 'rsa' ? 'n' : ''} ${key.asymmetricKeyType?.toUpperCase()} private key`,
    );
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== 'prime256v1') throw configError(`${expected}; got an EC key on curve ${curve}`);
  return { kind: 'token', teamId, keyId, key };
}

function resolveCertificateAuth(options: ApnsOptions): ResolvedAuth {
  if (options.cert !== undefined && options.pfx !== undefined) {
    throw configError('give cert + key (PEM) or pfx (.p12), not both');
  }
  if (options.passphrase !== undefined && typeof options.passphrase !== 'string') {
    throw configError('passphrase must be a string');
  }
  if (options.pfx !== undefined) {
    if (options.key !== undefined)
      throw configError('key is not used with pfx: the .p12 holds the key already');
    const pfx = Buffer.isBuffer(options.pfx) ? options.pfx : readFile(options.pfx, 'pfx');
    return { kind: 'certificate', material: loadPkcs12(pfx, options.passphrase) };
  }
  if (options.key === undefined) {
    throw configError(
      "certificate auth with cert needs key: the certificate's PEM private key (or use pfx with the .p12)",
    );
  }
  const cert = readPemOrFile(options.cert as string | Buffer, 'cert', 'CERTIFICATE');
  const key = readPemOrFile(options.key, 'key', 'PRIVATE KEY');
  return { kind: 'certificate', material: loadPemCertificate(cert, key, options.passphrase) };
}

function resolveOrigin(options: ApnsOptions): { origin: string; environment: string } {
  if (options.endpoint !== undefined) {
    const url = checkUrl(options.endpoint, 'endpoint');
    const cleartext = cleartextProblem(url, 'endpoint', options.allowInsecureLoopback === true);
    if (cleartext !== undefined) throw configError(cleartext);
    if (url.pathname !== '/' || url.search !== '') {
      throw configError(
        `endpoint is a base URL (scheme, host, port) without a path; got ${quoteValue(options.endpoint)}`,
      );
    }
    return { origin: url.origin, environment: url.origin };
  }
  if (typeof options.production !== 'boolean') {
    throw configError(
      'say which APNs environment to use: production: true (api.push.apple.com, App Store/TestFlight builds) or production: false (sandbox, development builds); or give an endpoint',
    );
  }
  return options.production
    ? { origin: PRODUCTION_ORIGIN, environment: 'production' }
    : { origin: SANDBOX_ORIGIN, environment: 'sandbox' };
}

/**
 * The channel management origin (broadcast push): `manageEndpoint` if given (checked as
 * `endpoint` is), else the environment's `api-manage-broadcast` host. With an `endpoint` and no
 * `manageEndpoint` there is no right answer (the endpoint's host serves no channel API), so
 * that is a `config` error rather than a guess.
 */
export function resolveManageOrigin(options: ApnsOptions & { manageEndpoint?: string }): string {
  if (options.manageEndpoint !== undefined) {
    const url = checkUrl(options.manageEndpoint, 'manageEndpoint');
    const cleartext = cleartextProblem(url, 'manageEndpoint', options.allowInsecureLoopback === true);
    if (cleartext !== undefined) throw configError(cleartext);
    if (url.pathname !== '/' || url.search !== '') {
      throw configError(
        `manageEndpoint is a base URL (scheme, host, port) without a path; got ${quoteValue(options.manageEndpoint)}`,
      );
    }
    return url.origin;
  }
  if (options.endpoint !== undefined) {
    throw configError(
      'with an endpoint, give manageEndpoint too: the channel management API is on its own host (an emulator gives both)',
    );
  }
  return options.production === true ? MANAGE_PRODUCTION_ORIGIN : MANAGE_SANDBOX_ORIGIN;
}

/**
 * PEM text stays as is; a Buffer is used as is; a string naming an existing file is read;
 * base64 without its BEGIN/END lines (as keys kept in variables often are) is taken as the
 * DER of `label`. A string that looks like key material is never echoed, whichever it was.
 */
function readPemOrFile(
  value: string | Buffer,
  name: string,
  label: 'PRIVATE KEY' | 'CERTIFICATE',
): string | Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value !== 'string' || value === '')
    throw configError(`${name} must be PEM text, a Buffer or a file path`);
  if (value.includes('-----BEGIN')) {
    // Keys kept in environment variables often arrive with literal "\n" for newlines.
    return value.includes('\\n') ? value.replace(/\\n/g, '\n') : value;
  }
  const secret = secretDescription(value);
  if (secret === undefined || existsSync(value)) return readFile(value, name);
  const base64 = value.replace(/\\[nr]|\s+/g, '');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    const lines = base64.match(/.{1,64}/g) ?? [];
    const pem = `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
    try {
      if (label === 'CERTIFICATE') new X509Certificate(pem);
      else createPrivateKey(pem);
      return pem;
    } catch {
      // Not DER of a key or certificate: refused below, without the value.
    }
  }
  throw configError(
    `${name} is neither PEM text nor the path of a file: it holds ${secret} (not shown). ` +
      `Pass the ${label === 'CERTIFICATE' ? 'certificate' : 'key'}'s PEM text with its BEGIN/END lines, a Buffer, or the file's path`,
  );
}

function readFile(path: string, name: string): Buffer {
  if (typeof path !== 'string' || path === '') throw configError(`${name} must be a Buffer or a file path`);
  try {
    return readFileSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    const secret = secretDescription(path);
    if (secret !== undefined) {
      // The cause's message quotes the "path": it is not attached either.
      throw configError(
        `cannot read the ${name} file (${code}): the value given is not a path but ${secret} (not shown)`,
      );
    }
    throw configError(
      `cannot read the ${name} file '${path}' (${code}): check the path and its permissions`,
      cause,
    );
  }
}

function checkUrl(value: unknown, name: string): URL {
  try {
    return new URL(String(value));
  } catch {
    // The cause (TypeError: Invalid URL) carries the input: not attached.
    throw configError(
      `${name} is not a URL: ${quoteValue(typeof value === 'string' ? maskUrl(value) : value)}`,
    );
  }
}

function positiveInteger(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw configError(`${name} must be a positive integer; got ${quoteValue(value)}`);
  }
  return value;
}

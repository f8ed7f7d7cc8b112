/**
 * The options of `webPush()` and their checks at construction: everything that can be checked
 * without a request is reported at once as a `config` PushError (the VAPID keys in `vapid.ts`,
 * the origin circuit's numbers in `origin-circuit.ts`).
 */
import { availableParallelism } from 'node:os';
import { providerName } from '../../provider.js';
import type { Http2Client } from '../../transport/index.js';
import type { TlsOptions } from '../../transport/types.js';
import type { LookupFunction } from './endpoint-guard.js';
import { configError } from './errors.js';
import type { OriginCircuitOptions } from './origin-circuit.js';
import type { VapidOptions } from './vapid.js';

export interface WebPushOptions {
  /** VAPID identity (RFC 8292): `{ subject, publicKey, privateKey }` in the `web-push` key form. */
  vapid: VapidOptions;
  /** Name in feedback and summaries. Default `webpush`, or `webpush:<app>` with `app`. Unique within a client. */
  name?: string;
  /** Serve only devices with this `app` (when one client serves several apps). */
  app?: string;
  /** Requests in flight at once for this provider (engine lane limit). Default: the client's window. */
  concurrency?: number;
  /** Extra trusted CA(s), PEM: the emulator's `ca`, or a corporate TLS-inspecting proxy's. */
  ca?: TlsOptions['ca'];
  /**
   * Endpoint hosts allowed even though they are (or resolve to) private, loopback or
   * link-local addresses, e.g. `['127.0.0.1']` for the emulator. Exact host names or IP literals.
   */
  allowHosts?: string[];
  /** Allow every endpoint address (only https is still required). For push services on a private network. */
  allowPrivateNetworks?: boolean;
  /**
   * HTTP CONNECT proxy for the push services, e.g. `http://proxy.internal:3128`. pushline
   * resolves the endpoint's host itself, vets the address like a direct connection, and asks
   * the proxy to `CONNECT` to that vetted IP literal (TLS still checks the certificate against
   * the host name), so DNS rebinding cannot reach a refused address through the proxy either.
   */
  proxy?: string;
  /**
   * With `proxy`: ask the proxy to `CONNECT` to the host *name* and let it resolve it (for
   * proxies that filter by domain name). The endpoint is still vetted before the request, but
   * the address the proxy connects to is not: the proxy must itself refuse the address ranges
   * listed in the README (Security). Default false.
   */
  proxyResolvesHosts?: boolean;
  /**
   * The per-origin circuit (see `origin-circuit.ts` and the README, Security): an origin that
   * refuses our VAPID authorization, fails TLS verification or answers garbage `failures` times
   * in a row (default 5) fails its devices without a request for `cooldownMs` (default 10 s,
   * doubling per failed probe up to `maxCooldownMs`, default 5 min).
   */
  originCircuit?: Pick<OriginCircuitOptions, 'failures' | 'cooldownMs' | 'maxCooldownMs'>;
  /**
   * The independent push services whose refusals count as evidence that *our* VAPID key (or
   * TLS trust) is wrong: host suffixes (`fcm.googleapis.com`) or origins, one entry per
   * operator. When two of them refuse the same way, the lane stops (`auth` / `config`).
   * Default: FCM, Mozilla autopush, Apple Web Push and Microsoft WNS.
   */
  pushServices?: string[];
  /** Per-request timeout (ms) from queueing to the full response. Default: the transport's. */
  timeoutMs?: number;
  /** Connections per push-service origin. Default: the transport's. */
  connectionsPerOrigin?: number;
  /** Close a push service's connections after this long unused (ms). Default 60 s. */
  idleCloseMs?: number;
  /**
   * Most push-service origins with open connections at once. Subscriptions name their origins,
   * so without a cap a list of attacker origins would hold a socket each until descriptors run
   * out. At the cap the origin idle longest is closed for a new one; when all are busy the new
   * origin's device fails `unavailable` (reason `too-many-origins`, retried later). Default 256.
   */
  maxOrigins?: number;
  /**
   * The HTTP/2 client for push services that speak HTTP/2 (ALPN decides; HTTP/1.1 ones get
   * keep-alive connections either way): `'wire'` (default), pushline's own, or `'node-http2'`.
   * As for apns() and fcm() (README, Providers).
   */
  transport?: Http2Client;
  /** Host-verdict cache lifetime for the endpoint guard (ms). Default 30 s. */
  dnsCacheTtlMs?: number;
  /** DNS resolver used by the endpoint guard (defaults to `dns.lookup`); for tests and custom resolvers. */
  lookup?: LookupFunction;
  /**
   * Worker threads that encrypt the messages (RFC 8291 needs an ECDH per message, which costs
   * more CPU than the request), so the main thread only does HTTP/2 and the engine.
   * Default `max(1, os.availableParallelism() - 1)`; `0` encrypts inline on the main thread.
   * The workers start on first send, never keep the process alive, are replaced if they die
   * (the messages they held fail with `internal`) and stop in `close()`/`destroy()`. If a
   * worker cannot start at all (e.g. a bundler left out `encrypt-worker.js`), encryption
   * falls back to inline.
   */
  encryptionThreads?: number;
}

/** The options with their defaults filled in where the provider needs them at once. */
export interface ResolvedWebPushOptions extends WebPushOptions {
  name: string;
  /** Worker threads for encryption; 0 encrypts inline. */
  encryptionThreads: number;
}

/** Checks the options; throws a `config` PushError on the first problem. */
export function resolveWebPushOptions(options: WebPushOptions): ResolvedWebPushOptions {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw configError('options are missing: webPush({ vapid: { subject, publicKey, privateKey } })');
  }
  if (
    options.concurrency !== undefined &&
    (!Number.isInteger(options.concurrency) || options.concurrency < 1)
  ) {
    throw configError(`concurrency must be a whole number ≥ 1, got ${options.concurrency}`);
  }
  if (options.allowHosts !== undefined && !Array.isArray(options.allowHosts)) {
    throw configError('allowHosts must be an array of host names');
  }
  const threads = options.encryptionThreads ?? Math.max(1, availableParallelism() - 1);
  if (!Number.isInteger(threads) || threads < 0) {
    throw configError(`encryptionThreads must be a whole number ≥ 0, got ${options.encryptionThreads}`);
  }
  return { ...options, name: providerName('webpush', options.name, options.app), encryptionThreads: threads };
}

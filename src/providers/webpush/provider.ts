/**
 * The Web Push provider: one notification, many browsers, many push services. Per send the
 * message and headers are made once; per device the subscription is checked, its endpoint
 * guarded, the message encrypted for it, and POSTed to its push service's pool with the
 * VAPID header cached for that origin.
 */
import { availableParallelism } from 'node:os';
import { PushError } from '../../errors.js';
import type { Notification } from '../../notification.js';
import type { DryRun, Outcome, PreparedSend, Provider, SendContext } from '../../provider.js';
import { type Http2Client, http2Protocol, PoolRegistry } from '../../transport/index.js';
import type { TlsOptions } from '../../transport/types.js';
import { CHECKED_LOCALLY, localDryRun } from './dry-run.js';
import { encryptAes128gcm, preparePlaintext } from './encrypt.js';
import { EncryptionPool } from './encrypt-pool.js';
import { EndpointGuard, type GuardVerdict, type LookupFunction } from './endpoint-guard.js';
import { prepareHeaders } from './headers.js';
import { buildPlaintext } from './message.js';
import { type OriginCircuitOptions, OriginCircuits } from './origin-circuit.js';
import { classifyResponse } from './responses.js';
import { type ParsedSubscription, parseSubscription } from './subscription.js';
import { blameTransportError } from './transport-blame.js';
import { loadVapid, VapidAuthorizer, type VapidOptions } from './vapid.js';

export interface WebPushOptions {
  /** VAPID identity (RFC 8292): `{ subject, publicKey, privateKey }` in the `web-push` key form. */
  vapid: VapidOptions;
  /** Name in feedback and summaries. Default `webpush`. */
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

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

class WebPushProvider implements Provider {
  readonly name: string;
  readonly platforms = ['web'] as const;
  readonly app: string | undefined;
  readonly concurrency: number | undefined;
  readonly #vapid: VapidAuthorizer;
  readonly #guard: EndpointGuard;
  readonly #pools: PoolRegistry;
  readonly #circuits: OriginCircuits;
  /** Undefined when encrypting inline (`encryptionThreads: 0`). */
  readonly #encryption: EncryptionPool | undefined;
  readonly dryRun: DryRun = localDryRun((notification) => this.#prepare(notification, true));

  constructor(options: WebPushOptions) {
    if (options === undefined || options === null || typeof options !== 'object') {
      throw new PushError('config', 'webPush(options): options are missing');
    }
    this.name = options.name ?? 'webpush';
    this.app = options.app;
    if (
      options.concurrency !== undefined &&
      (!Number.isInteger(options.concurrency) || options.concurrency < 1)
    ) {
      throw new PushError(
        'config',
        `webPush: concurrency must be a whole number ≥ 1, got ${options.concurrency}`,
      );
    }
    this.concurrency = options.concurrency;
    if (options.allowHosts !== undefined && !Array.isArray(options.allowHosts)) {
      throw new PushError('config', 'webPush: allowHosts must be an array of host names');
    }
    const threads = options.encryptionThreads ?? Math.max(1, availableParallelism() - 1);
    if (!Number.isInteger(threads) || threads < 0) {
      throw new PushError(
        'config',
        `webPush: encryptionThreads must be a whole number ≥ 0, got ${options.encryptionThreads}`,
      );
    }
    this.#vapid = new VapidAuthorizer(loadVapid(options.vapid));
    this.#guard = new EndpointGuard({
      allowHosts: options.allowHosts,
      allowPrivateNetworks: options.allowPrivateNetworks,
      cacheTtlMs: options.dnsCacheTtlMs,
      lookup: options.lookup,
    });
    this.#circuits = new OriginCircuits(this.name, {
      ...options.originCircuit,
      ...(options.pushServices === undefined ? {} : { pushServices: options.pushServices }),
    });
    // Vet the addresses each connection really uses, not only the first answer (DNS rebinding);
    // through a proxy the transport resolves with this lookup too and tunnels to the vetted address.
    const vetAtConnect =
      !options.allowPrivateNetworks && !(options.proxy !== undefined && options.proxyResolvesHosts);
    this.#pools = new PoolRegistry({
      // Push services differ: FCM and Mozilla speak HTTP/2, others may not; ALPN decides.
      protocol: http2Protocol('webPush', options.transport) === 'h2-wire' ? 'auto-wire' : 'auto',
      idleCloseMs: options.idleCloseMs ?? 60_000,
      ...(options.maxOrigins === undefined ? {} : { maxPools: options.maxOrigins }),
      ...(options.ca === undefined ? {} : { tls: { ca: options.ca } }),
      ...(options.proxy === undefined ? {} : { proxy: options.proxy }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.connectionsPerOrigin === undefined ? {} : { connections: options.connectionsPerOrigin }),
      ...(vetAtConnect ? { lookup: this.#guard.connectLookup() } : {}),
    });
    this.#encryption = threads === 0 ? undefined : new EncryptionPool({ threads });
  }

  prepare(notification: Notification): PreparedSend {
    return this.#prepare(notification, false);
  }

  #prepare(notification: Notification, dryRun: boolean): PreparedSend {
    const plaintext = preparePlaintext(buildPlaintext(notification));
    const headers = prepareHeaders(notification);
    return {
      send: (device, ctx) =>
        this.#send(device.token, plaintext, headers, ctx, dryRun).catch((thrown: unknown) => ({
          ok: false as const,
          error:
            thrown instanceof PushError
              ? thrown
              : new PushError(
                  'internal',
                  `webpush: ${thrown instanceof Error ? thrown.message : String(thrown)}`,
                  {
                    provider: this.name,
                    cause: thrown,
                  },
                ),
        })),
    };
  }

  async #send(
    token: unknown,
    plaintext: ReturnType<typeof preparePlaintext>,
    headers: ReturnType<typeof prepareHeaders>,
    ctx: SendContext,
    dryRun: boolean,
  ): Promise<Outcome> {
    const parsed = parseSubscription(token);
    if (!parsed.ok) return this.#invalid(parsed.reason);
    const subscription = parsed.subscription;

    // The cached paths stay synchronous: no promise per device for the guard or the JWT.
    let verdict: GuardVerdict | Promise<GuardVerdict> = this.#guard.check(subscription.url);
    if (isThenable(verdict)) verdict = await verdict;
    if (verdict !== undefined) {
      if ('refused' in verdict) return this.#invalid(verdict.refused);
      return { ok: false, error: verdict.error, requested: false };
    }

    const origin = subscription.origin;
    const admission = this.#circuits.admit(origin);
    if ('error' in admission) return { ok: false, error: admission.error, requested: false };
    let recorded = false;
    try {
      let authorization = this.#vapid.header(origin);
      if (isThenable(authorization)) authorization = await authorization;

      let body: Buffer | PushError | Promise<Buffer | PushError> = this.#encrypt(plaintext, subscription);
      if (isThenable(body)) body = await body;
      if (body instanceof PushError) return { ok: false, error: body, requested: false };
      // A dry run ends here (dry-run.ts): every check of a send, the encryption included, and no request.
      if (dryRun) return CHECKED_LOCALLY;

      let response: Awaited<ReturnType<ReturnType<PoolRegistry['get']>['request']>>;
      try {
        response = await this.#pools.get(origin).request({
          method: 'POST',
          path: subscription.path,
          headers: { ...headers.fixed, ttl: headers.ttl(), authorization },
          body,
          signal: ctx.signal,
        });
      } catch (thrown) {
        const { error, verdict } = blameTransportError(this.#withProvider(thrown), origin);
        recorded = true;
        const laneStop = this.#circuits.record(origin, verdict, error, admission.probe);
        return { ok: false, error: laneStop ?? error };
      }
      const { outcome, verdict } = classifyResponse(
        response.status,
        response.headers,
        response.body,
        this.name,
      );
      recorded = true;
      const laneStop = this.#circuits.record(
        origin,
        verdict,
        outcome.ok ? undefined : outcome.error,
        admission.probe,
      );
      return laneStop === undefined ? outcome : { ok: false, error: laneStop, httpStatus: response.status };
    } finally {
      if (!recorded) this.#circuits.release(origin, admission.probe);
    }
  }

  #encrypt(
    plaintext: ReturnType<typeof preparePlaintext>,
    subscription: ParsedSubscription,
  ): Buffer | PushError | Promise<Buffer | PushError> {
    if (this.#encryption !== undefined) {
      return this.#encryption
        .encrypt(plaintext, subscription.p256dh, subscription.auth)
        .catch((cause: unknown) => this.#encryptionError(cause));
    }
    try {
      return encryptAes128gcm(plaintext, subscription);
    } catch (cause) {
      return this.#encryptionError(cause);
    }
  }

  /** An off-curve p256dh is the subscription's fault; anything else is ours. */
  #encryptionError(cause: unknown): PushError {
    if ((cause as { code?: string }).code === 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY') {
      return new PushError('invalid-token', 'subscription.keys.p256dh is not a point on the P-256 curve', {
        reason: 'subscription.keys.p256dh is not a point on the P-256 curve',
        provider: this.name,
        cause,
      });
    }
    if (cause instanceof PushError) return this.#withProvider(cause);
    return new PushError(
      'internal',
      `webpush encryption: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        provider: this.name,
        cause,
      },
    );
  }

  #invalid(reason: string): Outcome {
    return {
      ok: false,
      error: new PushError('invalid-token', `invalid subscription: ${reason}`, {
        reason,
        provider: this.name,
      }),
      requested: false,
    };
  }

  #withProvider(thrown: unknown): PushError {
    if (thrown instanceof PushError) {
      if (thrown.provider !== undefined) return thrown;
      return new PushError(thrown.code, thrown.message, {
        reason: thrown.reason,
        httpStatus: thrown.httpStatus,
        retryable: thrown.retryable,
        retryAfterMs: thrown.retryAfterMs,
        maybeDelivered: thrown.maybeDelivered,
        provider: this.name,
        cause: thrown,
      });
    }
    return new PushError('internal', `webpush transport: ${String(thrown)}`, {
      provider: this.name,
      cause: thrown,
    });
  }

  async close(): Promise<void> {
    try {
      await this.#pools.close();
    } finally {
      await this.#encryption?.destroy();
    }
  }

  async destroy(): Promise<void> {
    await Promise.all([this.#encryption?.destroy(), this.#pools.destroy()]);
  }
}

/**
 * Creates the Web Push provider (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID).
 * Throws `PushError('config')` at once for a bad VAPID subject or keys.
 *
 * Devices: `{ platform: 'web', token: subscription }` where the subscription is
 * `PushSubscription.toJSON()` from the browser, as an object or its JSON string.
 */
export function webPush(options: WebPushOptions): Provider {
  return new WebPushProvider(options);
}

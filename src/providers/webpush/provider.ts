/**
 * The Web Push provider: one notification, many browsers, many push services. Per send the
 * message and headers are made once; per device the subscription is checked, its endpoint
 * guarded, the message encrypted for it, and POSTed to its push service's pool with the
 * VAPID header cached for that origin.
 */
import { PushError } from '../../errors.js';
import type { Notification } from '../../notification.js';
import type { DryRun, Outcome, PreparedSend, Provider, SendContext } from '../../provider.js';
import { http2Protocol, PoolRegistry } from '../../transport/index.js';
import { CHECKED_LOCALLY, localDryRun } from './dry-run.js';
import { encryptAes128gcm, preparePlaintext } from './encrypt.js';
import { EncryptionPool } from './encrypt-pool.js';
import { EndpointGuard, type GuardVerdict } from './endpoint-guard.js';
import { describe, encryptionError, internalError, invalidSubscription, withProvider } from './errors.js';
import { prepareHeaders } from './headers.js';
import { buildPlaintext } from './message.js';
import { type ResolvedWebPushOptions, resolveWebPushOptions, type WebPushOptions } from './options.js';
import { OriginCircuits } from './origin-circuit.js';
import { classifyResponse } from './responses.js';
import { type ParsedSubscription, parseSubscription } from './subscription.js';
import { blameTransportError } from './transport-blame.js';
import { loadVapid, VapidAuthorizer } from './vapid.js';

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

  constructor(options: ResolvedWebPushOptions) {
    this.name = options.name;
    this.app = options.app;
    this.concurrency = options.concurrency;
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
    const threads = options.encryptionThreads;
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
              : internalError(`webpush: ${describe(thrown)}`, this.name, thrown),
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
        const { error, verdict } = blameTransportError(withProvider(thrown, this.name), origin);
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
        .catch((cause: unknown) => encryptionError(cause, this.name));
    }
    try {
      return encryptAes128gcm(plaintext, subscription);
    } catch (cause) {
      return encryptionError(cause, this.name);
    }
  }

  #invalid(reason: string): Outcome {
    return { ok: false, error: invalidSubscription(reason, this.name), requested: false };
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
  return new WebPushProvider(resolveWebPushOptions(options));
}

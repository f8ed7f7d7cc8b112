/**
 * The APNs provider: `apns(options)` returns a {@link Provider} speaking Apple's HTTP/2
 * provider API (PROTOCOLS.md §1) through the shared transport pool.
 *
 * Per send, `prepare` validates the notification and builds the headers and the payload
 * bytes once; per device, `send` checks the token, adds the shared provider token (token
 * auth) and maps Apple's answer through the table in `responses.ts`. The folder's files:
 * README.md, "Anatomy of a provider".
 */
import type { Device } from '../../device.js';
import { PushError } from '../../errors.js';
import type { Notification } from '../../notification.js';
import {
  answerLater,
  type CallbackSend,
  type DryRun,
  handOutcome,
  type Outcome,
  type OutcomeSink,
  type PreparedSend,
  type Provider,
  SEND_TO,
  type SendContext,
  sendThroughSink,
} from '../../provider.js';
import { dispatchOn } from '../../transport/dispatch.js';
import type { Pool, ResponseSink, TransportRequest, TransportResponse } from '../../transport/types.js';
import { expiryWarning } from './certificate-auth.js';
import { deviceToken } from './device-token.js';
import { ApnsDryRun, localDryRun } from './dry-run.js';
import { badRequest, certificateExpired, failed, PROVIDER_NAME } from './errors.js';
import { buildHeaders, inferPushType } from './headers.js';
import { buildPayload, encodePayload } from './message.js';
import type { ApnsOptions, ResolvedApnsOptions } from './options.js';
import { DEFAULT_CONCURRENCY, resolveApnsOptions } from './options.js';
import type { Interpretation } from './responses.js';
import { interpretResponse } from './responses.js';
import { sharedPool, sharedTokens, type TokenLease } from './shared.js';
import type { ProviderToken, ProviderTokenCache } from './token-auth.js';

/** Warning code for a certificate expiring within 30 days. */
export const CERT_EXPIRING_WARNING = 'PUSHLINE_APNS_CERT_EXPIRING';

const DAY_MS = 24 * 3600_000;

/** The provider `apns()` returns. */
export interface ApnsProvider extends Provider {
  /** `apns` by default, `apns:<app>` with `app`, or the `name` option. */
  readonly name: string;
  /** The APNs origin requests go to. */
  readonly origin: string;
  /** When the client certificate expires (certificate auth only). */
  readonly certificateExpiresAt: Date | undefined;
  /** Local: APNs has no validate-only request. */
  readonly dryRun: DryRun;
  /** Drops every connection now (in-flight sends fail with `closed`); resolves when their sockets have closed. */
  destroy(): Promise<void>;
}

/**
 * Creates an APNs provider. Throws a `config` PushError at once for bad options (missing
 * Team ID, a key that is not a P-256 `.p8`, an unreadable file, both auth kinds, no topic…).
 *
 * Providers of the same credential share one connection pool per APNs host and one provider
 * token, whatever their topic (shared.ts): one `apns()` per app of a team, with its `topic` and
 * `app`, costs no connection and no JWT of its own. Closing one leaves the others working.
 *
 * @example
 * ```ts
 * apns({ teamId: 'ABCDE12345', keyId: 'KEY1234567', key: './AuthKey_KEY1234567.p8', topic: 'com.example.app', production: true })
 * ```
 */
export function apns(options: ApnsOptions): ApnsProvider {
  return new Apns(resolveApnsOptions(options));
}

class Apns implements ApnsProvider {
  readonly name: string;
  readonly platforms;
  readonly app;
  readonly origin;
  readonly #options: ResolvedApnsOptions;
  readonly #pool: Pool;
  readonly #ownsPool: boolean;
  readonly #tokenLease: TokenLease | undefined;
  readonly #tokens: ProviderTokenCache | undefined;
  #lastExpiryCheckMs = Number.NEGATIVE_INFINITY;

  /** Local (dry-run.ts): every check a send makes before its request, and no request. */
  readonly dryRun: DryRun = localDryRun((notification) => {
    this.#encode(notification);
    return new ApnsDryRun(this.#tokens, this.#expiredCertificate());
  });

  constructor(options: ResolvedApnsOptions) {
    this.#options = options;
    this.name = options.name;
    this.platforms = options.platforms;
    this.app = options.app;
    this.origin = options.origin;
    this.#ownsPool = options.pool === undefined;
    this.#pool = options.pool ?? sharedPool(options, options.origin, options.connections);
    this.#tokenLease = sharedTokens(options);
    this.#tokens = this.#tokenLease?.tokens;
    // Sign the first token now, off the first send's path (once per key: another app's
    // provider may have signed it already). A failure resurfaces on that send.
    try {
      if (this.#tokens !== undefined && this.#tokens.current === undefined) this.#tokens.mintNow();
    } catch {}
    this.#checkCertificateExpiry();
  }

  /** The fixed `concurrency`, else the pool's adaptive in-flight limit as it is now. */
  get concurrency(): number {
    return this.#options.concurrency ?? this.#pool.limit ?? DEFAULT_CONCURRENCY;
  }

  get certificateExpiresAt(): Date | undefined {
    const { auth } = this.#options;
    return auth.kind === 'certificate' ? auth.material.expiresAt : undefined;
  }

  prepare(notification: Notification): PreparedSend {
    let encoded: { headers: Record<string, string>; body: Buffer };
    try {
      encoded = this.#encode(notification);
    } catch (thrown) {
      throw this.name === PROVIDER_NAME ? thrown : named(thrown, this.name);
    }
    const { headers, body } = encoded;
    const send = new PreparedApnsSend(this.#pool, this.#tokens, this.#options.environment, headers, body);
    return this.name === PROVIDER_NAME ? send : new NamedSend(send, this.name);
  }

  /** Validates the notification and encodes it once: the headers and the payload bytes. */
  #encode(notification: Notification): { headers: Record<string, string>; body: Buffer } {
    if (notification === null || typeof notification !== 'object')
      throw badRequest('the notification must be an object');
    this.#checkCertificateExpiry();
    const now = this.#options.clock();
    const pushType = inferPushType(notification);
    const headers = buildHeaders(notification, pushType, this.#options.topic, now);
    const body = encodePayload(buildPayload(notification, pushType, now), pushType);
    return { headers, body };
  }

  /** The `auth` error a send would meet with an expired client certificate (certificate auth). */
  #expiredCertificate(): PushError | undefined {
    const expiresAt = this.certificateExpiresAt;
    if (expiresAt === undefined || expiresAt.getTime() > this.#options.clock()) return undefined;
    return certificateExpired(expiresAt);
  }

  /** Finishes in-flight requests, then gives back this provider's share of the pool (the last share closes it). */
  async close(): Promise<void> {
    this.#tokenLease?.release();
    if (this.#ownsPool) await this.#pool.close();
  }

  /**
   * Gives back this provider's share of the pool at once; the last share destroys the pool
   * (in-flight sends fail `closed`). While other providers share it, their connections stay
   * and this provider's requests in flight end as the client's abort ends them.
   */
  async destroy(): Promise<void> {
    this.#tokenLease?.release();
    if (this.#ownsPool) await this.#pool.destroy();
  }

  /** Warns (at most once a day) while the certificate is within 30 days of expiry. */
  #checkCertificateExpiry(): void {
    const expiresAt = this.certificateExpiresAt;
    if (expiresAt === undefined) return;
    const now = this.#options.clock();
    if (now - this.#lastExpiryCheckMs < DAY_MS) return;
    this.#lastExpiryCheckMs = now;
    const warning = expiryWarning(expiresAt, now);
    if (warning !== undefined) this.#options.onWarning(warning, CERT_EXPIRING_WARNING);
  }
}

/** A PushError the provider raised, with the provider's own `name` rather than `apns`. */
function named(thrown: unknown, name: string): unknown {
  return thrown instanceof PushError && thrown.provider === PROVIDER_NAME
    ? thrown.with({ provider: name })
    : thrown;
}

/** A renamed provider's send: its failures name it (the success path is untouched). */
class NamedSend implements PreparedSend {
  readonly #send: PreparedApnsSend;
  readonly #name: string;
  readonly #rename = (outcome: Outcome): Outcome =>
    outcome.ok || outcome.error.provider !== PROVIDER_NAME
      ? outcome
      : { ...outcome, error: outcome.error.with({ provider: this.#name }) };

  constructor(send: PreparedApnsSend, name: string) {
    this.#send = send;
    this.#name = name;
  }

  send(device: Device, ctx: SendContext): Promise<Outcome> {
    return this.#send.send(device, ctx).then(this.#rename);
  }
}

/** What a dispatched request needs back with its answer (SEND_TO): one small object per request. */
class ApnsCall<J> {
  constructor(
    readonly sink: OutcomeSink<J>,
    readonly job: J,
    readonly path: string,
    readonly providerToken: ProviderToken | undefined,
    readonly signal: AbortSignal,
  ) {}
}

/** One notification, encoded, ready for any number of devices. */
class PreparedApnsSend implements PreparedSend, CallbackSend {
  readonly #pool: Pool;
  readonly #tokens: ProviderTokenCache | undefined;
  readonly #environment: string;
  readonly #headers: Record<string, string>;
  readonly #body: Buffer;
  /** The headers plus `authorization` for the token they were made with: rebuilt only when the token changes. */
  #authorized: { token: ProviderToken; headers: Record<string, string> } | undefined;

  constructor(
    pool: Pool,
    tokens: ProviderTokenCache | undefined,
    environment: string,
    headers: Record<string, string>,
    body: Buffer,
  ) {
    this.#pool = pool;
    this.#tokens = tokens;
    this.#environment = environment;
    this.#headers = headers;
    this.#body = body;
  }

  send(device: Device, ctx: SendContext): Promise<Outcome> {
    return sendThroughSink(this, device, ctx);
  }

  /**
   * A send, its outcome handed to `sink` (see SEND_TO; the engine's path, and `send`'s). No
   * async function on the way: with a valid provider token a send is one dispatched request and
   * one small object, not the frames, promises and closures of awaits and `.then`s.
   */
  [SEND_TO]<J>(device: Device, ctx: SendContext, sink: OutcomeSink<J>, job: J): void {
    try {
      const token = deviceToken(device);
      if (typeof token !== 'string') {
        answerLater(sink, token, job);
        return;
      }
      const path = `/3/device/${token}`;
      const signal = ctx.signal;
      const tokens = this.#tokens;
      const providerToken = tokens?.usable();
      if (tokens !== undefined && providerToken === undefined) {
        handOutcome(sink, this.#sendAfterMint(tokens, path, signal), job);
        return;
      }
      dispatchOn(
        this.#pool,
        this.#requestFor(path, providerToken, signal),
        this.#answers as ResponseSink<ApnsCall<J>>,
        new ApnsCall(sink, job, path, providerToken, signal),
      );
    } catch (thrown) {
      answerLater(sink, failed(thrown), job);
    }
  }

  /** Where the pool hands the answers of SEND_TO's requests: Apple's answer mapped, to the call's sink. */
  readonly #answers: ResponseSink<ApnsCall<unknown>> = {
    onResponse: (response, call) =>
      handOutcome(call.sink, this.#answer(response, call.path, call.providerToken, call.signal), call.job),
    onError: (error, call) => call.sink.outcome(failed(error), call.job),
  };

  /** No valid token (signing failed when the provider was made, or again past the maximum age): try once more; a failure is this send's outcome. */
  async #sendAfterMint(tokens: ProviderTokenCache, path: string, signal: AbortSignal): Promise<Outcome> {
    let providerToken: ProviderToken;
    try {
      providerToken = await tokens.get();
    } catch (thrown) {
      return { ...failed(thrown), requested: false };
    }
    try {
      return await this.#answer(
        await this.#request(path, providerToken, signal),
        path,
        providerToken,
        signal,
      );
    } catch (thrown) {
      return failed(thrown);
    }
  }

  /** Maps Apple's answer; an expired provider token gets one refresh and one re-send. */
  #answer(
    response: TransportResponse,
    path: string,
    providerToken: ProviderToken | undefined,
    signal: AbortSignal,
  ): Outcome | Promise<Outcome> {
    try {
      const result = interpretResponse(response, this.#environment);
      if (result.action === 'refresh-token' && providerToken !== undefined) {
        return this.#resendRefreshed(result, path, providerToken, signal);
      }
      if (result.action === 'new-connection') response.retireConnection();
      return result.outcome;
    } catch (thrown) {
      return failed(thrown);
    }
  }

  async #resendRefreshed(
    expired: Interpretation,
    path: string,
    used: ProviderToken,
    signal: AbortSignal,
  ): Promise<Outcome> {
    try {
      // One refresh for a burst of these; each request that got it is re-sent once with the new token.
      const fresh = await this.#tokens!.refreshAfterExpired(used);
      if (fresh === undefined) return expired.outcome;
      // No token passed on: a second ExpiredProviderToken is the outcome, not another refresh.
      return await this.#answer(await this.#request(path, fresh, signal), path, undefined, signal);
    } catch (thrown) {
      return failed(thrown);
    }
  }

  #request(
    path: string,
    providerToken: ProviderToken | undefined,
    signal: AbortSignal,
  ): Promise<TransportResponse> {
    return this.#pool.request(this.#requestFor(path, providerToken, signal));
  }

  #requestFor(path: string, providerToken: ProviderToken | undefined, signal: AbortSignal): TransportRequest {
    return { method: 'POST', path, headers: this.#headersFor(providerToken), body: this.#body, signal };
  }

  #headersFor(providerToken: ProviderToken | undefined): Record<string, string> {
    if (providerToken === undefined) return this.#headers;
    if (this.#authorized?.token !== providerToken) {
      this.#authorized = {
        token: providerToken,
        headers: { ...this.#headers, authorization: providerToken.header },
      };
    }
    return this.#authorized.headers;
  }
}

/**
 * The FCM HTTP v1 provider: one HTTP/2 request per device, multiplexed over the shared
 * transport; the message is built once per send and each device only changes its target.
 */
import type { Device } from '../../device.js';
import type { Notification } from '../../notification.js';
import type { DryRun, Outcome, PreparedSend, Provider, SendContext } from '../../provider.js';
import { PoolRegistry } from '../../transport/index.js';
import type { Pool, TransportRequest } from '../../transport/types.js';
import { AccessTokenSource } from './access-token.js';
import { deviceToken } from './device-token.js';
import { remoteDryRun, validated } from './dry-run.js';
import { failed, fcmError } from './errors.js';
import { buildMessage, MAX_MESSAGE_BYTES, MAX_TOPIC_MESSAGE_BYTES, MessageTemplate } from './message.js';
import { type FcmOptions, type ResolvedFcmOptions, resolveFcmOptions } from './options.js';
import { isUnauthenticated, outcomeFromResponse, parseErrorBody } from './responses.js';

/** Where the provider gets its connections: the transport's PoolRegistry, or a fake in tests. */
export interface PoolSource {
  get(origin: string): Pick<Pool, 'request'>;
  close(): Promise<void>;
  /** Resolves once the connections are gone (a fake may return nothing). */
  destroy(): void | Promise<void>;
}

/** The FCM provider, with its token source exposed for inspection. */
export interface FcmProvider extends Provider {
  /** OAuth token requests made so far. */
  readonly tokenRequests: number;
  /** Remote: FCM checks each message sent with `validate_only`. */
  readonly dryRun: DryRun;
}

/**
 * Firebase Cloud Messaging (HTTP v1) provider.
 *
 * ```ts
 * const client = new PushClient({ providers: [fcm({ serviceAccount: './service-account.json' })] });
 * ```
 *
 * Throws a `config` PushError at once for a missing or broken service account or bad options.
 * `data` values that are not strings are JSON-encoded (FCM data is string → string).
 * Topic and condition sends: see {@link FcmOverrides}.
 */
export function fcm(options: FcmOptions = {}): FcmProvider {
  const resolved = resolveFcmOptions(options);
  const pools = new PoolRegistry({
    ...(resolved.ca !== undefined ? { tls: { ca: resolved.ca } } : {}),
    ...(resolved.connections !== undefined ? { connections: resolved.connections } : {}),
    ...(resolved.maxConnections !== undefined ? { maxConnections: resolved.maxConnections } : {}),
    ...(resolved.concurrency !== undefined ? { concurrency: resolved.concurrency } : {}),
    ...(resolved.maxConcurrency !== undefined ? { maxConcurrency: resolved.maxConcurrency } : {}),
    ...(resolved.timeoutMs !== undefined ? { timeoutMs: resolved.timeoutMs } : {}),
    ...(resolved.proxy !== undefined ? { proxy: resolved.proxy } : {}),
    protocol: resolved.protocol,
  });
  return createFcmProvider(resolved, pools);
}

/** A failure decided before any request to the send endpoint: not counted as an attempt. */
function unrequested(outcome: Outcome): Outcome {
  return { ...outcome, requested: false };
}

/** Builds the provider from checked options and a pool source (exported for tests). */
export function createFcmProvider(resolved: ResolvedFcmOptions, pools: PoolSource): FcmProvider {
  const tokenOrigin = new URL(resolved.account.tokenUri).origin;
  // Pools are looked up per request: the registry closes idle ones (the token origin is
  // idle most of the hour) and makes a new one on the next get().
  const tokens = new AccessTokenSource({
    account: resolved.account,
    pool: { request: (req) => pools.get(tokenOrigin).request(req) },
  });
  const provider = resolved.name;

  // One headers object per access token: the wire transport caches a header block's HPACK
  // encoding by object identity, so sends sharing a token reuse it (and no object per send).
  let headersToken = '';
  let headers: Record<string, string> = {};
  function headersFor(token: string): Record<string, string> {
    if (token !== headersToken) {
      headersToken = token;
      headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=UTF-8' };
    }
    return headers;
  }

  /**
   * One POST, refreshing the access token once if FCM says it is no longer valid. With a valid
   * token cached it is one pool request and one `.then`: no async function frames and awaits,
   * which at tens of thousands of sends a second were much of what each send allocated.
   */
  function post(body: string, signal: AbortSignal | undefined): Promise<Outcome> {
    try {
      const token = tokens.usable();
      if (token === undefined)
        return tokens.get().then(
          (fresh) => postWith(fresh, body, signal, false),
          (err: unknown) => unrequested(failure(err)),
        );
      return postWith(token, body, signal, false);
    } catch (err) {
      return Promise.resolve(unrequested(failure(err)));
    }
  }

  function postWith(
    token: string,
    body: string,
    signal: AbortSignal | undefined,
    refreshed: boolean,
  ): Promise<Outcome> {
    const request: TransportRequest = {
      method: 'POST',
      path: resolved.sendPath,
      headers: headersFor(token),
      body,
    };
    if (signal !== undefined) request.signal = signal;
    return pools
      .get(resolved.endpointOrigin)
      .request(request)
      .then((res) => {
        try {
          // Only a 401 can mean a stale token: no JSON parse of every other response here.
          if (!refreshed && res.status === 401 && isUnauthenticated(res.status, parseErrorBody(res.body))) {
            tokens.invalidate(token);
            return tokens.get().then((fresh) => postWith(fresh, body, signal, true), failure);
          }
          return outcomeFromResponse(res.status, res.headers, res.body, provider);
        } catch (err) {
          return failure(err);
        }
      }, failure);
  }

  /** A thrown or rejected error as this provider's failed outcome (transport errors get its name). */
  function failure(err: unknown): Outcome {
    return failed(err, provider);
  }

  function prepareWith(notification: Notification, validateOnly: boolean): PreparedSend {
    const prepared = prepareMessage(notification, validateOnly);
    if (!validateOnly) return prepared;
    const send = prepared.send!;
    return { send: (device, ctx) => send(device, ctx).then(validated) };
  }

  function prepareMessage(notification: Notification, validateOnly: boolean): PreparedSend {
    const { message, target } = buildMessage(notification, { platforms: resolved.platforms });
    const template = new MessageTemplate(message, target.kind, validateOnly);
    const limit = target.kind === 'token' ? MAX_MESSAGE_BYTES : MAX_TOPIC_MESSAGE_BYTES;
    if (template.messageBytes > limit) {
      throw fcmError(
        'payload-too-large',
        `the message is ${template.messageBytes} bytes; FCM allows ${limit}${target.kind === 'token' ? '' : ' for topic messages'}`,
        { provider },
      );
    }

    if (target.kind !== 'token') {
      // One message to the topic per attempt, shared by every device of this send.
      const body = template.body(target.kind === 'topic' ? target.topic : target.condition);
      const byAttempt = new Map<number, Promise<Outcome>>();
      return {
        send(_device: Device, ctx: SendContext): Promise<Outcome> {
          let outcome = byAttempt.get(ctx.attempt);
          if (!outcome) {
            outcome = post(body, undefined);
            byAttempt.set(ctx.attempt, outcome);
          }
          return outcome;
        },
      };
    }

    return {
      send(device: Device, ctx: SendContext): Promise<Outcome> {
        const token = deviceToken(device, provider);
        if (typeof token !== 'string') return Promise.resolve(token);
        return post(template.body(token), ctx.signal);
      },
    };
  }

  return {
    name: provider,
    platforms: resolved.platforms,
    ...(resolved.app !== undefined ? { app: resolved.app } : {}),
    // The fixed `concurrency`, else the send pool's adaptive limit as it is now.
    get concurrency() {
      return resolved.concurrency ?? (pools.get(resolved.endpointOrigin) as Partial<Pool>).limit ?? 500;
    },
    get tokenRequests() {
      return tokens.requests;
    },

    prepare(notification: Notification): PreparedSend {
      return prepareWith(notification, resolved.validateOnly);
    },

    // FCM checks a `validate_only` message as it would a real one and delivers nothing.
    dryRun: remoteDryRun((notification) => prepareWith(notification, true)),

    close(): Promise<void> {
      return pools.close();
    },
    async destroy(): Promise<void> {
      await pools.destroy();
    },
  };
}

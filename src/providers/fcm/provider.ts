/**
 * The FCM HTTP v1 provider: one HTTP/2 request per device, multiplexed over the shared
 * transport; the message is built once per send and each device only changes its target.
 */
import type { Device } from '../../device.js';
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
  type TopicManagement,
} from '../../provider.js';
import { dispatchOn } from '../../transport/dispatch.js';
import { PoolRegistry } from '../../transport/index.js';
import type {
  BodyWriter,
  Pool,
  PoolSource,
  RequestBody,
  ResponseSink,
  TransportRequest,
  TransportResponse,
} from '../../transport/types.js';
import { type FcmCredential, serviceAccountCredential } from './access-token.js';
import { applicationDefaultCredential } from './application-default.js';
import { deviceToken } from './device-token.js';
import { remoteDryRun, validated } from './dry-run.js';
import { failed, fcmError } from './errors.js';
import { buildMessage, MAX_MESSAGE_BYTES, MAX_TOPIC_MESSAGE_BYTES, MessageTemplate } from './message.js';
import { type FcmOptions, type ResolvedFcmOptions, resolveFcmOptions, sendPathFor } from './options.js';
import { isUnauthenticated, outcomeFromResponse, parseErrorBody, topicOutcomes } from './responses.js';
import { MAX_TOPIC_TOKENS, prepareTopicOperation, TOPIC_PATHS, type TopicPost } from './topics.js';

/** The FCM provider, with its token source exposed for inspection. */
export interface FcmProvider extends Provider {
  /** OAuth token requests made so far. */
  readonly tokenRequests: number;
  /** Remote: FCM checks each message sent with `validate_only`. */
  readonly dryRun: DryRun;
  /** Topic subscriptions through the Instance ID API (`client.subscribe` / `client.unsubscribe`). */
  readonly topics: TopicManagement;
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

/**
 * What a dispatched send needs back with its answer (SEND_TO): one small object per request.
 * It is also the request's body, made from the message template and the device token each time
 * the body is written: held as text it would be ~0.5 KB more per request in flight.
 */
class FcmCall<J> implements BodyWriter {
  constructor(
    readonly route: Route<Outcome>,
    readonly sink: OutcomeSink<J>,
    readonly job: J,
    readonly template: MessageTemplate,
    readonly token: string,
    readonly access: string,
    readonly signal: AbortSignal,
  ) {}

  body(): string {
    return this.template.body(this.token);
  }
}

/** A failure decided before any request to the send endpoint: not counted as an attempt. */
function unrequested(outcome: Outcome): Outcome {
  return { ...outcome, requested: false };
}

/**
 * One kind of authorised request: where it goes, its headers per access token, which 401
 * means "new token", and how the answer or a failure reads. Made once, not per request.
 */
interface Route<T> {
  origin: string;
  path: string;
  headers(token: string): Record<string, string>;
  stale(res: TransportResponse): boolean;
  answer(res: TransportResponse): T;
  /** `requested: false` when no request was made (no token). */
  fail(err: unknown, requested: boolean): T;
}

/** The credential the options name: a service-account key, or Application Default Credentials. */
function credentialFor(resolved: ResolvedFcmOptions, pools: PoolSource): FcmCredential {
  if (resolved.account !== undefined) {
    const tokenOrigin = new URL(resolved.account.tokenUri).origin;
    // Pools are looked up per request: the registry closes idle ones (the token origin is
    // idle most of the hour) and makes a new one on the next get().
    return serviceAccountCredential(
      { account: resolved.account, pool: { request: (req) => pools.get(tokenOrigin).request(req) } },
      resolved.projectId!,
    );
  }
  return applicationDefaultCredential({
    projectId: resolved.projectId,
    googleAuth: resolved.applicationDefault?.googleAuth,
    provider: resolved.name,
  });
}

/** Builds the provider from checked options and a pool source (exported for tests). */
export function createFcmProvider(
  resolved: ResolvedFcmOptions,
  pools: PoolSource,
  credential: FcmCredential = credentialFor(resolved, pools),
): FcmProvider {
  const tokens = credential.tokens;
  const provider = resolved.name;

  // One headers object per access token: the wire transport caches a header block's HPACK
  // encoding by object identity, so sends sharing a token reuse it (and no object per send).
  let headersToken = '';
  let headers: Record<string, string> = {};
  function headersFor(token: string): Record<string, string> {
    if (token !== headersToken) {
      headersToken = token;
      headers = {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json; charset=UTF-8',
        ...credential.extraHeaders(),
      };
    }
    return headers;
  }
  // The Instance ID API takes the OAuth token only with `access_token_auth: true` (without
  // it, Authorization is read as a legacy server key): firebase-admin sends it on every call.
  let topicHeadersToken = '';
  let topicHeaders: Record<string, string> = {};
  function topicHeadersFor(token: string): Record<string, string> {
    if (token !== topicHeadersToken) {
      topicHeadersToken = token;
      topicHeaders = { ...headersFor(token), access_token_auth: 'true' };
    }
    return topicHeaders;
  }

  /**
   * One POST on `route`, refreshing the access token once if the service says it is no longer
   * valid. With a valid token cached it is one pool request and one `.then`: no async function
   * frames and awaits, which at tens of thousands of sends a second were much of what each
   * send allocated.
   */
  function post<T>(route: Route<T>, body: RequestBody, signal: AbortSignal | undefined): Promise<T> {
    try {
      const token = tokens.usable();
      if (token === undefined)
        return tokens.get().then(
          (fresh) => postWith(route, fresh, body, signal, false),
          (err: unknown) => route.fail(err, false),
        );
      return postWith(route, token, body, signal, false);
    } catch (err) {
      return Promise.resolve(route.fail(err, false));
    }
  }

  function postWith<T>(
    route: Route<T>,
    token: string,
    body: RequestBody,
    signal: AbortSignal | undefined,
    refreshed: boolean,
  ): Promise<T> {
    return pools
      .get(route.origin)
      .request(requestFor(route, token, body, signal))
      .then(
        (res) => answered(route, res, token, body, signal, refreshed),
        (err: unknown) => route.fail(err, true),
      );
  }

  function requestFor<T>(
    route: Route<T>,
    token: string,
    body: RequestBody,
    signal: AbortSignal | undefined,
  ): TransportRequest {
    const request: TransportRequest = {
      method: 'POST',
      path: route.path,
      headers: route.headers(token),
      body,
    };
    if (signal !== undefined) request.signal = signal;
    return request;
  }

  /**
   * The answer to a POST on `route` made with `token`: read by the route, or — a 401 for a
   * stale token, not yet `refreshed` — one new token and one re-send. Never throws or rejects.
   */
  function answered<T>(
    route: Route<T>,
    res: TransportResponse,
    token: string,
    body: RequestBody,
    signal: AbortSignal | undefined,
    refreshed: boolean,
  ): T | Promise<T> {
    try {
      if (!refreshed && res.status === 401 && route.stale(res)) {
        tokens.invalidate(token);
        return tokens.get().then(
          (fresh) => postWith(route, fresh, body, signal, true),
          (err: unknown) => route.fail(err, true),
        );
      }
      return route.answer(res);
    } catch (err) {
      return route.fail(err, true);
    }
  }

  const sendRoute = (path: string): Route<Outcome> => ({
    origin: resolved.endpointOrigin,
    path,
    headers: headersFor,
    // Only a 401 can mean a stale token: no JSON parse of every other response here.
    stale: (res) => isUnauthenticated(res.status, parseErrorBody(res.body)),
    answer: (res) => outcomeFromResponse(res.status, res.headers, res.body, provider),
    fail: (err, requested) => (requested ? failure(err) : unrequested(failure(err))),
  });
  let send: Route<Outcome> | undefined =
    resolved.sendPath === undefined ? undefined : sendRoute(resolved.sendPath);
  /** The send route once the project id is known (Application Default Credentials may have to ask). */
  function sendRouteReady(): Promise<Route<Outcome>> {
    return credential.projectId().then((id) => {
      send ??= sendRoute(sendPathFor(resolved.basePath, id));
      return send;
    });
  }

  /** A send: one POST of `body` to the send endpoint. */
  function postSend(body: string, signal: AbortSignal | undefined): Promise<Outcome> {
    if (send !== undefined) return post(send, body, signal);
    return sendRouteReady().then(
      (route) => post(route, body, signal),
      (err: unknown) => unrequested(failure(err)),
    );
  }

  /** One topic-management request for `count` tokens (a route per request: one per 1,000 tokens). */
  const postTopic: TopicPost = (operation, body, count, signal) => {
    const route: Route<Outcome[]> = {
      origin: resolved.topicOrigin,
      path: resolved.topicBasePath + TOPIC_PATHS[operation],
      headers: topicHeadersFor,
      // The Instance ID API's 401 body is not documented: any 401 gets one new token.
      stale: () => true,
      answer: (res) => topicOutcomes(res.status, res.headers, res.body, count, provider),
      fail: (err, requested) => {
        const outcome = requested ? failure(err) : unrequested(failure(err));
        return new Array<Outcome>(count).fill(outcome);
      },
    };
    return post(route, body, signal);
  };

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
            outcome = postSend(body, undefined);
            byAttempt.set(ctx.attempt, outcome);
          }
          return outcome;
        },
      };
    }

    const toTokens: PreparedSend & CallbackSend = {
      send(device: Device, ctx: SendContext): Promise<Outcome> {
        return sendThroughSink(toTokens, device, ctx);
      },
      // A send, its outcome handed to `sink` (see SEND_TO; the engine's path, and `send`'s). Once
      // the send route and an access token are at hand, one dispatched request; before, through
      // `postSend` (the project id or a token to fetch first).
      [SEND_TO]<J>(device: Device, ctx: SendContext, sink: OutcomeSink<J>, job: J): void {
        // What throws here throws as from `send` (the engine makes it this device's outcome).
        const token = deviceToken(device, provider);
        if (typeof token !== 'string') {
          answerLater(sink, token, job);
          return;
        }
        const route = send;
        const access = tokens.usable();
        if (route === undefined || access === undefined) {
          handOutcome(sink, postSend(template.body(token), ctx.signal), job);
          return;
        }
        const call = new FcmCall(route, sink, job, template, token, access, ctx.signal);
        dispatchOn(
          pools.get(route.origin),
          requestFor(route, access, call, ctx.signal),
          sendAnswers as ResponseSink<FcmCall<J>>,
          call,
        );
      },
    };
    return toTokens;
  }

  /** Where the pool hands the answers of SEND_TO's requests: as `postWith`'s `.then`. */
  const sendAnswers: ResponseSink<FcmCall<unknown>> = {
    onResponse(res, call) {
      handOutcome(call.sink, answered(call.route, res, call.access, call, call.signal, false), call.job);
    },
    onError(err, call) {
      call.sink.outcome(call.route.fail(err, true), call.job);
    },
  };

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

    topics: {
      batchSize: MAX_TOPIC_TOKENS,
      prepare: (operation, topic) => prepareTopicOperation(operation, topic, provider, postTopic),
    },

    close(): Promise<void> {
      return pools.close();
    },
    async destroy(): Promise<void> {
      await pools.destroy();
    },
  };
}

/**
 * Broadcast push (iOS 18 Live Activities channels): `apnsBroadcast(options)` manages an app's
 * channels (create, read, list, delete on Apple's `api-manage-broadcast` host) and sends one
 * Live Activity update per channel (`POST /4/broadcasts/apps/<bundleId>` with
 * `apns-channel-id`, on the push host). It takes the `apns()` options — the same credentials,
 * TLS and transport — plus `manageEndpoint`. Apple's rules, with sources and what Apple's
 * pages leave unsaid: docs/APNS-BROADCAST.md.
 *
 * Not a `Provider`: a broadcast has no device list and no per-device feedback, so it does not
 * go through the engine; each call is one request and one typed outcome.
 */
import type { PushError } from '../../errors.js';
import { toPushError } from '../../errors.js';
import type { Notification } from '../../notification.js';
import type { Pool, TransportResponse } from '../../transport/types.js';
import { apnsError, badRequest } from './errors.js';
import { expirationFor, inferPushType, priorityFor } from './headers.js';
import { buildPayload, encodePayload } from './message.js';
import type { ApnsOptions, ResolvedApnsOptions } from './options.js';
import { resolveApnsOptions, resolveManageOrigin } from './options.js';
import { interpretResponse } from './responses.js';
import { sharedPool, sharedTokens, type TokenLease } from './shared.js';
import type { ProviderToken, ProviderTokenCache } from './token-auth.js';

/** `apns()` options plus where channel management goes. */
export interface ApnsBroadcastOptions extends ApnsOptions {
  /**
   * Base URL of the channel management API, overriding the environment's
   * (`https://api-manage-broadcast[.sandbox].push.apple.com:2196|2195`). Required with `endpoint`.
   */
  manageEndpoint?: string;
}

/** Apple's message storage policy: `0` no message stored, `1` the most recent message stored. */
export type MessageStoragePolicy = 0 | 1;

/** A channel as APNs describes it. */
export interface ApnsChannel {
  /** Base64 channel id: the app subscribes with `PushType.channel(<id>)`. */
  channelId: string;
  messageStoragePolicy: MessageStoragePolicy;
  /** As APNs reports it (`LiveActivity`); absent after `createChannel`. */
  pushType?: string;
}

export interface ChannelSuccess<T> {
  ok: true;
  value: T;
  httpStatus: number;
  /** `apns-request-id` of the answer (yours, echoed, or one APNs generated). */
  requestId?: string;
}

export interface ChannelFailure {
  ok: false;
  /** Apple's reason mapped through the provider's table (`responses.ts`), or a transport error. */
  error: PushError;
  httpStatus?: number;
  requestId?: string;
}

/** One channel-management or broadcast request's result. Bad input throws before any request instead. */
export type ChannelOutcome<T = undefined> = ChannelSuccess<T> | ChannelFailure;

/** Per-call options. */
export interface ChannelRequestOptions {
  /** `apns-request-id`: a UUID you choose, echoed in the answer. */
  requestId?: string;
  signal?: AbortSignal;
}

export interface ApnsBroadcast {
  /** The bundle id (`topic`) whose channels these are. */
  readonly bundleId: string;
  /** Origin of broadcast sends (the push host). */
  readonly origin: string;
  /** Origin of channel management. */
  readonly manageOrigin: string;
  /** `POST /1/apps/<bundleId>/channels`: a new channel; its id is in `value.channelId`. */
  createChannel(
    options?: ChannelRequestOptions & { messageStoragePolicy?: MessageStoragePolicy },
  ): Promise<ChannelOutcome<ApnsChannel>>;
  /** `GET /1/apps/<bundleId>/channels` with `apns-channel-id`. */
  readChannel(channelId: string, options?: ChannelRequestOptions): Promise<ChannelOutcome<ApnsChannel>>;
  /** `GET /1/apps/<bundleId>/all-channels`: every channel id of the app. */
  listChannels(options?: ChannelRequestOptions): Promise<ChannelOutcome<string[]>>;
  /** `DELETE /1/apps/<bundleId>/channels` with `apns-channel-id`. */
  deleteChannel(channelId: string, options?: ChannelRequestOptions): Promise<ChannelOutcome>;
  /**
   * `POST /4/broadcasts/apps/<bundleId>` with `apns-channel-id`: one Live Activity update to
   * every device subscribed to the channel. The notification must carry `apns.liveActivity`.
   */
  broadcast(
    channelId: string,
    notification: Notification,
    options?: ChannelRequestOptions,
  ): Promise<ChannelOutcome>;
  /** Closes both connections' pools (not a `pool` you passed in). */
  close(): Promise<void>;
}

/** Standard base64 (RFC 4648 §4, padded), as Apple's channel ids are ("The channel ID is a base64-encoded string"). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})+$|^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Creates a broadcast client. Throws a `config` PushError for bad options, as `apns()` does.
 *
 * @example
 * ```ts
 * const live = apnsBroadcast({ teamId, keyId, key, topic: 'com.example.app', production: true });
 * const { value } = await live.createChannel({ messageStoragePolicy: 1 });
 * await live.broadcast(value.channelId, { apns: { liveActivity: { event: 'update', contentState: { score: '2-1' } } } });
 * ```
 */
export function apnsBroadcast(options: ApnsBroadcastOptions): ApnsBroadcast {
  const resolved = resolveApnsOptions(options);
  return new Broadcast(resolved, resolveManageOrigin(options));
}

/** A request's answer, or the failure to return for it. */
type Sent = { ok: true; response: TransportResponse } | { ok: false; failure: ChannelFailure };

class Broadcast implements ApnsBroadcast {
  readonly bundleId: string;
  readonly origin: string;
  readonly manageOrigin: string;
  readonly #options: ResolvedApnsOptions;
  readonly #push: Pool;
  readonly #manage: Pool;
  readonly #ownsPushPool: boolean;
  readonly #tokenLease: TokenLease | undefined;
  readonly #tokens: ProviderTokenCache | undefined;

  constructor(options: ResolvedApnsOptions, manageOrigin: string) {
    this.#options = options;
    this.bundleId = options.topic;
    this.origin = options.origin;
    this.manageOrigin = manageOrigin;
    this.#ownsPushPool = options.pool === undefined;
    // The push pool and the provider token are those of every apns() of the same key (shared.ts).
    this.#push = options.pool ?? sharedPool(options, options.origin, options.connections);
    // Channel management is a trickle of requests: one connection.
    this.#manage = sharedPool(options, manageOrigin, 1);
    this.#tokenLease = sharedTokens(options);
    this.#tokens = this.#tokenLease?.tokens;
  }

  get #channelsPath(): string {
    return `/1/apps/${encodeURIComponent(this.bundleId)}/channels`;
  }

  async createChannel(
    options: ChannelRequestOptions & { messageStoragePolicy?: MessageStoragePolicy } = {},
  ): Promise<ChannelOutcome<ApnsChannel>> {
    const policy = options.messageStoragePolicy ?? 0;
    if (policy !== 0 && policy !== 1) {
      throw badRequest(
        `messageStoragePolicy must be 0 (no message stored) or 1 (the most recent message stored); got ${String(policy)}`,
      );
    }
    const headers = requestHeaders(options);
    headers['content-type'] = 'application/json';
    const body = Buffer.from(
      JSON.stringify({ 'message-storage-policy': policy, 'push-type': 'LiveActivity' }),
    );
    const outcome = await this.#manageRequest('POST', this.#channelsPath, headers, body, options.signal);
    if (!outcome.ok) return outcome.failure;
    const channelId = header(outcome.response, 'apns-channel-id');
    if (outcome.response.status !== 201 || channelId === undefined) {
      return unexpected(outcome.response, 'a created channel (201 with apns-channel-id)');
    }
    return success(outcome.response, { channelId, messageStoragePolicy: policy });
  }

  async readChannel(
    channelId: string,
    options: ChannelRequestOptions = {},
  ): Promise<ChannelOutcome<ApnsChannel>> {
    checkChannelId(channelId);
    const headers = { ...requestHeaders(options), 'apns-channel-id': channelId };
    const outcome = await this.#manageRequest('GET', this.#channelsPath, headers, undefined, options.signal);
    if (!outcome.ok) return outcome.failure;
    const json = jsonObject(outcome.response);
    const policy = json?.['message-storage-policy'];
    if (outcome.response.status !== 200 || (policy !== 0 && policy !== 1)) {
      return unexpected(outcome.response, 'a channel (200 with message-storage-policy)');
    }
    const pushType = json?.['push-type'];
    return success(outcome.response, {
      channelId,
      messageStoragePolicy: policy,
      ...(typeof pushType === 'string' ? { pushType } : {}),
    });
  }

  async listChannels(options: ChannelRequestOptions = {}): Promise<ChannelOutcome<string[]>> {
    const path = `/1/apps/${encodeURIComponent(this.bundleId)}/all-channels`;
    const outcome = await this.#manageRequest(
      'GET',
      path,
      requestHeaders(options),
      undefined,
      options.signal,
    );
    if (!outcome.ok) return outcome.failure;
    const channels = jsonObject(outcome.response)?.channels;
    if (
      outcome.response.status !== 200 ||
      !Array.isArray(channels) ||
      !channels.every((c): c is string => typeof c === 'string')
    ) {
      return unexpected(outcome.response, 'a channel list (200 with channels)');
    }
    return success(outcome.response, channels);
  }

  async deleteChannel(channelId: string, options: ChannelRequestOptions = {}): Promise<ChannelOutcome> {
    checkChannelId(channelId);
    const headers = { ...requestHeaders(options), 'apns-channel-id': channelId };
    const outcome = await this.#manageRequest(
      'DELETE',
      this.#channelsPath,
      headers,
      undefined,
      options.signal,
    );
    if (!outcome.ok) return outcome.failure;
    if (outcome.response.status !== 204 && outcome.response.status !== 200) {
      return unexpected(outcome.response, 'a deleted channel (204)');
    }
    return success(outcome.response, undefined);
  }

  async broadcast(
    channelId: string,
    notification: Notification,
    options: ChannelRequestOptions = {},
  ): Promise<ChannelOutcome> {
    checkChannelId(channelId);
    if (notification === null || typeof notification !== 'object')
      throw badRequest('the notification must be an object');
    if (notification.apns?.liveActivity === undefined) {
      throw badRequest('a broadcast updates Live Activities: the notification needs apns.liveActivity');
    }
    if (inferPushType(notification) !== 'liveactivity') {
      throw badRequest(
        `a broadcast is a 'liveactivity' push; got apns.pushType '${String(notification.apns.pushType)}'`,
      );
    }
    const now = this.#options.clock();
    // The same payload rules and 4096-byte limit as a Live Activity push to a device token.
    const body = encodePayload(buildPayload(notification, 'liveactivity', now), 'liveactivity');
    const headers: Record<string, string> = {
      ...requestHeaders(options),
      'apns-channel-id': channelId,
      'apns-push-type': 'liveactivity',
      'apns-priority': String(priorityFor(notification, 'liveactivity')),
    };
    const expiration = expirationFor(notification, now);
    if (expiration !== undefined) headers['apns-expiration'] = String(expiration);
    const path = `/4/broadcasts/apps/${encodeURIComponent(this.bundleId)}`;
    const outcome = await this.#send(this.#push, 'POST', path, headers, body, options.signal, 'broadcast');
    if (!outcome.ok) return outcome.failure;
    if (outcome.response.status !== 200) return unexpected(outcome.response, 'an accepted broadcast (200)');
    return success(outcome.response, undefined);
  }

  async close(): Promise<void> {
    this.#tokenLease?.release();
    await Promise.all([this.#ownsPushPool ? this.#push.close() : undefined, this.#manage.close()]);
  }

  /**
   * One request with the provider token (token auth); an `ExpiredProviderToken` answer gets one
   * refresh and one re-send, as device sends do. Errors become the failure outcome.
   */
  /** A request to the channel management API. */
  #manageRequest(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Sent> {
    return this.#send(this.#manage, method, path, headers, body, signal, 'channel management');
  }

  async #send(
    pool: Pool,
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    signal: AbortSignal | undefined,
    api: string,
  ): Promise<Sent> {
    const environment = `${this.#options.environment} (${api})`;
    let token: ProviderToken | undefined;
    try {
      token = await this.#tokens?.get();
    } catch (thrown) {
      return { ok: false, failure: { ok: false, error: toPushError(thrown) } };
    }
    for (let attempt = 0; ; attempt++) {
      let response: TransportResponse;
      try {
        response = await pool.request({
          method,
          path,
          headers: token === undefined ? headers : { ...headers, authorization: token.header },
          ...(body === undefined ? {} : { body }),
          ...(signal === undefined ? {} : { signal }),
        });
      } catch (thrown) {
        return { ok: false, failure: { ok: false, error: toPushError(thrown) } };
      }
      if (response.status >= 200 && response.status < 300) return { ok: true, response };
      const result = interpretResponse(response, environment);
      if (result.action === 'refresh-token' && token !== undefined && attempt === 0) {
        const fresh = await this.#tokens?.refreshAfterExpired(token).catch(() => undefined);
        if (fresh !== undefined) {
          token = fresh;
          continue;
        }
      }
      if (result.action === 'new-connection') response.retireConnection();
      const requestId = header(response, 'apns-request-id');
      // Not 2xx, so never a success.
      const error = result.outcome.ok
        ? apnsError('internal', `HTTP ${response.status}`)
        : result.outcome.error;
      return {
        ok: false,
        failure: {
          ok: false,
          error,
          httpStatus: response.status,
          ...(requestId === undefined ? {} : { requestId }),
        },
      };
    }
  }
}

function checkChannelId(channelId: unknown): void {
  if (typeof channelId !== 'string' || !BASE64.test(channelId)) {
    throw badRequest(
      `the channel id must be the base64 string APNs returned from createChannel; got ${typeof channelId === 'string' ? JSON.stringify(channelId.slice(0, 64)) : typeof channelId}`,
    );
  }
}

function requestHeaders(options: ChannelRequestOptions): Record<string, string> {
  if (options.requestId === undefined) return {};
  if (typeof options.requestId !== 'string' || !UUID.test(options.requestId)) {
    throw badRequest(
      `requestId must be a UUID (apns-request-id); got ${JSON.stringify(String(options.requestId))}`,
    );
  }
  return { 'apns-request-id': options.requestId.toLowerCase() };
}

function header(response: TransportResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function jsonObject(response: TransportResponse): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(response.body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function success<T>(response: TransportResponse, value: T): ChannelSuccess<T> {
  const requestId = header(response, 'apns-request-id');
  return { ok: true, value, httpStatus: response.status, ...(requestId === undefined ? {} : { requestId }) };
}

/** A 2xx answer that is not the one the API documents: reported, never guessed around. */
function unexpected(response: TransportResponse, expected: string): ChannelFailure {
  const requestId = header(response, 'apns-request-id');
  return {
    ok: false,
    error: apnsError('internal', `expected ${expected}; got HTTP ${response.status}`, {
      httpStatus: response.status,
    }),
    httpStatus: response.status,
    ...(requestId === undefined ? {} : { requestId }),
  };
}

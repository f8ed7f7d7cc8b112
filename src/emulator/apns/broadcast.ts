/**
 * Broadcast push (iOS 18 Live Activities channels) in the APNs emulator: the channel
 * management API (its own listener, as Apple serves it from the `api-manage-broadcast` hosts)
 * and the broadcast endpoint `POST /4/broadcasts/apps/<bundleId>` (on the push listener, as
 * Apple serves it from `api.push.apple.com`). Channels are kept per bundle id; accepted
 * broadcasts are recorded for tests. The facts and what Apple leaves unsaid:
 * docs/APNS-BROADCAST.md.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { readStreamBody } from '../read-body.js';
import type { ApnsSigningKey } from './credentials.js';
import type { ConnectionAuthState, ProviderTokenVerifier } from './provider-token.js';
import type { ApnsReason } from './responses.js';
import { hasDuplicateHeaders, plainHeaders } from './validate.js';

/**
 * Reasons the broadcast APIs answer besides the device API's. `MissingChannelId` is Apple's
 * own (the sample response of "Handling error responses from Apple Push Notification
 * service"); the other names could not be confirmed from Apple's pages and are the
 * emulator's (docs/APNS-BROADCAST.md, "Not confirmed").
 */
export const BROADCAST_REASONS = {
  MissingChannelId: {
    status: 400,
    meaning: 'The apns-channel-id header is missing (Apple’s sample response).',
  },
  BadChannelId: {
    status: 400,
    meaning: 'The channel id is not base64 or is not a channel of this bundle id (name not confirmed).',
  },
  BadMessageStoragePolicy: {
    status: 400,
    meaning: 'message-storage-policy is not 0 or 1 (name not confirmed).',
  },
  CannotCreateChannelConfig: {
    status: 400,
    meaning: 'The app already has its maximum of channels (name not confirmed).',
  },
  BadRequestBody: {
    status: 400,
    meaning: 'The channel request body is not the JSON object expected (name not confirmed).',
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type BroadcastReason = keyof typeof BROADCAST_REASONS;
type AnyReason = ApnsReason | BroadcastReason;

/** Statuses of the device-API reasons the broadcast APIs reuse. */
const SHARED_STATUS: Partial<Record<ApnsReason, number>> = {
  BadPath: 404,
  MethodNotAllowed: 405,
  DuplicateHeaders: 400,
  InvalidPushType: 400,
  BadPriority: 400,
  BadExpirationDate: 400,
  PayloadEmpty: 400,
  PayloadTooLarge: 413,
  TopicDisallowed: 400,
  BadTopic: 400,
};

function statusOfAny(reason: AnyReason): number {
  if (Object.hasOwn(BROADCAST_REASONS, reason)) return BROADCAST_REASONS[reason as BroadcastReason].status;
  return SHARED_STATUS[reason as ApnsReason] ?? 403;
}

/** Apple: "you can maintain up to 10,000 channels for your app in the development and production environment, respectively." */
export const DEFAULT_MAX_CHANNELS = 10_000;
/** The Live Activity payload limit of the device API; Apple's broadcast page was not readable on this point. */
export const BROADCAST_PAYLOAD_LIMIT = 4096;
const BODY_READ_LIMIT = 64 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A channel as the emulator keeps it. */
export interface EmulatedChannel {
  channelId: string;
  bundleId: string;
  messageStoragePolicy: 0 | 1;
  pushType: string;
  createdAt: number;
}

/** One broadcast the emulator accepted. */
export interface AcceptedBroadcast {
  bundleId: string;
  channelId: string;
  requestId: string;
  priority: 1 | 5 | 10;
  expiration: number | undefined;
  /** Request headers except pseudo-headers and `authorization`. */
  headers: Record<string, string>;
  payload: Record<string, unknown>;
  receivedAt: number;
}

export interface BroadcastConfig {
  auth: 'token' | 'certificate';
  defaultTopic: string;
  teams: ReadonlyMap<string, readonly string[]>;
  maxChannels: number;
  maxConcurrentStreams: number;
  now: () => number;
}

type Answer = { reason: AnyReason } | { status: number; headers?: Record<string, string>; body?: unknown };

interface Connection {
  auth: ConnectionAuthState;
  certificateTopic: string | undefined;
  raised: boolean;
}

export class BroadcastService {
  /** Bundle id → channel id → channel. */
  readonly channels = new Map<string, Map<string, EmulatedChannel>>();
  readonly broadcasts: AcceptedBroadcast[] = [];
  readonly byReason: Record<string, number> = {};
  private readonly connections = new WeakMap<Http2Session, Connection>();

  constructor(
    private readonly config: BroadcastConfig,
    private readonly verifier: ProviderTokenVerifier,
  ) {}

  /** Registers a connection (either listener); certificate mode reads the client certificate's UID. */
  onSession(session: Http2Session): void {
    const state: Connection = {
      auth: {},
      certificateTopic: undefined,
      raised: this.config.auth === 'certificate',
    };
    if (this.config.auth === 'certificate') {
      const socket = session.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      if (peer !== null && Object.keys(peer).length > 0) {
        if (!socket.authorized) {
          session.destroy();
          return;
        }
        const uid = peer.subject?.UID;
        state.certificateTopic = Array.isArray(uid) ? uid[0] : uid;
      }
    }
    this.connections.set(session, state);
  }

  /** Whether a push-listener request is for the broadcast endpoint. */
  static isBroadcastPath(path: string | undefined): boolean {
    return path?.startsWith('/4/broadcasts/') === true;
  }

  /** A request on the channel management listener. */
  onManageStream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    rawHeaders: string[] | undefined,
  ): void {
    this.serve(stream, headers, (body) => this.manage(stream.session, headers, rawHeaders, body));
  }

  /** A `/4/broadcasts/...` request on the push listener. */
  onBroadcastStream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    rawHeaders: string[] | undefined,
  ): void {
    this.serve(stream, headers, (body) => this.broadcast(stream.session, headers, rawHeaders, body));
  }

  /** Clears channels, broadcasts and counters. */
  reset(): void {
    this.channels.clear();
    this.broadcasts.length = 0;
    for (const key of Object.keys(this.byReason)) delete this.byReason[key];
  }

  private serve(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    run: (body: Buffer) => Promise<Answer>,
  ): void {
    stream.on('error', () => {});
    const requestId = one(headers['apns-request-id']) ?? randomUUID();
    readStreamBody(stream, BODY_READ_LIMIT).then(
      async (body) => {
        const answer = await run(body);
        if (stream.destroyed || stream.closed || stream.headersSent) return;
        if ('reason' in answer) {
          this.byReason[answer.reason] = (this.byReason[answer.reason] ?? 0) + 1;
          stream.respond({
            ':status': statusOfAny(answer.reason),
            'apns-request-id': requestId,
            'content-type': 'application/json',
          });
          stream.end(JSON.stringify({ reason: answer.reason }));
          return;
        }
        const out: Record<string, string | number> = {
          ':status': answer.status,
          'apns-request-id': requestId,
          ...answer.headers,
        };
        if (answer.body === undefined) {
          stream.respond(out, { endStream: true });
          return;
        }
        out['content-type'] = 'application/json';
        stream.respond(out);
        stream.end(JSON.stringify(answer.body));
      },
      () => {},
    );
  }

  /** Authentication, then the bundle ids the credential may use (undefined: rejected with `reason`). */
  private async authorize(
    session: Http2Session | undefined,
    headers: IncomingHttpHeaders,
  ): Promise<{ bundles: readonly string[] } | { reason: AnyReason }> {
    const state = session ? this.connections.get(session) : undefined;
    if (!session || !state) return { reason: 'MissingProviderToken' };
    if (this.config.auth === 'certificate') {
      if (state.certificateTopic === undefined) return { reason: 'MissingProviderToken' };
      return { bundles: [state.certificateTopic] };
    }
    const check = await this.verifier.check(one(headers.authorization), state.auth);
    if (!check.ok) return { reason: check.reason };
    if (!state.raised) {
      state.raised = true;
      try {
        session.settings({ maxConcurrentStreams: this.config.maxConcurrentStreams });
      } catch {}
    }
    return { bundles: this.bundlesFor(check.key) };
  }

  private bundlesFor(key: ApnsSigningKey): readonly string[] {
    return key.topics ?? this.config.teams.get(key.teamId) ?? [this.config.defaultTopic];
  }

  private async manage(
    session: Http2Session | undefined,
    headers: IncomingHttpHeaders,
    rawHeaders: string[] | undefined,
    body: Buffer,
  ): Promise<Answer> {
    const method = one(headers[':method']);
    const match = /^\/1\/apps\/([^/?]+)\/(channels|all-channels)$/.exec(one(headers[':path']) ?? '');
    if (!match) return { reason: 'BadPath' };
    const bundleId = decodeURIComponent(match[1]!);
    const all = match[2] === 'all-channels';
    const allowed = all ? method === 'GET' : method === 'POST' || method === 'GET' || method === 'DELETE';
    if (!allowed) return { reason: 'MethodNotAllowed' };
    if (hasDuplicateHeaders(rawHeaders)) return { reason: 'DuplicateHeaders' };
    const auth = await this.authorize(session, headers);
    if ('reason' in auth) return auth;
    if (!auth.bundles.includes(bundleId))
      return { reason: this.config.auth === 'token' ? 'TopicDisallowed' : 'BadTopic' };
    const channels = this.channelsOf(bundleId);

    if (all) return { status: 200, body: { channels: [...channels.keys()] } };
    if (method === 'POST') return this.create(bundleId, channels, body);
    const found = this.lookup(channels, headers);
    if ('reason' in found) return found;
    if (method === 'GET') {
      return {
        status: 200,
        body: { 'message-storage-policy': found.messageStoragePolicy, 'push-type': found.pushType },
      };
    }
    channels.delete(found.channelId);
    return { status: 204 };
  }

  private create(bundleId: string, channels: Map<string, EmulatedChannel>, body: Buffer): Answer {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return { reason: 'BadRequestBody' };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      return { reason: 'BadRequestBody' };
    const fields = parsed as Record<string, unknown>;
    // 0 or 1. Apple's table could not be read on the type; node-apn's README sends the string
    // '1', so "0"/"1" are taken too (docs/APNS-BROADCAST.md).
    const raw = fields['message-storage-policy'];
    const policy = raw === '0' || raw === '1' ? Number(raw) : raw;
    if (policy !== 0 && policy !== 1) return { reason: 'BadMessageStoragePolicy' };
    const pushType = fields['push-type'];
    // Apple's example spells it `LiveActivity`; node-apn sends `liveactivity`: either is taken.
    if (typeof pushType !== 'string' || pushType.toLowerCase() !== 'liveactivity')
      return { reason: 'InvalidPushType' };
    if (channels.size >= this.config.maxChannels) return { reason: 'CannotCreateChannelConfig' };
    let channelId: string;
    do channelId = randomBytes(16).toString('base64');
    while (channels.has(channelId));
    channels.set(channelId, {
      channelId,
      bundleId,
      messageStoragePolicy: policy,
      pushType,
      createdAt: this.config.now(),
    });
    return { status: 201, headers: { 'apns-channel-id': channelId } };
  }

  private lookup(
    channels: Map<string, EmulatedChannel>,
    headers: IncomingHttpHeaders,
  ): EmulatedChannel | { reason: AnyReason } {
    const channelId = one(headers['apns-channel-id']);
    if (channelId === undefined || channelId === '') return { reason: 'MissingChannelId' };
    if (!BASE64.test(channelId)) return { reason: 'BadChannelId' };
    return channels.get(channelId) ?? { reason: 'BadChannelId' };
  }

  private async broadcast(
    session: Http2Session | undefined,
    headers: IncomingHttpHeaders,
    rawHeaders: string[] | undefined,
    body: Buffer,
  ): Promise<Answer> {
    const match = /^\/4\/broadcasts\/apps\/([^/?]+)$/.exec(one(headers[':path']) ?? '');
    if (!match) return { reason: 'BadPath' };
    if (one(headers[':method']) !== 'POST') return { reason: 'MethodNotAllowed' };
    if (hasDuplicateHeaders(rawHeaders)) return { reason: 'DuplicateHeaders' };
    const bundleId = decodeURIComponent(match[1]!);
    const auth = await this.authorize(session, headers);
    if ('reason' in auth) return auth;
    if (!auth.bundles.includes(bundleId))
      return { reason: this.config.auth === 'token' ? 'TopicDisallowed' : 'BadTopic' };
    if (one(headers['apns-push-type']) !== 'liveactivity') return { reason: 'InvalidPushType' };
    const found = this.lookup(this.channelsOf(bundleId), headers);
    if ('reason' in found) return found;

    let priority: 1 | 5 | 10 = 10;
    const rawPriority = one(headers['apns-priority']);
    if (rawPriority !== undefined) {
      if (rawPriority !== '1' && rawPriority !== '5' && rawPriority !== '10')
        return { reason: 'BadPriority' };
      priority = Number(rawPriority) as 1 | 5 | 10;
    }
    let expiration: number | undefined;
    const rawExpiration = one(headers['apns-expiration']);
    if (rawExpiration !== undefined) {
      if (!/^\d{1,12}$/.test(rawExpiration)) return { reason: 'BadExpirationDate' };
      expiration = Number(rawExpiration);
    }
    if (body.length === 0) return { reason: 'PayloadEmpty' };
    if (body.length > BROADCAST_PAYLOAD_LIMIT) return { reason: 'PayloadTooLarge' };
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return { reason: 'BadRequestBody' };
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
      return { reason: 'BadRequestBody' };
    const requestId = one(headers['apns-request-id']) ?? randomUUID();
    this.broadcasts.push({
      bundleId,
      channelId: found.channelId,
      requestId,
      priority,
      expiration,
      headers: plainHeaders(headers),
      payload: payload as Record<string, unknown>,
      receivedAt: this.config.now(),
    });
    return { status: 200 };
  }

  private channelsOf(bundleId: string): Map<string, EmulatedChannel> {
    let channels = this.channels.get(bundleId);
    if (channels === undefined) {
      channels = new Map();
      this.channels.set(bundleId, channels);
    }
    return channels;
  }
}

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

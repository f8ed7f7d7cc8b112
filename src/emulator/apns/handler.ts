/**
 * One HTTP/2 stream in, one APNs answer out. Runs the request rules in APNs order (method,
 * path, repeated headers, authentication, apns-* headers, device token, payload), then the
 * scenarios, and records the result. Also keeps each connection's state: the provider token
 * it is bound to, Apple's one-stream-until-authenticated rule, and the GOAWAY scenario's cut.
 */
import { randomUUID } from 'node:crypto';
import { constants, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { readStreamBody } from '../read-body.js';
import type { ApnsSigningKey } from './credentials.js';
import type { Recorder } from './inspection.js';
import type { ConnectionAuthState, ProviderTokenVerifier } from './provider-token.js';
import { type ApnsReason, statusOf } from './responses.js';
import type { CompiledScenarios } from './scenarios.js';
import {
  type AcceptedHeaders,
  checkHeaders,
  checkPayload,
  hasDuplicateHeaders,
  isWellFormedDeviceToken,
  parsePath,
  plainHeaders,
} from './validate.js';

/** Bodies are read up to this many bytes; anything longer is PayloadTooLarge whatever the push type. */
const BODY_READ_LIMIT = 64 * 1024;

export interface HandlerConfig {
  auth: 'token' | 'certificate';
  environment: 'sandbox' | 'production';
  maxConcurrentStreams: number;
  strictPayload: boolean;
  defaultTopic: string;
  /** Team id → its apps (bundle ids). */
  teams: ReadonlyMap<string, readonly string[]>;
  now: () => number;
}

export interface HandlerDeps {
  config: HandlerConfig;
  verifier: ProviderTokenVerifier;
  recorder: Recorder;
  scenarios: () => CompiledScenarios;
}

interface ConnectionState {
  id: number;
  auth: ConnectionAuthState;
  /** Whether SETTINGS_MAX_CONCURRENT_STREAMS was raised from 1 (token auth) to the configured limit. */
  raised: boolean;
  streams: number;
  /** Last stream id of a GOAWAY sent by the scenario: later streams are refused, unprocessed. */
  cutoff: number | undefined;
  open: number;
  /** The UID (bundle id) of the client certificate, certificate mode only. */
  certificateTopic: string | undefined;
}

type Outcome = { reason: ApnsReason; apnsId?: string } | { accepted: AcceptedHeaders; apnsId: string };

export class StreamHandler {
  private readonly connections = new Map<Http2Session, ConnectionState>();
  private nextConnectionId = 1;

  constructor(private readonly deps: HandlerDeps) {}

  get sessions(): Http2Session[] {
    return [...this.connections.keys()];
  }

  onSession(session: Http2Session): void {
    const { config, recorder } = this.deps;
    session.on('error', () => {});
    recorder.connections++;
    const state: ConnectionState = {
      id: this.nextConnectionId++,
      auth: {},
      raised: config.auth === 'certificate',
      streams: 0,
      cutoff: undefined,
      open: 0,
      certificateTopic: undefined,
    };
    if (config.auth === 'certificate') {
      const socket = session.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const presented = peer !== null && Object.keys(peer).length > 0;
      if (presented && !socket.authorized) {
        // Not issued by our CA, or expired: APNs fails such clients at the TLS handshake.
        recorder.rejectedClientCertificates++;
        session.destroy();
        return;
      }
      if (presented) {
        const uid = peer.subject?.UID;
        state.certificateTopic = Array.isArray(uid) ? uid[0] : uid;
      }
    }
    this.connections.set(session, state);
    session.once('close', () => this.connections.delete(session));
  }

  onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[] | undefined): void {
    stream.on('error', () => {});
    const session = stream.session;
    const state = session ? this.connections.get(session) : undefined;
    if (!session || !state) {
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const streamId = stream.id ?? 0;
    if (state.cutoff !== undefined && streamId > state.cutoff) {
      // Above the GOAWAY's last-stream-id: not processed, so the client may retry it elsewhere.
      this.deps.recorder.refusedStreams++;
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    state.streams++;
    state.open++;
    stream.once('close', () => {
      state.open--;
      if (state.cutoff !== undefined && state.open === 0 && !session.closed) session.close();
    });
    const scenarios = this.deps.scenarios();
    const goAway = scenarios.source.goAway;
    if (goAway && goAway.streams > 0 && state.streams === goAway.streams) {
      state.cutoff = streamId;
      this.deps.recorder.goAways++;
      const opaque = Buffer.from(JSON.stringify({ reason: goAway.reason ?? 'Shutdown' }));
      session.goaway(constants.NGHTTP2_NO_ERROR, streamId, opaque);
    }

    if (scenarios.source.sink) {
      this.raiseStreamLimit(session, state);
      stream.resume();
      this.deps.recorder.answered(200, undefined);
      const delay = scenarios.latency();
      const apnsId = headerValue(headers['apns-id']) ?? randomUUID();
      if (delay > 0) later(delay, () => respond(stream, 200, apnsId));
      else respond(stream, 200, apnsId);
      return;
    }

    readStreamBody(stream, BODY_READ_LIMIT).then(
      (body) => this.finish(stream, session, state, headers, rawHeaders, body, scenarios),
      () => {},
    );
  }

  private async finish(
    stream: ServerHttp2Stream,
    session: Http2Session,
    state: ConnectionState,
    headers: IncomingHttpHeaders,
    rawHeaders: string[] | undefined,
    body: Buffer,
    scenarios: CompiledScenarios,
  ): Promise<void> {
    const { recorder, config } = this.deps;
    const outcome = await this.evaluate(session, state, headers, rawHeaders, body, scenarios);
    const delay = scenarios.latency();
    if (delay > 0) await new Promise<void>((resolve) => later(delay, resolve));

    if ('reason' in outcome) {
      const status = statusOf(outcome.reason);
      recorder.answered(status, outcome.reason);
      const timestamp = status === 410 ? scenarios.unregisteredAt(tokenOf(headers), config.now()) : undefined;
      respond(stream, status, outcome.apnsId ?? randomUUID(), outcome.reason, timestamp);
      return;
    }
    const { accepted, apnsId } = outcome;
    recorder.answered(200, undefined);
    recorder.accept({
      token: tokenOf(headers),
      topic: accepted.topic,
      bundleId: accepted.bundleId,
      pushType: accepted.pushType,
      priority: accepted.priority,
      apnsId,
      expiration: accepted.expiration,
      collapseId: accepted.collapseId,
      headers: plainHeaders(headers),
      payload: JSON.parse(body.toString('utf8')) as Record<string, unknown>,
      connectionId: state.id,
      receivedAt: config.now(),
    });
    // Apple returns apns-unique-id "only in the Development environment" (the key to the Push
    // Notifications Console's delivery log).
    respond(stream, 200, apnsId, undefined, undefined, config.environment === 'sandbox');
  }

  private async evaluate(
    session: Http2Session,
    state: ConnectionState,
    headers: IncomingHttpHeaders,
    rawHeaders: string[] | undefined,
    body: Buffer,
    scenarios: CompiledScenarios,
  ): Promise<Outcome> {
    const { config, verifier, recorder } = this.deps;
    if (headers[':method'] !== 'POST') return { reason: 'MethodNotAllowed' };
    const path = parsePath(headers[':path']);
    if ('reason' in path) return path;
    const attempt = recorder.attempt(path.token);
    if (hasDuplicateHeaders(rawHeaders)) return { reason: 'DuplicateHeaders' };

    let allowedBundles: readonly string[];
    if (config.auth === 'token') {
      // The authorization header is only ever read in token mode; certificate mode ignores it.
      const check = await verifier.check(headerValue(headers.authorization), state.auth);
      if (!check.ok) return { reason: check.reason };
      this.raiseStreamLimit(session, state);
      allowedBundles = bundlesFor(check.key, config);
    } else {
      if (state.certificateTopic === undefined) return { reason: 'MissingProviderToken' };
      allowedBundles = [state.certificateTopic];
    }

    const accepted = checkHeaders({
      apnsId: headerValue(headers['apns-id']),
      pushType: headerValue(headers['apns-push-type']),
      topic: headerValue(headers['apns-topic']),
      priority: headerValue(headers['apns-priority']),
      expiration: headerValue(headers['apns-expiration']),
      collapseId: headerValue(headers['apns-collapse-id']),
      allowedBundles,
      foreignTopicReason: config.auth === 'token' ? 'TopicDisallowed' : 'BadTopic',
    });
    if ('reason' in accepted) return accepted;
    const apnsId = accepted.apnsId ?? randomUUID();
    if (!isWellFormedDeviceToken(path.token)) return { reason: 'BadDeviceToken', apnsId };
    const payload = checkPayload(body, { pushType: accepted.pushType, strict: config.strictPayload });
    if ('reason' in payload) return { reason: payload.reason, apnsId };
    const scenario = scenarios.rejection(path.token, accepted.bundleId, attempt);
    if (scenario) return { reason: scenario, apnsId };
    return { accepted, apnsId };
  }

  /** Apple: "APNs allows only one stream until you post a request with a valid authentication token." */
  private raiseStreamLimit(session: Http2Session, state: ConnectionState): void {
    if (state.raised) return;
    state.raised = true;
    if (session.destroyed || session.closed) return;
    try {
      session.settings({ maxConcurrentStreams: this.deps.config.maxConcurrentStreams });
    } catch {
      // The session went away meanwhile; nothing to raise.
    }
  }
}

function bundlesFor(key: ApnsSigningKey, config: HandlerConfig): readonly string[] {
  return key.topics ?? config.teams.get(key.teamId) ?? [config.defaultTopic];
}

function respond(
  stream: ServerHttp2Stream,
  status: number,
  apnsId: string,
  reason?: ApnsReason,
  timestamp?: number,
  uniqueId = false,
): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  const headers: Record<string, string | number> = { ':status': status, 'apns-id': apnsId };
  if (reason === undefined) {
    if (uniqueId) headers['apns-unique-id'] = randomUUID();
    stream.respond(headers, { endStream: true });
    return;
  }
  headers['content-type'] = 'application/json';
  stream.respond(headers);
  stream.end(JSON.stringify(timestamp === undefined ? { reason } : { reason, timestamp }));
}

function later(ms: number, fn: () => void): void {
  setTimeout(fn, ms).unref();
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function tokenOf(headers: IncomingHttpHeaders): string {
  const path = parsePath(headers[':path']);
  return 'token' in path ? path.token : '';
}

/**
 * The HTTP/2 pool: up to `connections` sessions to one origin, opened as load needs them.
 * Each request goes on the least-loaded session with a free stream slot under the server's
 * SETTINGS_MAX_CONCURRENT_STREAMS (followed as it changes), else waits in the FIFO.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { PushError } from '../errors.js';
import { BasePool } from './base-pool.js';
import { connectSocket, secureContext, socketsClosed } from './connect.js';
import { connectError, errorCode, h2ErrorName, lostError } from './errors.js';
import {
  CANCEL,
  type H2Client,
  type H2Reader,
  type H2Settings,
  type H2Stream,
  REFUSED_STREAM,
} from './h2-client.js';
import { H2Connection, type H2ConnectionOwner, STREAM_HANDLERS } from './h2-connection.js';
import { backoffDelay, emit, type ResolvedOptions } from './options.js';
import { type PendingRequest, PooledResponse } from './pending.js';
import type { GoawayInfo, PoolStats } from './types.js';

/** RFC 9113 §6.5.2: no SETTINGS_MAX_CONCURRENT_STREAMS means no limit. */
const UNLIMITED = 2 ** 32 - 1;
/** Connections opened as soon as requests wait for a stream (the pool's default before limits adapted). */
const EAGER_CONNECTIONS = 4;
/** RFC 9113 §6.5.2: servers should allow at least this many concurrent streams. */
const MIN_STREAMS = 100;

export class H2Pool extends BasePool implements H2ConnectionOwner {
  private readonly connections: H2Connection[] = [];
  /** The HTTP/2 client that turns a connected socket into a session (h2-client.ts). */
  private readonly client: H2Client;
  private readonly context: SecureContext | undefined;
  /** `:authority` of every request: host[:port]. */
  private readonly authority: string;
  private nextConnectionId = 1;
  /** Consecutive failed connects; a ready session resets it. */
  private failures = 0;
  private nextConnectAt = 0;
  private lastConnectError: PushError | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private lastGoaway: GoawayInfo | undefined;
  private allClosed: (() => void) | null = null;

  constructor(options: ResolvedOptions, client: H2Client, firstSocket?: Socket) {
    super(options);
    this.client = client;
    this.context = options.target.secure ? secureContext(options) : undefined;
    this.authority = new URL(options.target.origin).host;
    if (firstSocket !== undefined) this.open(firstSocket);
  }

  override get stats(): PoolStats {
    const stats = super.stats;
    if (this.lastGoaway !== undefined) stats.lastGoaway = this.lastGoaway;
    return stats;
  }

  protected connectionCount(): number {
    return this.connections.length;
  }

  protected start(request: PendingRequest): boolean {
    for (;;) {
      // Least-loaded session with room. Sessions are few, so a scan is cheaper than a heap.
      let best: H2Connection | null = null;
      for (const connection of this.connections) {
        if (connection.hasRoom && (best === null || connection.active < best.active)) best = connection;
      }
      if (best === null) return false;
      if (best.peerMaxHeaderList < UNLIMITED && this.overPeerHeaderList(request, best.peerMaxHeaderList)) {
        return true;
      }
      // Outside the try below: a body that cannot be made is this request's failure, not the session's.
      const body = request.bodyBytes();
      try {
        best.openStream(request, body);
        return true;
      } catch (error) {
        // The session went away between the check and the call (GOAWAY just processed):
        // nothing was sent, so try another one.
        best.lastError = error;
        best.state = 'draining';
      }
    }
  }

  /**
   * The server's SETTINGS_MAX_HEADER_LIST_SIZE is advisory (RFC 9113 §6.5.2), but a server that
   * sets it refuses requests over it: fail such a request here, clearly and without sending it,
   * rather than let it be refused as an unexplained stream error. Checked only when a server
   * set the limit, so the usual request costs nothing.
   */
  private overPeerHeaderList(request: PendingRequest, limit: number): boolean {
    // RFC 9113 §6.5.2: name + value + 32 per field, the pseudo-header fields included.
    let size = 4 * 32 + ':method'.length + request.method.length + ':path'.length + request.path.length;
    size += ':scheme'.length + 5 + ':authority'.length + this.authority.length;
    const headers = request.headers;
    if (headers !== undefined) for (const name in headers) size += name.length + headers[name]!.length + 32;
    if (size <= limit) return false;
    this.fail(
      request,
      new PushError(
        'bad-request',
        `${this.origin} accepts request headers of at most ${limit} bytes (SETTINGS_MAX_HEADER_LIST_SIZE); this request's are ${size}: not sent`,
        { reason: 'header-list-too-large', retryable: false },
      ),
    );
    return true;
  }

  protected wrote(request: PendingRequest): boolean {
    const written = (request.connection as H2Connection).session!.wrote(request.carrier as H2Stream);
    // Queued HEADERS go out at the next flush unless the session dies first: lost, or being
    // destroyed by the pool in this very turn. Then they never leave.
    return written === 'sent' || (written === 'queued' && this.state !== 'closed');
  }

  protected cancel(request: PendingRequest): void {
    // RST_STREAM(CANCEL) tells the server to stop; the slot frees when the stream closes.
    (request.connection as H2Connection).session!.cancel(request.carrier as H2Stream);
    // A request given up on (timeout, abort) may be the sign of a dead connection that no event
    // reported: node:http2 keeps a session whose peer vanished, or that it ended itself with a
    // GOAWAY (a frame over SETTINGS_MAX_FRAME_SIZE), open and its streams silent. A PING tells:
    // unanswered, the health check replaces the connection; impossible, it goes now. Without
    // this, retries went on timing out on the same silent session.
    (request.connection as H2Connection | null)?.probe();
  }

  protected wantCapacity(): void {
    if (this.state === 'closed') return;
    let usable = 0;
    let connecting = 0;
    for (const connection of this.connections) {
      if (connection.state === 'connecting') connecting++;
      if (connection.state === 'connecting' || connection.state === 'ready') usable++;
    }
    const now = Date.now();
    if (now < this.nextConnectAt) {
      if (usable === 0 && this.lastConnectError !== null) {
        // The origin is unreachable and the next attempt is not due yet: fail now, not at timeout.
        this.failWaiting(this.withRetryAfter(this.lastConnectError, this.nextConnectAt - now));
      } else {
        this.scheduleBackoffPump(this.nextConnectAt - now);
      }
      return;
    }
    // Requests the in-flight limit lets start now: over it they wait for answers, not connections.
    const demand = Math.min(this.waiting.size, this.room);
    // The first few connections open as requests wait, as many at once as wait (each new
    // session takes at least one stream, so more connects than waiters are wasted)…
    const eager = Math.min(this.options.connections, EAGER_CONNECTIONS);
    while (usable < eager && connecting < demand) {
      this.open();
      usable++;
      connecting++;
    }
    if (usable < eager) return;
    // …more only when the open ones' streams (SETTINGS_MAX_CONCURRENT_STREAMS) cannot take the
    // demand: one per that many streams wanted. A server's first, provisional grant (APNs
    // allows one stream until a request has succeeded) counts as the RFC's recommended 100.
    let spare = 0;
    let streamsEach = 0;
    for (const connection of this.connections) {
      if (connection.state !== 'ready') continue;
      const streams = Math.max(connection.maxStreams, MIN_STREAMS);
      if (streams > streamsEach) streamsEach = streams;
      spare += Math.max(0, streams - connection.active);
    }
    if (streamsEach === 0) return;
    spare += connecting * streamsEach;
    while (usable < this.options.connections && spare < demand) {
      this.open();
      usable++;
      spare += streamsEach;
    }
  }

  // ---- connection life cycle ---------------------------------------------------------------

  private open(socket?: Socket): void {
    const connection = new H2Connection(this, this.nextConnectionId++, this.options.connectTimeoutMs);
    this.connections.push(connection);
    this.startHealthChecks();
    if (socket !== undefined) {
      this.attach(connection, socket);
      return;
    }
    // A client may read straight into a buffer of its own (the wire client: wire/direct-reader.ts).
    const reader = this.client.createReader?.();
    connectSocket(this.options, this.context, ['h2'], connection.connecting.signal, reader?.onread).then(
      (connected) => this.attach(connection, connected.socket, connected.direct ? reader : undefined),
      (error: unknown) => this.connectFailed(connection, error),
    );
  }

  private attach(connection: H2Connection, socket: Socket, reader?: H2Reader): void {
    if (connection.state !== 'connecting') {
      socket.destroy();
      return;
    }
    const session = this.client.connect(socket, {
      origin: this.origin,
      authority: this.authority,
      scheme: this.options.target.secure ? 'https' : 'http',
      maxHeaderListSize: this.options.maxHeaderListSize,
      handlers: STREAM_HANDLERS,
      events: connection.events,
      ...(reader === undefined ? {} : { reader }),
    });
    connection.attach(session, socket);
  }

  /** A connect that never produced a usable session (socket, TLS, proxy, timeout or no SETTINGS). */
  private connectFailed(connection: H2Connection, thrown: unknown): void {
    if (connection.state === 'closed') return;
    connection.clearConnectTimer();
    this.remove(connection);
    if (this.state === 'closed') return;
    const error = connectError(thrown, this.origin);
    this.failures++;
    const delay = backoffDelay(this.failures, this.options.backoffBaseMs, this.options.backoffMaxMs);
    this.nextConnectAt = Date.now() + delay;
    this.lastConnectError = error;
    emit(this.options, {
      type: 'connect-error',
      origin: this.origin,
      error: error.message,
      code: error.reason ?? error.code,
      retryInMs: delay,
    });
    if (!this.connections.some((c) => c.state === 'connecting' || c.state === 'ready')) {
      this.failWaiting(this.withRetryAfter(error, delay));
    }
    this.pump();
  }

  onSettings(connection: H2Connection, settings: H2Settings): void {
    const max = Math.min(settings.maxConcurrentStreams ?? UNLIMITED, this.options.maxStreamsPerConnection);
    connection.peerMaxHeaderList = settings.maxHeaderListSize ?? UNLIMITED;
    const changed = max !== connection.maxStreams;
    connection.maxStreams = max;
    if (connection.state === 'connecting') {
      connection.markReady();
      this.failures = 0;
      this.nextConnectAt = 0;
      this.lastConnectError = null;
      emit(this.options, { type: 'connect', origin: this.origin, connection: connection.id, protocol: 'h2' });
    }
    if (changed) {
      emit(this.options, {
        type: 'settings',
        origin: this.origin,
        connection: connection.id,
        maxConcurrentStreams: max,
      });
    }
    this.pump();
  }

  onGoaway(connection: H2Connection, errorCode: number, lastStreamId: number, opaqueData?: Buffer): void {
    // A server may send a second GOAWAY (often without data) as it closes: last-stream-id can
    // only go down (RFC 9113 §6.8), and the first one's reason is the one worth keeping.
    if (connection.goawayLastStreamId >= 0)
      lastStreamId = Math.min(lastStreamId, connection.goawayLastStreamId);
    connection.goawayLastStreamId = lastStreamId;
    if (errorCode !== 0 || connection.goawayCode === 0) connection.goawayCode = errorCode;
    if (connection.state !== 'closed') connection.state = 'draining';
    const info: GoawayInfo = { errorCode, errorName: h2ErrorName(errorCode), lastStreamId };
    const reason = goawayReason(opaqueData) ?? connection.goawayReason;
    if (reason !== undefined) info.reason = reason;
    connection.goawayReason = reason;
    this.lastGoaway = info;
    emit(this.options, { type: 'goaway', origin: this.origin, connection: connection.id, ...info });
    this.overloaded('goaway');
    // Node closes (NO_ERROR) or destroys the session itself; waiting requests need another one.
    this.pump();
  }

  onConnectTimeout(connection: H2Connection): void {
    const error = new PushError(
      'unavailable',
      `connecting to ${this.origin} took longer than ${this.options.connectTimeoutMs} ms`,
      { reason: 'ETIMEDOUT' },
    );
    connection.connecting.abort(error);
    if (connection.session !== null) {
      connection.lastError ??= error;
      connection.session.destroy();
      this.connectFailed(connection, connection.lastError);
    }
  }

  onConnectionClosed(connection: H2Connection): void {
    if (connection.state === 'closed') return;
    const wasReady = connection.everReady;
    connection.clearConnectTimer();
    if (!wasReady) {
      this.connectFailed(
        connection,
        connection.lastError ?? lostError('closed-before-settings', this.origin),
      );
      return;
    }
    this.remove(connection);
    const error = connection.lastError;
    emit(this.options, {
      type: 'disconnect',
      origin: this.origin,
      connection: connection.id,
      ...(error === null ? {} : { error: errorCode(error) }),
    });
    this.pump();
  }

  onPingAnswered(connection: H2Connection): void {
    connection.lastUsed = Date.now();
  }

  onStreamEnd(request: PendingRequest, connection: H2Connection): void {
    if (request.status === 0) {
      this.fail(
        request,
        lostError('no-response-headers', this.origin, undefined, this.maybeDelivered(request)),
      );
      return;
    }
    this.succeed(
      request,
      new PooledResponse(request.status, request.responseHeaders!, request.takeBody(), connection),
    );
  }

  onStreamClosed(request: PendingRequest | null, stream: H2Stream, connection: H2Connection): void {
    if (request !== null && !request.settled) this.streamLost(request, stream, connection);
    if (connection.state === 'draining' && connection.active === 0) connection.session?.close();
    if (this.waiting.size > 0) this.pump();
  }

  /** A stream closed without a complete response: re-send it if provably unprocessed, else fail it. */
  private streamLost(request: PendingRequest, stream: H2Stream, connection: H2Connection): void {
    const rstCode = stream.rstCode;
    const id = stream.id;
    const aboveGoaway =
      connection.goawayLastStreamId >= 0 && (id === undefined || id > connection.goawayLastStreamId);
    if (rstCode === REFUSED_STREAM || aboveGoaway) {
      if (this.state !== 'closed') {
        this.resend(request, aboveGoaway ? 'goaway' : h2ErrorName(REFUSED_STREAM));
        return;
      }
    }
    // The most telling reason first: the server's GOAWAY, then the stream's or the socket's error.
    let reason: string;
    const streamCode = request.error === null ? '' : errorCode(request.error);
    if (connection.goawayLastStreamId >= 0) {
      reason = connection.goawayReason ?? h2ErrorName(connection.goawayCode);
    } else if (streamCode !== '' && streamCode !== 'ERR_HTTP2_STREAM_ERROR') {
      reason = streamCode;
    } else if (connection.lastError !== null) {
      reason = errorCode(connection.lastError);
    } else {
      reason = h2ErrorName(rstCode ?? CANCEL);
    }
    // Not refused: the server may have processed it (a GOAWAY's last-stream-id covers it, or the
    // connection died with it in flight). Only a stream whose bytes never left is surely not.
    this.fail(
      request,
      lostError(
        reason,
        this.origin,
        request.error ?? connection.lastError ?? undefined,
        this.maybeDelivered(request),
      ),
    );
  }

  retireConnection(connection: H2Connection): void {
    if (connection.state !== 'ready') return;
    connection.state = 'draining';
    // Graceful: no new streams, open ones finish, then the session closes.
    connection.session?.close();
    if (this.waiting.size > 0) this.pump();
  }

  private remove(connection: H2Connection): void {
    connection.state = 'closed';
    const index = this.connections.indexOf(connection);
    if (index >= 0) this.connections.splice(index, 1);
    if (this.connections.length === 0) {
      this.stopHealthChecks();
      const resolve = this.allClosed;
      this.allClosed = null;
      resolve?.();
    }
  }

  // ---- health: idle PING, unanswered PING, backoff ------------------------------------------

  private startHealthChecks(): void {
    if (this.healthTimer !== null) return;
    const every = Math.max(
      10,
      Math.floor(Math.min(this.options.pingIntervalMs, this.options.pingTimeoutMs) / 2),
    );
    this.healthTimer = setInterval(() => this.checkHealth(), every);
    this.healthTimer.unref();
  }

  private stopHealthChecks(): void {
    if (this.healthTimer !== null) {
      clearInterval(this.healthTimer);
      this.healthTimer = null;
    }
  }

  private checkHealth(): void {
    const now = Date.now();
    for (const connection of this.connections) {
      if (connection.state !== 'ready' && connection.state !== 'draining') continue;
      if (connection.pingSentAt !== 0) {
        if (now - connection.pingSentAt >= this.options.pingTimeoutMs) {
          emit(this.options, { type: 'ping-timeout', origin: this.origin, connection: connection.id });
          connection.state = 'draining';
          connection.lastError = new PushError('unavailable', 'PING not answered', {
            reason: 'ping-timeout',
          });
          // A replacement opens as soon as a request needs it.
          connection.session?.destroy();
        }
      } else if (
        connection.state === 'ready' &&
        connection.active === 0 &&
        now - connection.lastUsed >= this.options.pingIntervalMs
      ) {
        connection.ping();
      }
    }
  }

  private scheduleBackoffPump(delay: number): void {
    if (this.backoffTimer !== null) return;
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      if (this.waiting.size > 0) this.pump();
    }, delay);
    this.backoffTimer.unref();
  }

  private withRetryAfter(error: PushError, retryAfterMs: number): PushError {
    return new PushError(error.code, error.message, {
      reason: error.reason,
      retryAfterMs: retryAfterMs > 0 ? retryAfterMs : undefined,
      cause: error.cause,
    });
  }

  // ---- close / destroy ----------------------------------------------------------------------

  protected closeConnections(): Promise<void> {
    this.clearBackoff();
    if (this.connections.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => {
      this.allClosed = resolve;
    });
    // Belt and braces: a session can end up destroyed without its 'close' reaching us (seen
    // under CPU starvation: the caller's `await close()` then never settled, exit code 13).
    // Until every connection is gone, look for destroyed sessions; the ref'd timer also keeps
    // the process alive for whoever awaits close().
    const sweep = setInterval(() => {
      for (const connection of [...this.connections])
        if (connection.session?.destroyed) this.onConnectionClosed(connection);
    }, 50);
    void done.then(() => clearInterval(sweep));
    for (const connection of [...this.connections]) {
      if (connection.session === null) {
        connection.connecting.abort(new PushError('closed', 'pool closed'));
        this.remove(connection);
      } else {
        connection.state = 'draining';
        // An idle session is unref'd; the GOAWAY that close() queues is flushed later, and an
        // unref'd socket lets the process exit first, leaving the caller's `await close()`
        // unsettled (exit code 13). Whoever awaits close() wants it finished: hold the loop.
        connection.session.ref();
        connection.session.close();
      }
    }
    return done;
  }

  protected destroyConnections(): Promise<void> {
    this.clearBackoff();
    const sockets: Duplex[] = [];
    for (const connection of [...this.connections]) {
      connection.clearConnectTimer();
      connection.connecting.abort(new PushError('closed', 'pool destroyed'));
      connection.session?.destroy();
      if (connection.socket !== null) sockets.push(connection.socket);
      this.remove(connection);
    }
    return socketsClosed(sockets);
  }

  private clearBackoff(): void {
    if (this.backoffTimer !== null) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
    }
  }
}

/** APNs (and others) put `{"reason": "..."}` in a GOAWAY's opaque data. */
function goawayReason(data: Buffer | undefined): string | undefined {
  if (data === undefined || data.length === 0) return undefined;
  const text = data.toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as { reason?: unknown }).reason === 'string'
    ) {
      return (parsed as { reason: string }).reason;
    }
  } catch {
    // Not JSON: keep the text itself, it is still the best explanation there is.
  }
  return text.slice(0, 200);
}

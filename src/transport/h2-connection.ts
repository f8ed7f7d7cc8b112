/**
 * One HTTP/2 session of a pool and the per-stream event handlers. Handlers are shared
 * functions reading their request from the stream (no closures per request). The session is
 * whichever client the pool was given, seen through the seam in h2-client.ts.
 */
import type { Duplex } from 'node:stream';
import type { H2Session, H2SessionEvents, H2Settings, H2Stream, H2StreamHandlers } from './h2-client.js';
import type { PendingRequest, Retirable } from './pending.js';

/** What a connection reports to its pool. */
export interface H2ConnectionOwner {
  onSettings(connection: H2Connection, settings: H2Settings): void;
  onGoaway(connection: H2Connection, errorCode: number, lastStreamId: number, opaqueData?: Buffer): void;
  onConnectionClosed(connection: H2Connection): void;
  onConnectTimeout(connection: H2Connection): void;
  onPingAnswered(connection: H2Connection): void;
  onStreamEnd(request: PendingRequest, connection: H2Connection): void;
  onStreamClosed(request: PendingRequest | null, stream: H2Stream, connection: H2Connection): void;
  retireConnection(connection: H2Connection): void;
}

const kRequest = Symbol('pushline.request');
const kConnection = Symbol('pushline.connection');

interface Tags {
  [kRequest]: PendingRequest | null;
  [kConnection]: H2Connection;
}
type TaggedStream = H2Stream & Tags;

export type H2State = 'connecting' | 'ready' | 'draining' | 'closed';

export class H2Connection implements Retirable {
  readonly id: number;
  readonly owner: H2ConnectionOwner;
  /** Cancels the connect (timeout, destroy) while the socket is being opened. */
  readonly connecting = new AbortController();
  session: H2Session | null = null;
  state: H2State = 'connecting';
  /** Streams open on this session (ours to count: nghttp2 would queue, not refuse, the excess). */
  active = 0;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (capped by the pool option); 0 until it arrives. */
  maxStreams = 0;
  /** The server's SETTINGS_MAX_HEADER_LIST_SIZE (2^32-1 when it set none). */
  peerMaxHeaderList = 2 ** 32 - 1;
  everReady = false;
  /** Last-stream-id of a GOAWAY received, -1 when none: higher streams were not processed. */
  goawayLastStreamId = -1;
  goawayCode = 0;
  goawayReason: string | undefined;
  lastUsed = Date.now();
  /** When the outstanding PING was sent, 0 when none is outstanding. */
  pingSentAt = 0;
  lastError: unknown = null;
  private connectTimer: NodeJS.Timeout | null;
  /** The session's socket once attached: destroy() waits for it to close. */
  socket: Duplex | null = null;
  private readonly pingAnswered = (error: Error | null): void => {
    if (error === null) {
      this.pingSentAt = 0;
      this.owner.onPingAnswered(this);
    }
  };

  /** What the session reports, passed to the client when it connects. */
  readonly events: H2SessionEvents = {
    settings: (settings) => this.owner.onSettings(this, settings),
    goaway: (code, lastStreamId, data) => this.owner.onGoaway(this, code, lastStreamId, data),
    error: (error) => {
      this.lastError ??= error;
    },
    close: () => this.owner.onConnectionClosed(this),
  };

  constructor(owner: H2ConnectionOwner, id: number, connectTimeoutMs: number) {
    this.owner = owner;
    this.id = id;
    this.connectTimer = setTimeout(onConnectTimeout, connectTimeoutMs, this);
    this.connectTimer.unref();
  }

  /** Takes the session a client made of `socket` (its events already go to `this.events`). */
  attach(session: H2Session, socket: Duplex): void {
    this.session = session;
    this.socket = socket;
    // A TLS 1.3 alert after the handshake (client certificate refused) kills the socket under a
    // session that then never emits 'close': watch the socket too, and report it once.
    const settle = (): void => {
      setImmediate(() => {
        if (this.state === 'closed') return;
        session.destroy();
        this.owner.onConnectionClosed(this);
      });
    };
    socket.on('error', (error: unknown) => {
      this.lastError ??= error;
      settle();
    });
    socket.once('close', settle);
  }

  markReady(): void {
    this.state = 'ready';
    this.everReady = true;
    this.clearConnectTimer();
    this.lastUsed = Date.now();
    // Idle sessions must not keep the process alive; in-flight streams ref it again.
    if (this.active === 0) this.session?.unref();
  }

  clearConnectTimer(): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
  }

  /** True when a new stream may go on this session now. */
  get hasRoom(): boolean {
    const session = this.session;
    return (
      this.state === 'ready' &&
      this.active < this.maxStreams &&
      session !== null &&
      !session.destroyed &&
      !session.closed
    );
  }

  retire(): void {
    this.owner.retireConnection(this);
  }

  ping(): boolean {
    const session = this.session;
    if (session === null || session.destroyed) return false;
    if (this.pingSentAt !== 0) return true;
    let sent: boolean;
    try {
      sent = session.ping(this.pingAnswered);
    } catch {
      sent = false;
    }
    if (sent) this.pingSentAt = Date.now();
    return sent;
  }

  /**
   * Checks a connection that may be dead without having said so: a PING (the health check
   * replaces the connection if it goes unanswered), or, when not even a PING can be sent, the
   * end of the connection now.
   */
  probe(): void {
    if (this.state !== 'ready' && this.state !== 'draining') return;
    if (this.ping()) return;
    this.lastError ??= new Error('the HTTP/2 session cannot send a PING: it is no longer usable');
    this.state = 'draining';
    this.session?.destroy();
  }

  /** Opens a stream for `request` (the caller checked `hasRoom`). Throws if the session refuses. */
  openStream(request: PendingRequest, body: Buffer | string | undefined): H2Stream {
    const session = this.session!;
    const stream = session.request(request.method, request.path, request.headers, body) as TaggedStream;
    if (this.active++ === 0) session.ref();
    stream[kRequest] = request;
    stream[kConnection] = this;
    request.carrier = stream;
    request.connection = this;
    return stream;
  }
}

function onConnectTimeout(connection: H2Connection): void {
  connection.owner.onConnectTimeout(connection);
}

/** The stream callbacks of every session, whichever the client: the request is read off the stream. */
export const STREAM_HANDLERS: H2StreamHandlers = {
  response(handle, headers) {
    const request = (handle as TaggedStream)[kRequest];
    if (request === null) return;
    request.status = Number(headers[':status']);
    request.responseHeaders = headers;
  },
  data(handle, chunk) {
    (handle as TaggedStream)[kRequest]?.addChunk(chunk);
  },
  end(handle) {
    const stream = handle as TaggedStream;
    const request = stream[kRequest];
    if (request !== null && !request.settled)
      stream[kConnection].owner.onStreamEnd(request, stream[kConnection]);
  },
  error(handle, error) {
    const request = (handle as TaggedStream)[kRequest];
    if (request !== null) request.error = error;
  },
  close(handle) {
    const stream = handle as TaggedStream;
    const request = stream[kRequest];
    stream[kRequest] = null;
    const connection = stream[kConnection];
    connection.active--;
    connection.lastUsed = Date.now();
    if (connection.active === 0 && connection.session !== null && !connection.session.destroyed) {
      connection.session.unref();
    }
    connection.owner.onStreamClosed(request, stream, connection);
  },
};

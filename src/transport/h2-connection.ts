/**
 * One HTTP/2 session of a pool and the per-stream event handlers. Handlers are shared
 * functions reading their request from the stream (no closures per request).
 */
import type { EventEmitter } from 'node:events';
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, Settings } from 'node:http2';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { PendingRequest, Retirable } from './pending.js';
import { WireSession, type WireStreamHandlers } from './wire/session.js';
import type { WireStream } from './wire/stream.js';

/** What the pool reads of a stream, node's or the wire transport's. */
export type H2Stream = ClientHttp2Stream | WireStream;

/** What a connection reports to its pool. */
export interface H2ConnectionOwner {
  onSettings(connection: H2Connection, settings: Settings): void;
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
  session: ClientHttp2Session | WireSession | null = null;
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
  /** The pool's `maxHeaderListSize`, held to on node:http2 responses (the wire session holds its own). */
  readonly maxHeaderListSize: number;
  private connectTimer: NodeJS.Timeout | null;
  /** The session's socket once attached: destroy() waits for it to close. */
  socket: Duplex | null = null;
  private readonly pingAnswered = (error: Error | null): void => {
    if (error === null) {
      this.pingSentAt = 0;
      this.owner.onPingAnswered(this);
    }
  };

  constructor(owner: H2ConnectionOwner, id: number, connectTimeoutMs: number, maxHeaderListSize: number) {
    this.owner = owner;
    this.id = id;
    this.maxHeaderListSize = maxHeaderListSize;
    this.connectTimer = setTimeout(onConnectTimeout, connectTimeoutMs, this);
    this.connectTimer.unref();
  }

  /** Wraps a connected socket in an HTTP/2 session. */
  attach(session: ClientHttp2Session | WireSession, socket: Duplex): void {
    this.session = session;
    this.socket = socket;
    const events: EventEmitter = session;
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
    events.on('remoteSettings', (settings: Settings) => this.owner.onSettings(this, settings));
    events.on('goaway', (code: number, lastStreamId: number, data?: Buffer) =>
      this.owner.onGoaway(this, code, lastStreamId, data),
    );
    events.on('error', (error: unknown) => {
      this.lastError ??= error;
    });
    events.on('close', () => this.owner.onConnectionClosed(this));
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
      sent =
        session instanceof WireSession ? session.ping(this.pingAnswered) : session.ping(this.pingAnswered);
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
  openStream(request: PendingRequest): H2Stream {
    const session = this.session!;
    if (session instanceof WireSession) {
      // The wire session caches the encoding of `request.headers` by identity: pass it as is.
      const wire = session.request(
        request.method,
        request.path,
        request.headers,
        request.body,
      ) as WireStream & Tags;
      if (this.active++ === 0) session.ref();
      wire[kRequest] = request;
      wire[kConnection] = this;
      request.carrier = wire;
      request.connection = this;
      return wire;
    }
    const headers: http2.OutgoingHttpHeaders = { ':method': request.method, ':path': request.path };
    const extra = request.headers;
    if (extra !== undefined) for (const name in extra) headers[name] = extra[name];
    const body = request.body;
    const stream = session.request(
      headers,
      body === undefined ? END_STREAM : undefined,
    ) as ClientHttp2Stream & Tags;
    if (this.active++ === 0) session.ref();
    stream[kRequest] = request;
    stream[kConnection] = this;
    request.carrier = stream;
    request.connection = this;
    stream.on('response', onNodeResponse);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    if (body !== undefined) stream.end(body);
    return stream;
  }
}

const END_STREAM = { endStream: true };

/** The wire session's stream callbacks: the same handlers node's stream events run. */
export const WIRE_HANDLERS: WireStreamHandlers = {
  response: (stream, headers) => onResponse.call(stream as WireStream & Tags, headers),
  data: (stream, chunk) => onData.call(stream as WireStream & Tags, chunk),
  end: (stream) => onEnd.call(stream as WireStream & Tags),
  error: (stream, error) => onError.call(stream as WireStream & Tags, error),
  close: (stream) => onClose.call(stream as WireStream & Tags),
};

function onConnectTimeout(connection: H2Connection): void {
  connection.owner.onConnectTimeout(connection);
}

function onResponse(this: TaggedStream, headers: IncomingHttpHeaders): void {
  const request = this[kRequest];
  if (request === null) return;
  request.status = Number(headers[':status']);
  request.responseHeaders = headers;
}

/**
 * node:http2 advertises SETTINGS_MAX_HEADER_LIST_SIZE but does not hold a server to it on
 * responses: measure the list (RFC 9113 §6.5.2) and end a connection whose server exceeds it,
 * as the wire client does while decoding.
 */
function onNodeResponse(this: ClientHttp2Stream & Tags, headers: IncomingHttpHeaders): void {
  const connection = this[kConnection];
  const limit = connection.maxHeaderListSize;
  let size = 0;
  for (const name in headers) {
    const value = headers[name];
    if (Array.isArray(value)) for (const item of value) size += name.length + item.length + 32;
    else size += name.length + String(value).length + 32;
  }
  if (size > limit) {
    const session = this.session;
    const error = new Error(`response header list of ${size} bytes is over maxHeaderListSize ${limit}`);
    connection.lastError ??= error;
    session?.destroy(error, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    return;
  }
  onResponse.call(this, headers);
}

function onData(this: TaggedStream, chunk: Buffer): void {
  this[kRequest]?.addChunk(chunk);
}

function onEnd(this: TaggedStream): void {
  const request = this[kRequest];
  if (request !== null && !request.settled) this[kConnection].owner.onStreamEnd(request, this[kConnection]);
}

function onError(this: TaggedStream, error: unknown): void {
  const request = this[kRequest];
  if (request !== null) request.error = error;
}

function onClose(this: TaggedStream): void {
  const request = this[kRequest];
  this[kRequest] = null;
  const connection = this[kConnection];
  connection.active--;
  connection.lastUsed = Date.now();
  if (connection.active === 0 && connection.session !== null && !connection.session.destroyed) {
    connection.session.unref();
  }
  connection.owner.onStreamClosed(request, this, connection);
}

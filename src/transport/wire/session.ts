/**
 * A client HTTP/2 connection (RFC 9113) spoken directly on a TLS (or TCP) socket, without
 * node:http2. It offers the subset of `ClientHttp2Session` the pool uses — `request`,
 * `close`, `destroy`, `ping`, `ref`/`unref`, `closed`/`destroyed`, the events
 * 'remoteSettings', 'goaway', 'error', 'close' — with the same meaning, so H2Connection
 * drives either.
 *
 * Why: node:http2 spends most of a push's CPU in its JS/C++ glue (per-request resource
 * binding, header objects, nghttp2 callbacks). Here a request is one pre-encoded header block
 * prefix (cached per header object), a per-device `:path` literal and a DATA frame, written
 * into a shared slab that goes to the socket once per event-loop turn.
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { DirectReader } from './direct-reader.js';
import { connectionError, sessionUnusable, WireError } from './errors.js';
import {
  CANCEL,
  DATA,
  DEFAULT_WINDOW,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLOW_CONTROL_ERROR,
  FRAME_HEADER_LENGTH,
  FRAME_SIZE_ERROR,
  h2ErrorName,
  INTERNAL_ERROR,
  MAX_WINDOW,
  NO_ERROR,
  PROTOCOL_ERROR,
  REFUSED_STREAM,
  STREAM_CLOSED,
  writeFrameHeader,
} from './frames.js';
import { FrameReader, type FrameSink } from './reader.js';
import { RequestHeaders } from './request-headers.js';
import { applySettings, defaultSettings, type WireSettings } from './settings.js';
import { WireStream } from './stream.js';
import { StreamTable } from './stream-table.js';
import { FrameWriter } from './writer.js';

/** What the session calls as a stream's response arrives (instead of per-stream events). */
export interface WireStreamHandlers {
  response(stream: WireStream, headers: IncomingHttpHeaders): void;
  data(stream: WireStream, chunk: Buffer): void;
  end(stream: WireStream): void;
  error(stream: WireStream, error: Error): void;
  close(stream: WireStream): void;
}

export type { WireSettings } from './settings.js';

export interface WireSessionOptions {
  /** `:authority` of every request (host[:port]). */
  authority: string;
  scheme: 'https' | 'http';
  handlers: WireStreamHandlers;
  /**
   * Our SETTINGS_INITIAL_WINDOW_SIZE: how much a server may send per stream before we credit
   * it back. Large, so a response never waits for a WINDOW_UPDATE. Default 8 MiB.
   */
  initialWindowSize?: number;
  /** Connection-level receive window we open right after the preface. Default 1 GiB. */
  connectionWindowSize?: number;
  /**
   * Largest response header list we accept, in RFC 9113 §6.5.2 terms (name + value + 32 per
   * field), advertised as SETTINGS_MAX_HEADER_LIST_SIZE. It also bounds the compressed block
   * (HEADERS + CONTINUATION) we buffer. A server that sends more is hostile or broken: the
   * connection ends with ENHANCE_YOUR_CALM. Default 64 KiB (push services answer in < 1 KiB).
   */
  maxHeaderListSize?: number;
  /**
   * The socket's `onread` reader, when it was opened with one: the session takes its bytes from
   * it instead of 'data' events. Either way a chunk is only valid during the call (the reader
   * reuses its buffer), so the session copies whatever it keeps.
   */
  reader?: DirectReader;
}

type PingCallback = (error: Error | null, duration: number, payload: Buffer) => void;

const MAX_STREAM_ID = 2 ** 31 - 1;
const MAX_OUTSTANDING_PINGS = 10;
export const DEFAULT_MAX_HEADER_LIST_SIZE = 64 * 1024;

export class WireSession extends EventEmitter implements FrameSink {
  readonly socket: Socket;
  closed = false;
  destroyed = false;
  /** @internal false until the server's first SETTINGS (read by the {@link FrameReader}). */
  settingsReceived = false;
  private readonly handlers: WireStreamHandlers;
  private readonly writer: FrameWriter;
  private readonly reader: FrameReader;
  private readonly requestHeaders: RequestHeaders;
  private readonly streams = new StreamTable();
  private nextStreamId = 1;
  private readonly settings: WireSettings = defaultSettings();
  private goawayReceived = false;
  private goawaySent = false;
  /** Connection-level send window (the server's credit to us). */
  private sendWindow = DEFAULT_WINDOW;
  /** Streams with body bytes waiting for credit, in arrival order. */
  private blocked: WireStream[] = [];
  private readonly localInitialWindow: number;
  private readonly connectionWindow: number;
  /** Connection-level received bytes not yet credited back. */
  private recvUnacked = 0;
  private readonly pings: Array<{ payload: Buffer; sentAt: bigint; callback: PingCallback }> = [];
  private pingCounter = 0;

  constructor(socket: Socket, options: WireSessionOptions) {
    super();
    this.socket = socket;
    this.handlers = options.handlers;
    this.requestHeaders = new RequestHeaders(options.scheme, options.authority);
    this.localInitialWindow = Math.min(options.initialWindowSize ?? 8 * 1024 * 1024, MAX_WINDOW);
    this.connectionWindow = Math.max(
      DEFAULT_WINDOW,
      Math.min(options.connectionWindowSize ?? 2 ** 30, MAX_WINDOW),
    );
    const maxHeaderListSize = options.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE;
    const writer = new FrameWriter(socket);
    this.writer = writer;
    const reader = new FrameReader(this, writer, maxHeaderListSize);
    this.reader = reader;
    socket.setNoDelay?.(true);
    if (options.reader !== undefined) options.reader.attach((chunk) => reader.read(chunk));
    else socket.on('data', (chunk: Buffer) => reader.read(chunk));
    socket.on('error', (error: Error) => this.destroy(error));
    socket.on('end', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('drain', () => writer.onDrain());
    writer.preface(this.localInitialWindow, maxHeaderListSize, this.connectionWindow);
    writer.flush();
  }

  /** The server's current settings (defaults until its SETTINGS frame arrives). */
  get remoteSettings(): WireSettings {
    return { ...this.settings };
  }

  /** Bytes queued for the socket and not yet handed to the kernel (ours plus the socket's buffer). */
  get bufferedBytes(): number {
    return this.writer.bufferedBytes;
  }

  /** True once any byte of `stream`'s request was handed to the socket. */
  wrote(stream: WireStream): boolean {
    return stream.id <= this.writer.writtenThrough;
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  /** Hands what is queued to the socket now (else it goes at the end of this event-loop turn). */
  flush(): void {
    this.writer.flush();
  }

  // ---- requests ------------------------------------------------------------------------------

  /**
   * Opens a stream and queues its HEADERS (and DATA, within flow control) for the next flush.
   * `headers` should be the same object for requests that share them: its encoding is cached.
   * @throws when the session is closing or out of stream ids (nothing was sent then).
   */
  request(
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: Buffer | string | undefined,
  ): WireStream {
    if (this.closed || this.destroyed || this.goawayReceived) {
      throw sessionUnusable('ERR_HTTP2_INVALID_SESSION', 'the HTTP/2 session is closing');
    }
    const id = this.nextStreamId;
    if (id > MAX_STREAM_ID) {
      throw sessionUnusable('ERR_HTTP2_OUT_OF_STREAMS', 'out of HTTP/2 stream ids');
    }
    const writer = this.writer;
    this.requestHeaders.write(
      writer,
      id,
      method,
      path,
      headers,
      body === undefined,
      this.settings.maxFrameSize,
    );
    this.nextStreamId = id + 2;
    writer.queuedThrough = id;
    const stream = new WireStream(this, id, this.settings.initialWindowSize);
    this.streams.set(id, stream);
    if (body === undefined) stream.localEnded = true;
    else if (typeof body !== 'string' || !this.sendStringBody(stream, body)) {
      stream.pendingBody = typeof body === 'string' ? Buffer.from(body) : body;
      if (!this.sendBody(stream)) this.blocked.push(stream);
    }
    writer.scheduleFlush();
    return stream;
  }

  /** Sends our PING; `callback` gets the round trip when the ACK arrives. False when too many are out. */
  ping(callback: PingCallback): boolean {
    if (this.destroyed) throw sessionUnusable('ERR_HTTP2_INVALID_SESSION', 'the HTTP/2 session is destroyed');
    if (this.pings.length >= MAX_OUTSTANDING_PINGS) return false;
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(++this.pingCounter, 4);
    this.pings.push({ payload, sentAt: process.hrtime.bigint(), callback });
    this.writer.ping(payload);
    return true;
  }

  /** Graceful close: GOAWAY(NO_ERROR), no new streams; the socket ends once open streams finish. */
  close(): void {
    if (this.destroyed) return;
    this.closed = true;
    if (!this.goawaySent && !this.goawayReceived) this.writeGoaway(NO_ERROR, '');
    if (this.streams.size === 0) this.shutdown();
    else this.writer.scheduleFlush();
  }

  /** Ends everything now: open streams close (with `error` if given), then 'error' and 'close'. */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closed = true;
    this.blocked = [];
    this.writer.dropHeld();
    for (const stream of this.streams.values()) {
      stream.rstCode ??= error === undefined ? CANCEL : INTERNAL_ERROR;
      if (error !== undefined) this.handlers.error(stream, error);
      this.finish(stream, CANCEL);
    }
    for (const ping of this.pings.splice(0)) {
      ping.callback(error ?? new Error('the HTTP/2 session was destroyed'), 0, ping.payload);
    }
    this.socket.destroy();
    process.nextTick(emitClose, this, error);
  }

  /** RST_STREAM for a stream we give up on (cancel, timeout). Its close handler runs on the next tick. */
  resetStream(stream: WireStream, code: number): void {
    if (stream.closed) return;
    if (!this.destroyed) {
      this.writer.rst(stream.id, code);
      this.writer.scheduleFlush();
    }
    stream.rstCode = code;
    stream.closed = true;
    stream.destroyed = true;
    stream.pendingBody = null;
    this.streams.delete(stream.id);
    process.nextTick(closeReset, this, stream);
  }

  /** @internal the deferred half of {@link resetStream}. */
  afterReset(stream: WireStream): void {
    this.handlers.close(stream);
    if (this.closed && !this.destroyed && this.streams.size === 0) this.shutdown();
  }

  // ---- output --------------------------------------------------------------------------------

  /**
   * A string body that fits one DATA frame and the windows (a push message always does) is
   * encoded straight into the slab: no Buffer of its own per request. False when it does not
   * fit: then it goes the {@link sendBody} way.
   */
  private sendStringBody(stream: WireStream, body: string): boolean {
    const size = Buffer.byteLength(body);
    if (size > Math.min(this.sendWindow, stream.sendWindow, this.settings.maxFrameSize)) return false;
    const writer = this.writer;
    const at = writer.reserve(FRAME_HEADER_LENGTH + size);
    const out = writer.out;
    writeFrameHeader(out, at, size, DATA, FLAG_END_STREAM, stream.id);
    out.write(body, at + FRAME_HEADER_LENGTH, size, 'utf8');
    this.sendWindow -= size;
    stream.sendWindow -= size;
    stream.localEnded = true;
    return true;
  }

  /** Sends as much of the stream's pending body as both windows allow. True when all is sent. */
  private sendBody(stream: WireStream): boolean {
    const body = stream.pendingBody!;
    const maxFrame = this.settings.maxFrameSize;
    const writer = this.writer;
    for (;;) {
      const remaining = body.length - stream.pendingOffset;
      const size = Math.min(remaining, this.sendWindow, stream.sendWindow, maxFrame);
      if (size <= 0 && remaining > 0) return false;
      const last = size === remaining;
      const at = writer.reserve(FRAME_HEADER_LENGTH + size);
      const out = writer.out;
      writeFrameHeader(out, at, size, DATA, last ? FLAG_END_STREAM : 0, stream.id);
      body.copy(out, at + FRAME_HEADER_LENGTH, stream.pendingOffset, stream.pendingOffset + size);
      stream.pendingOffset += size;
      this.sendWindow -= size;
      stream.sendWindow -= size;
      if (last) {
        stream.pendingBody = null;
        stream.localEnded = true;
        if (stream.remoteEnded) this.finish(stream, NO_ERROR);
        return true;
      }
    }
  }

  /** Credit arrived: send what waits, oldest first. */
  private drainBlocked(): void {
    if (this.blocked.length === 0) return;
    const still: WireStream[] = [];
    for (const stream of this.blocked) {
      if (stream.closed || stream.pendingBody === null) continue;
      if (this.sendWindow <= 0 || !this.sendBody(stream)) still.push(stream);
    }
    this.blocked = still;
    this.writer.scheduleFlush();
  }

  private writeGoaway(code: number, debug: string): void {
    this.goawaySent = true;
    this.writer.goaway(code, debug);
  }

  /** Graceful end of the socket once nothing is open: flush, end, then 'close'. */
  private shutdown(): void {
    if (this.destroyed) return;
    // The socket buffers what is left: end() goes out after it, whatever its back-pressure.
    this.writer.flushAll();
    this.destroyed = true;
    const socket = this.socket;
    socket.end(() => socket.destroy());
    process.nextTick(emitClose, this, undefined);
  }

  // ---- input (frames checked and cut by the FrameReader) -------------------------------------

  /** The stream a frame is for; undefined for one already closed; a connection error for an idle one. */
  private streamFor(id: number, type: string): WireStream | undefined {
    if (id === 0) throw connectionError(PROTOCOL_ERROR, `${type} on stream 0`);
    const stream = this.streams.get(id);
    if (stream !== undefined) return stream;
    if ((id & 1) === 0 || id >= this.nextStreamId) {
      throw connectionError(PROTOCOL_ERROR, `${type} on idle stream ${id}`);
    }
    return undefined;
  }

  /** @internal */
  onData(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    const stream = this.streamFor(id, 'DATA');
    const total = end - start;
    // Connection credit counts the whole frame, padding included, even on closed streams (§6.9).
    this.recvUnacked += total;
    if (this.recvUnacked >= this.connectionWindow / 2) {
      this.writer.windowUpdate(0, this.recvUnacked);
      this.recvUnacked = 0;
    }
    if (flags & FLAG_PADDED) {
      if (total < 1) throw connectionError(FRAME_SIZE_ERROR, 'padded DATA without pad length');
      const pad = buf[start]!;
      start++;
      if (pad > end - start) throw connectionError(PROTOCOL_ERROR, 'DATA padding exceeds the frame');
      end -= pad;
    }
    if (stream === undefined) return;
    if (!stream.headersReceived || stream.remoteEnded) {
      this.streamError(
        stream,
        stream.remoteEnded ? STREAM_CLOSED : PROTOCOL_ERROR,
        'DATA before response headers',
      );
      return;
    }
    stream.unacked += total;
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if (!endStream && stream.unacked >= this.localInitialWindow / 2) {
      this.writer.windowUpdate(id, stream.unacked);
      stream.unacked = 0;
    }
    // Copied: the handler keeps the chunk, and the socket's buffer is only lent (see `reader`).
    if (end > start) {
      const chunk = Buffer.allocUnsafe(end - start);
      buf.copy(chunk, 0, start, end);
      this.handlers.data(stream, chunk);
    }
    if (endStream && !stream.closed) this.remoteEnd(stream);
  }

  /** @internal */
  onHeaderBlock(id: number, headers: IncomingHttpHeaders, endStream: boolean): void {
    const stream = this.streamFor(id, 'HEADERS');
    if (stream === undefined || stream.closed) return;
    if (stream.remoteEnded) {
      this.streamError(stream, STREAM_CLOSED, 'HEADERS after END_STREAM');
      return;
    }
    if (!stream.headersReceived) {
      const status = headers[':status'] as unknown as number | undefined;
      if (status === undefined || Number.isNaN(status)) {
        this.streamError(stream, PROTOCOL_ERROR, 'response without a valid :status');
        return;
      }
      if (status >= 100 && status < 200) {
        // Informational: the final response follows (§8.1).
        if (endStream) this.streamError(stream, PROTOCOL_ERROR, 'END_STREAM on a 1xx response');
        return;
      }
      stream.headersReceived = true;
      this.handlers.response(stream, headers);
    } else if (!endStream) {
      this.streamError(stream, PROTOCOL_ERROR, 'trailers without END_STREAM');
      return;
    }
    if (endStream && !stream.closed) this.remoteEnd(stream);
  }

  /** @internal */
  onRstStream(id: number, code: number): void {
    const stream = this.streamFor(id, 'RST_STREAM');
    if (stream === undefined || stream.closed) return;
    stream.rstCode = code;
    if (code !== NO_ERROR) {
      this.handlers.error(
        stream,
        new WireError('ERR_HTTP2_STREAM_ERROR', code, `Stream closed with error code ${h2ErrorName(code)}`),
      );
    }
    this.finish(stream, code);
  }

  /** @internal */
  onSettings(buf: Buffer, start: number, end: number): void {
    const windowDelta = applySettings(this.settings, this.requestHeaders, buf, start, end);
    if (windowDelta !== 0) {
      // §6.9.2: the change applies to every open stream's window.
      for (const stream of this.streams.values()) {
        stream.sendWindow += windowDelta;
        if (stream.sendWindow > MAX_WINDOW) {
          throw connectionError(FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window');
        }
      }
    }
    this.writer.settingsAck();
    this.settingsReceived = true;
    this.emit('remoteSettings', this.remoteSettings);
    if (windowDelta > 0) this.drainBlocked();
  }

  /** @internal */
  onPingAck(buf: Buffer, start: number, end: number): void {
    const index = this.pings.findIndex((p) => p.payload.equals(buf.subarray(start, end)));
    if (index < 0) return;
    const [ping] = this.pings.splice(index, 1);
    const ms = Number(process.hrtime.bigint() - ping!.sentAt) / 1e6;
    ping!.callback(null, ms, ping!.payload);
  }

  /** @internal */
  onGoaway(lastStreamId: number, code: number, data: Buffer): void {
    this.goawayReceived = true;
    this.emit('goaway', code, lastStreamId, data);
    // Streams above last-stream-id were not processed (§6.8): they close as refused.
    for (const stream of this.streams.values()) {
      if (stream.id > lastStreamId && !stream.closed) {
        stream.rstCode = REFUSED_STREAM;
        this.finish(stream, REFUSED_STREAM);
      }
    }
    if (this.destroyed) return;
    if (code === NO_ERROR) this.close();
    else this.destroy(connectionError(code, `Session closed with error code ${h2ErrorName(code)}`));
  }

  /** @internal */
  onWindowUpdate(id: number, increment: number): void {
    if (id === 0) {
      if (increment === 0) throw connectionError(PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW)
        throw connectionError(FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      this.drainBlocked();
      return;
    }
    const stream = this.streamFor(id, 'WINDOW_UPDATE');
    if (stream === undefined || stream.closed) return;
    if (increment === 0) {
      this.streamError(stream, PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      this.streamError(stream, FLOW_CONTROL_ERROR, 'stream window above 2^31-1');
      return;
    }
    if (stream.pendingBody !== null && this.sendWindow > 0) {
      this.sendBody(stream);
      this.writer.scheduleFlush();
    }
  }

  // ---- stream and connection ends ------------------------------------------------------------

  private remoteEnd(stream: WireStream): void {
    stream.remoteEnded = true;
    this.handlers.end(stream);
    if (stream.closed) return;
    if (stream.localEnded) {
      this.finish(stream, NO_ERROR);
      return;
    }
    // The whole response came before our body went out: the rest is not wanted.
    this.writer.rst(stream.id, CANCEL);
    this.writer.scheduleFlush();
    this.finish(stream, NO_ERROR);
  }

  /** A stream error (§5.4.2): RST_STREAM with `code`, report it, close the stream. */
  private streamError(stream: WireStream, code: number, message: string): void {
    this.writer.rst(stream.id, code);
    this.writer.scheduleFlush();
    stream.rstCode = code;
    this.handlers.error(stream, new WireError('ERR_HTTP2_STREAM_ERROR', code, message));
    this.finish(stream, code);
  }

  private finish(stream: WireStream, code: number): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.destroyed = true;
    stream.rstCode ??= code;
    stream.pendingBody = null;
    this.streams.delete(stream.id);
    this.handlers.close(stream);
    if (this.closed && !this.destroyed && this.streams.size === 0) this.shutdown();
  }

  /** @internal a connection error (§5.4.1): GOAWAY with its code, then destroy with the error. */
  fail(error: WireError): void {
    if (this.destroyed) return;
    this.writeGoaway(error.h2Code, error.message);
    // Best effort: the GOAWAY goes to the socket even while it is backed up.
    this.writer.flushAll();
    this.destroy(error);
  }
}

function closeReset(session: WireSession, stream: WireStream): void {
  session.afterReset(stream);
}

function emitClose(session: WireSession, error: Error | undefined): void {
  if (error !== undefined && session.listenerCount('error') > 0) session.emit('error', error);
  session.emit('close');
}

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
import {
  CANCEL,
  COMPRESSION_ERROR,
  CONTINUATION,
  ConnectionError,
  DATA,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ENHANCE_YOUR_CALM,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FLOW_CONTROL_ERROR,
  FRAME_HEADER_LENGTH,
  FRAME_SIZE_ERROR,
  GOAWAY,
  HEADERS,
  h2ErrorName,
  INTERNAL_ERROR,
  MAX_FRAME_SIZE_LIMIT,
  MAX_WINDOW,
  NO_ERROR,
  PING,
  PREFACE,
  PROTOCOL_ERROR,
  PUSH_PROMISE,
  REFUSED_STREAM,
  RST_STREAM,
  SETTINGS,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  SETTINGS_MAX_FRAME_SIZE,
  SETTINGS_MAX_HEADER_LIST_SIZE,
  STREAM_CLOSED,
  WINDOW_UPDATE,
  writeFrameHeader,
} from './frames.js';
import { CompressionError, HpackDecoder } from './hpack-decoder.js';
import { ByteWriter, HpackEncoder } from './hpack-encoder.js';
import { type Slab, Slabs } from './slabs.js';
import { WireStream } from './stream.js';
import { StreamTable } from './stream-table.js';

/**
 * Prototype of every decoded header set: empty and itself prototype-less, so a header named
 * `__proto__` or `constructor` is an ordinary own key, as with Object.create(null). Unlike
 * Object.create(null), whose objects start as hash tables, objects made from a real prototype
 * start in V8's fast mode, and responses adding the same names in the same order share one shape.
 */
const HEADERS_PROTOTYPE: object = Object.create(null);

/** What the session calls as a stream's response arrives (instead of per-stream events). */
export interface WireStreamHandlers {
  response(stream: WireStream, headers: IncomingHttpHeaders): void;
  data(stream: WireStream, chunk: Buffer): void;
  end(stream: WireStream): void;
  error(stream: WireStream, error: Error): void;
  close(stream: WireStream): void;
}

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

/** The server's settings (RFC 9113 §6.5.2), shaped like node's `Settings`. */
export interface WireSettings {
  headerTableSize: number;
  enablePush: boolean;
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
}

type PingCallback = (error: Error | null, duration: number, payload: Buffer) => void;

/** Largest frame we accept (we advertise no SETTINGS_MAX_FRAME_SIZE, so the default). */
const OUR_MAX_FRAME_SIZE = DEFAULT_MAX_FRAME_SIZE;
const MAX_STREAM_ID = 2 ** 31 - 1;
const MAX_OUTSTANDING_PINGS = 10;
const MAX_HELD_ACKS = 1000;
export const DEFAULT_MAX_HEADER_LIST_SIZE = 64 * 1024;
/**
 * CONTINUATION frames one header block may take. Each costs no memory once the byte bound
 * holds, but an endless run of empty ones is the CVE-2024-27316 pattern: a block that needs
 * more than this many frames is refused whatever its size.
 */
const MAX_CONTINUATION_FRAMES = 128;

export class WireSession extends EventEmitter {
  readonly socket: Socket;
  closed = false;
  destroyed = false;
  private readonly handlers: WireStreamHandlers;
  private readonly authority: string;
  private readonly scheme: string;
  private readonly encoder = new HpackEncoder();
  private readonly decoder = new HpackDecoder();
  private readonly scratch = new ByteWriter(512);
  private readonly streams = new StreamTable();
  private nextStreamId = 1;
  private readonly settings: WireSettings = {
    headerTableSize: 4096,
    enablePush: true,
    maxConcurrentStreams: 2 ** 32 - 1,
    initialWindowSize: DEFAULT_WINDOW,
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    maxHeaderListSize: 2 ** 32 - 1,
  };
  private settingsReceived = false;
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

  private readonly slabs = new Slabs();
  /** The slab frames are written into now, and its buffer (`out`). */
  private slab: Slab = this.slabs.acquire(0);
  private out: Buffer = this.slab.buffer;
  private outStart = 0;
  private outEnd = 0;
  private flushScheduled = false;
  /**
   * True from a `socket.write()` that returned false until 'drain': frames queue in `held`
   * instead of piling up in the socket. What waits is bounded by the streams the pool lets
   * open (each queues one HEADERS + DATA) plus a few control frames.
   */
  private writeBlocked = false;
  private held: Buffer[] = [];
  /** The slab of each held chunk: it is reused only once the chunk is written. */
  private heldSlabs: Slab[] = [];
  private heldBytes = 0;
  /** PING / SETTINGS acks queued while blocked: a peer that sends them but never reads is cut off. */
  private heldAcks = 0;
  /**
   * Highest stream id whose HEADERS were handed to the socket (so the server may have seen the
   * request), and the same for what is held while the socket is blocked. The pool asks it to
   * tell a request that may have been delivered from one that never left.
   */
  private writtenThrough = 0;
  private heldThrough = 0;

  private inBuf: Buffer | null = null;
  /** Header block in progress (HEADERS without END_HEADERS): its stream, fragments, END_STREAM. */
  private contStreamId = 0;
  private contFragments: Buffer[] = [];
  private contEndStream = false;
  /** Compressed bytes and CONTINUATION frames of the header block being collected. */
  private contBytes = 0;
  private contFrames = 0;
  private readonly maxHeaderListSize: number;
  private decoded: IncomingHttpHeaders = {};
  /** §6.5.2 size of the header list being decoded into `decoded`. */
  private decodedSize = 0;
  private readonly pings: Array<{ payload: Buffer; sentAt: bigint; callback: PingCallback }> = [];
  private pingCounter = 0;
  /** Encoded pseudo-header prefixes (per method) and regular header blocks (per header object). */
  private readonly pseudoCache = new Map<string, { epoch: number; bytes: Buffer }>();
  private headerCache = new WeakMap<object, { epoch: number; bytes: Buffer }>();

  constructor(socket: Socket, options: WireSessionOptions) {
    super();
    this.socket = socket;
    this.handlers = options.handlers;
    this.authority = options.authority;
    this.scheme = options.scheme;
    this.localInitialWindow = Math.min(options.initialWindowSize ?? 8 * 1024 * 1024, MAX_WINDOW);
    this.connectionWindow = Math.max(
      DEFAULT_WINDOW,
      Math.min(options.connectionWindowSize ?? 2 ** 30, MAX_WINDOW),
    );
    this.maxHeaderListSize = options.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE;
    socket.setNoDelay?.(true);
    if (options.reader !== undefined) options.reader.attach((chunk) => this.onSocketData(chunk));
    else socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('error', (error: Error) => this.destroy(error));
    socket.on('end', () => this.destroy());
    socket.on('close', () => this.destroy());
    socket.on('drain', () => this.onDrain());
    this.writePreface();
    this.flush();
  }

  /** The server's current settings (defaults until its SETTINGS frame arrives). */
  get remoteSettings(): WireSettings {
    return { ...this.settings };
  }

  /** Bytes queued for the socket and not yet handed to the kernel (ours plus the socket's buffer). */
  get bufferedBytes(): number {
    return this.heldBytes + (this.outEnd - this.outStart) + this.socket.writableLength;
  }

  /** True once any byte of `stream`'s request was handed to the socket. */
  wrote(stream: WireStream): boolean {
    return stream.id <= this.writtenThrough;
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
      throw Object.assign(new Error('the HTTP/2 session is closing'), { code: 'ERR_HTTP2_INVALID_SESSION' });
    }
    const id = this.nextStreamId;
    if (id > MAX_STREAM_ID) {
      throw Object.assign(new Error('out of HTTP/2 stream ids'), { code: 'ERR_HTTP2_OUT_OF_STREAMS' });
    }
    this.writeHeaders(id, method, path, headers, body === undefined);
    this.nextStreamId = id + 2;
    const stream = new WireStream(this, id, this.settings.initialWindowSize);
    this.streams.set(id, stream);
    if (body === undefined) stream.localEnded = true;
    else if (typeof body !== 'string' || !this.sendStringBody(stream, body)) {
      stream.pendingBody = typeof body === 'string' ? Buffer.from(body) : body;
      if (!this.sendBody(stream)) this.blocked.push(stream);
    }
    this.scheduleFlush();
    return stream;
  }

  /** Sends our PING; `callback` gets the round trip when the ACK arrives. False when too many are out. */
  ping(callback: PingCallback): boolean {
    if (this.destroyed) {
      throw Object.assign(new Error('the HTTP/2 session is destroyed'), {
        code: 'ERR_HTTP2_INVALID_SESSION',
      });
    }
    if (this.pings.length >= MAX_OUTSTANDING_PINGS) return false;
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(++this.pingCounter, 4);
    this.pings.push({ payload, sentAt: process.hrtime.bigint(), callback });
    const at = this.reserve(FRAME_HEADER_LENGTH + 8);
    writeFrameHeader(this.out, at, 8, PING, 0, 0);
    payload.copy(this.out, at + FRAME_HEADER_LENGTH);
    this.scheduleFlush();
    return true;
  }

  /** Graceful close: GOAWAY(NO_ERROR), no new streams; the socket ends once open streams finish. */
  close(): void {
    if (this.destroyed) return;
    this.closed = true;
    if (!this.goawaySent && !this.goawayReceived) this.writeGoaway(NO_ERROR, '');
    if (this.streams.size === 0) this.shutdown();
    else this.scheduleFlush();
  }

  /** Ends everything now: open streams close (with `error` if given), then 'error' and 'close'. */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closed = true;
    this.blocked = [];
    // Held chunks are dropped with their slabs (never reused: nothing will write them now).
    this.held = [];
    this.heldSlabs = [];
    this.heldBytes = 0;
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
      this.writeRst(stream.id, code);
      this.scheduleFlush();
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

  private writePreface(): void {
    const at = this.reserve(PREFACE.length + FRAME_HEADER_LENGTH + 18 + FRAME_HEADER_LENGTH + 4);
    const out = this.out;
    PREFACE.copy(out, at);
    let p = at + PREFACE.length;
    writeFrameHeader(out, p, 18, SETTINGS, 0, 0);
    p += FRAME_HEADER_LENGTH;
    out.writeUInt16BE(SETTINGS_ENABLE_PUSH, p);
    out.writeUInt32BE(0, p + 2);
    out.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, p + 6);
    out.writeUInt32BE(this.localInitialWindow, p + 8);
    out.writeUInt16BE(SETTINGS_MAX_HEADER_LIST_SIZE, p + 12);
    out.writeUInt32BE(this.maxHeaderListSize, p + 14);
    p += 18;
    // A WINDOW_UPDATE of 0 is a PROTOCOL_ERROR (§6.9): none when the window stays at the default.
    const increment = this.connectionWindow - DEFAULT_WINDOW;
    if (increment > 0) {
      writeFrameHeader(out, p, 4, WINDOW_UPDATE, 0, 0);
      out.writeUInt32BE(increment, p + FRAME_HEADER_LENGTH);
    } else {
      this.outEnd -= FRAME_HEADER_LENGTH + 4;
    }
  }

  /** Room for `n` bytes in the output slab; returns where to write them. */
  private reserve(n: number): number {
    if (this.outEnd + n > this.out.length) {
      // Keep the order: what is queued goes out before the new slab starts.
      this.flush();
      this.slabs.retire(this.slab);
      this.slab = this.slabs.acquire(n);
      this.out = this.slab.buffer;
      this.outStart = 0;
      this.outEnd = 0;
    }
    const at = this.outEnd;
    this.outEnd += n;
    return at;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After this turn's I/O callbacks: every request and ack of the turn goes in one write.
    setImmediate(flushLater, this);
  }

  /**
   * Hands what is queued to the socket, unless it asked us to wait ('drain' pending): then
   * the bytes are held until it drains. A slab only fills forward, and is reused only after
   * every write of a slice of it has called back (slabs.ts), so a held slice stays valid.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.outEnd === this.outStart || this.socket.destroyed) return;
    const chunk = this.out.subarray(this.outStart, this.outEnd);
    this.outStart = this.outEnd;
    const slab = this.slab;
    slab.writes++;
    // Every HEADERS queued so far is in this chunk or went before it.
    const through = this.nextStreamId - 2;
    if (this.writeBlocked) {
      this.held.push(chunk);
      this.heldSlabs.push(slab);
      this.heldBytes += chunk.length;
      this.heldThrough = through;
      return;
    }
    this.writtenThrough = through;
    if (!this.socket.write(chunk, slab.written)) this.writeBlocked = true;
  }

  /** The socket caught up: what was held goes out in one write, then this turn's frames. */
  private onDrain(): void {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    this.heldAcks = 0;
    this.releaseHeld();
    if (!this.writeBlocked) this.flush();
  }

  /** Writes every held chunk (one write: they are contiguous in time, not in memory). */
  private releaseHeld(): void {
    const held = this.held;
    if (held.length === 0 || this.socket.destroyed) return;
    const slabs = this.heldSlabs;
    this.held = [];
    this.heldSlabs = [];
    let written: () => void;
    let chunk: Buffer;
    if (held.length === 1) {
      chunk = held[0]!;
      written = slabs[0]!.written;
    } else {
      // Copied out: the slabs are free to reuse now.
      chunk = Buffer.concat(held, this.heldBytes);
      for (const slab of slabs) slab.written();
      written = noop;
    }
    this.heldBytes = 0;
    this.writtenThrough = this.heldThrough;
    if (!this.socket.write(chunk, written)) this.writeBlocked = true;
  }

  private writeHeaders(
    id: number,
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    endStream: boolean,
  ): void {
    const encoder = this.encoder;
    let update: Buffer | null = null;
    if (encoder.updatePending) {
      encoder.beginBlock(this.scratch);
      update = this.scratch.take();
    }
    const pseudo = this.pseudoBlock(method);
    const regular = headers === undefined ? null : this.regularBlock(headers);
    const pathLength = Buffer.byteLength(path);
    const pathPrefix = integerLength(pathLength, 7);
    const blockLength =
      (update?.length ?? 0) + pseudo.length + 1 + pathPrefix + pathLength + (regular?.length ?? 0);
    const maxFrame = this.settings.maxFrameSize;
    const flags = endStream ? FLAG_END_STREAM : 0;
    if (blockLength <= maxFrame) {
      const at = this.reserve(FRAME_HEADER_LENGTH + blockLength);
      const out = this.out;
      writeFrameHeader(out, at, blockLength, HEADERS, flags | FLAG_END_HEADERS, id);
      let p = at + FRAME_HEADER_LENGTH;
      if (update !== null) p += update.copy(out, p);
      p += pseudo.copy(out, p);
      // §6.2.2 literal without indexing, name = static index 4 (`:path`).
      out[p++] = 0x04;
      p = writeInteger(out, p, pathLength, 7, 0);
      p += out.write(path, p, 'utf8');
      if (regular !== null) regular.copy(out, p);
      return;
    }
    // A block over the peer's frame size: HEADERS then CONTINUATION frames (§6.10).
    const block = Buffer.allocUnsafe(blockLength);
    let p = 0;
    if (update !== null) p += update.copy(block, p);
    p += pseudo.copy(block, p);
    block[p++] = 0x04;
    p = writeInteger(block, p, pathLength, 7, 0);
    p += block.write(path, p, 'utf8');
    if (regular !== null) regular.copy(block, p);
    for (let offset = 0; offset < blockLength; offset += maxFrame) {
      const size = Math.min(maxFrame, blockLength - offset);
      const last = offset + size >= blockLength;
      const at = this.reserve(FRAME_HEADER_LENGTH + size);
      const type = offset === 0 ? HEADERS : CONTINUATION;
      writeFrameHeader(
        this.out,
        at,
        size,
        type,
        (offset === 0 ? flags : 0) | (last ? FLAG_END_HEADERS : 0),
        id,
      );
      block.copy(this.out, at + FRAME_HEADER_LENGTH, offset, offset + size);
    }
  }

  /** `:method`, `:scheme`, `:authority`: indexed after the first request. */
  private pseudoBlock(method: string): Buffer {
    const encoder = this.encoder;
    const cached = this.pseudoCache.get(method);
    if (cached !== undefined && cached.epoch === encoder.epoch) return cached.bytes;
    const epoch = encoder.epoch;
    const w = this.scratch;
    encoder.field(w, ':method', method, 'incremental');
    encoder.field(w, ':scheme', this.scheme, 'incremental');
    encoder.field(w, ':authority', this.authority, 'incremental');
    const bytes = w.take();
    // Only a block of pure references can be replayed (a literal would insert again).
    if (encoder.epoch === epoch) this.pseudoCache.set(method, { epoch, bytes });
    return bytes;
  }

  private regularBlock(headers: Record<string, string>): Buffer {
    const encoder = this.encoder;
    const cached = this.headerCache.get(headers);
    if (cached !== undefined && cached.epoch === encoder.epoch) return cached.bytes;
    const epoch = encoder.epoch;
    const w = this.scratch;
    for (const rawName in headers) {
      const name = rawName.toLowerCase();
      checkHeader(name);
      encoder.field(w, name, String(headers[rawName]), 'incremental');
    }
    const bytes = w.take();
    if (encoder.epoch === epoch) this.headerCache.set(headers, { epoch, bytes });
    return bytes;
  }

  /** Sends as much of the stream's pending body as both windows allow. True when all is sent. */
  /**
   * A string body that fits one DATA frame and the windows (a push message always does) is
   * encoded straight into the slab: no Buffer of its own per request. False when it does not
   * fit: then it goes the {@link sendBody} way.
   */
  private sendStringBody(stream: WireStream, body: string): boolean {
    const size = Buffer.byteLength(body);
    if (size > Math.min(this.sendWindow, stream.sendWindow, this.settings.maxFrameSize)) return false;
    const at = this.reserve(FRAME_HEADER_LENGTH + size);
    writeFrameHeader(this.out, at, size, DATA, FLAG_END_STREAM, stream.id);
    this.out.write(body, at + FRAME_HEADER_LENGTH, size, 'utf8');
    this.sendWindow -= size;
    stream.sendWindow -= size;
    stream.localEnded = true;
    return true;
  }

  private sendBody(stream: WireStream): boolean {
    const body = stream.pendingBody!;
    const maxFrame = this.settings.maxFrameSize;
    for (;;) {
      const remaining = body.length - stream.pendingOffset;
      const size = Math.min(remaining, this.sendWindow, stream.sendWindow, maxFrame);
      if (size <= 0 && remaining > 0) return false;
      const last = size === remaining;
      const at = this.reserve(FRAME_HEADER_LENGTH + size);
      writeFrameHeader(this.out, at, size, DATA, last ? FLAG_END_STREAM : 0, stream.id);
      body.copy(this.out, at + FRAME_HEADER_LENGTH, stream.pendingOffset, stream.pendingOffset + size);
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
    this.scheduleFlush();
  }

  private writeRst(id: number, code: number): void {
    const at = this.reserve(FRAME_HEADER_LENGTH + 4);
    writeFrameHeader(this.out, at, 4, RST_STREAM, 0, id);
    this.out.writeUInt32BE(code, at + FRAME_HEADER_LENGTH);
  }

  private writeGoaway(code: number, debug: string): void {
    this.goawaySent = true;
    const data = Buffer.from(debug);
    const at = this.reserve(FRAME_HEADER_LENGTH + 8 + data.length);
    writeFrameHeader(this.out, at, 8 + data.length, GOAWAY, 0, 0);
    // We accept no server-initiated streams: last-stream-id 0.
    this.out.writeUInt32BE(0, at + FRAME_HEADER_LENGTH);
    this.out.writeUInt32BE(code, at + FRAME_HEADER_LENGTH + 4);
    data.copy(this.out, at + FRAME_HEADER_LENGTH + 8);
  }

  private writeWindowUpdate(id: number, increment: number): void {
    const at = this.reserve(FRAME_HEADER_LENGTH + 4);
    writeFrameHeader(this.out, at, 4, WINDOW_UPDATE, 0, id);
    this.out.writeUInt32BE(increment, at + FRAME_HEADER_LENGTH);
  }

  /** Graceful end of the socket once nothing is open: flush, end, then 'close'. */
  private shutdown(): void {
    if (this.destroyed) return;
    // The socket buffers what is left: end() goes out after it, whatever its back-pressure.
    this.writeBlocked = false;
    this.releaseHeld();
    this.writeBlocked = false;
    this.flush();
    this.destroyed = true;
    const socket = this.socket;
    socket.end(() => socket.destroy());
    process.nextTick(emitClose, this, undefined);
  }

  // ---- input ---------------------------------------------------------------------------------

  private onSocketData(chunk: Buffer): void {
    let buf = chunk;
    if (this.inBuf !== null) {
      buf = Buffer.concat([this.inBuf, chunk]);
      this.inBuf = null;
    }
    let offset = 0;
    try {
      while (buf.length - offset >= FRAME_HEADER_LENGTH && !this.destroyed) {
        const length = (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!;
        if (length > OUR_MAX_FRAME_SIZE) {
          throw new ConnectionError(
            FRAME_SIZE_ERROR,
            `frame of ${length} bytes exceeds ${OUR_MAX_FRAME_SIZE}`,
          );
        }
        const end = offset + FRAME_HEADER_LENGTH + length;
        if (end > buf.length) break;
        const type = buf[offset + 3]!;
        const flags = buf[offset + 4]!;
        const id = buf.readUInt32BE(offset + 5) & 0x7fffffff;
        this.onFrame(type, flags, id, buf, offset + FRAME_HEADER_LENGTH, end);
        offset = end;
      }
    } catch (error) {
      if (error instanceof ConnectionError) {
        this.fail(error);
        return;
      }
      if (error instanceof CompressionError) {
        this.fail(new ConnectionError(COMPRESSION_ERROR, error.message));
        return;
      }
      // Nothing a server sends may throw out of a socket callback and kill the process (a
      // RangeError from a string V8 cannot hold, a bug of ours): the connection ends instead,
      // and its streams fail like any lost connection's.
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.fail(new ConnectionError(INTERNAL_ERROR, `reading the server's frames failed: ${message}`));
      return;
    }
    // A partial frame waits for the next chunk: copied, as `chunk` is only lent (see `reader`).
    if (offset < buf.length && !this.destroyed) {
      this.inBuf = buf === chunk ? Buffer.from(buf.subarray(offset)) : buf.subarray(offset);
    }
    if (this.flushScheduled === false && this.outEnd > this.outStart) this.scheduleFlush();
  }

  private onFrame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (!this.settingsReceived && type !== SETTINGS) {
      throw new ConnectionError(PROTOCOL_ERROR, 'the server preface must start with SETTINGS');
    }
    if (this.contStreamId !== 0 && (type !== CONTINUATION || id !== this.contStreamId)) {
      throw new ConnectionError(PROTOCOL_ERROR, 'expected CONTINUATION of the header block');
    }
    switch (type) {
      case DATA:
        this.onData(flags, id, buf, start, end);
        return;
      case HEADERS:
        this.onHeaders(flags, id, buf, start, end);
        return;
      case CONTINUATION:
        this.onContinuation(flags, id, buf, start, end);
        return;
      case RST_STREAM:
        this.onRstStream(id, buf, start, end);
        return;
      case SETTINGS:
        this.onSettings(flags, id, buf, start, end);
        return;
      case PING:
        this.onPing(flags, id, buf, start, end);
        return;
      case GOAWAY:
        this.onGoaway(id, buf, start, end);
        return;
      case WINDOW_UPDATE:
        this.onWindowUpdate(id, buf, start, end);
        return;
      case PUSH_PROMISE:
        throw new ConnectionError(PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 §5.5, §6.3).
        return;
    }
  }

  /** The stream a frame is for; undefined for one already closed; a connection error for an idle one. */
  private streamFor(id: number, type: string): WireStream | undefined {
    if (id === 0) throw new ConnectionError(PROTOCOL_ERROR, `${type} on stream 0`);
    const stream = this.streams.get(id);
    if (stream !== undefined) return stream;
    if ((id & 1) === 0 || id >= this.nextStreamId) {
      throw new ConnectionError(PROTOCOL_ERROR, `${type} on idle stream ${id}`);
    }
    return undefined;
  }

  private onData(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    const stream = this.streamFor(id, 'DATA');
    const total = end - start;
    // Connection credit counts the whole frame, padding included, even on closed streams (§6.9).
    this.recvUnacked += total;
    if (this.recvUnacked >= this.connectionWindow / 2) {
      this.writeWindowUpdate(0, this.recvUnacked);
      this.recvUnacked = 0;
    }
    if (flags & FLAG_PADDED) {
      if (total < 1) throw new ConnectionError(FRAME_SIZE_ERROR, 'padded DATA without pad length');
      const pad = buf[start]!;
      start++;
      if (pad > end - start) throw new ConnectionError(PROTOCOL_ERROR, 'DATA padding exceeds the frame');
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
      this.writeWindowUpdate(id, stream.unacked);
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

  private onHeaders(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0 || (id & 1) === 0) throw new ConnectionError(PROTOCOL_ERROR, `HEADERS on stream ${id}`);
    if (flags & FLAG_PADDED) {
      if (end - start < 1) throw new ConnectionError(FRAME_SIZE_ERROR, 'padded HEADERS without pad length');
      const pad = buf[start]!;
      start++;
      if (pad > end - start) throw new ConnectionError(PROTOCOL_ERROR, 'HEADERS padding exceeds the frame');
      end -= pad;
    }
    if (flags & FLAG_PRIORITY) {
      if (end - start < 5) throw new ConnectionError(FRAME_SIZE_ERROR, 'HEADERS priority fields truncated');
      start += 5;
    }
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    this.checkBlockBytes(end - start);
    if (flags & FLAG_END_HEADERS) {
      this.onHeaderBlock(id, buf, start, end, endStream);
      return;
    }
    this.contStreamId = id;
    this.contEndStream = endStream;
    this.contBytes = end - start;
    this.contFrames = 0;
    this.contFragments = [Buffer.from(buf.subarray(start, end))];
  }

  private onContinuation(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (this.contStreamId === 0) throw new ConnectionError(PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
    this.contBytes += end - start;
    this.checkBlockBytes(this.contBytes);
    if (++this.contFrames > MAX_CONTINUATION_FRAMES) {
      throw new ConnectionError(
        ENHANCE_YOUR_CALM,
        `header block spread over more than ${MAX_CONTINUATION_FRAMES} CONTINUATION frames`,
      );
    }
    this.contFragments.push(Buffer.from(buf.subarray(start, end)));
    if ((flags & FLAG_END_HEADERS) === 0) return;
    const block = Buffer.concat(this.contFragments);
    this.contFragments = [];
    this.contStreamId = 0;
    this.onHeaderBlock(id, block, 0, block.length, this.contEndStream);
  }

  /** A compressed header block may not outgrow the header list it could honestly decode to. */
  private checkBlockBytes(bytes: number): void {
    if (bytes > this.maxHeaderListSize) {
      throw new ConnectionError(
        ENHANCE_YOUR_CALM,
        `header block of over ${this.maxHeaderListSize} bytes (maxHeaderListSize)`,
      );
    }
  }

  private onHeaderBlock(id: number, block: Buffer, start: number, end: number, endStream: boolean): void {
    // Decode even for a closed stream: the HPACK table is connection state (§4.3).
    const headers: IncomingHttpHeaders = Object.create(HEADERS_PROTOTYPE);
    this.decoded = headers;
    this.decodedSize = 0;
    this.decoder.decode(block, start, end, this.addDecoded);
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

  /** Collects one decoded field into `this.decoded` (bound once: no closure per block). */
  private readonly addDecoded = (name: string, value: string): void => {
    // Bounded before anything is built: a few KB of indexed references to a large table entry
    // would otherwise decode to more than V8 can hold in one string (a "header bomb").
    this.decodedSize += name.length + value.length + 32;
    if (this.decodedSize > this.maxHeaderListSize) {
      throw new ConnectionError(
        ENHANCE_YOUR_CALM,
        `response header list over ${this.maxHeaderListSize} bytes (maxHeaderListSize)`,
      );
    }
    const headers = this.decoded as Record<string, string | string[] | number>;
    if (name === ':status') {
      headers[name] = Number(value);
      return;
    }
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (name === 'set-cookie') {
      if (Array.isArray(existing)) existing.push(value);
      else headers[name] = [existing as string, value];
    } else headers[name] = `${existing}, ${value}`;
  };

  private onRstStream(id: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4) throw new ConnectionError(FRAME_SIZE_ERROR, 'RST_STREAM must be 4 bytes');
    const stream = this.streamFor(id, 'RST_STREAM');
    if (stream === undefined || stream.closed) return;
    const code = buf.readUInt32BE(start);
    stream.rstCode = code;
    if (code !== NO_ERROR) this.handlers.error(stream, streamError(code));
    this.finish(stream, code);
  }

  private onSettings(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & FLAG_ACK) {
      if (end !== start) throw new ConnectionError(FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if ((end - start) % 6 !== 0)
      throw new ConnectionError(FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6');
    const settings = this.settings;
    let windowDelta = 0;
    for (let p = start; p < end; p += 6) {
      const key = buf.readUInt16BE(p);
      const value = buf.readUInt32BE(p + 2);
      switch (key) {
        case SETTINGS_HEADER_TABLE_SIZE:
          settings.headerTableSize = value;
          this.encoder.setMaxSize(value);
          break;
        case SETTINGS_ENABLE_PUSH:
          // §6.5.2: a client MUST treat a server's ENABLE_PUSH other than 0 as a PROTOCOL_ERROR.
          if (value !== 0)
            throw new ConnectionError(PROTOCOL_ERROR, `server sent SETTINGS_ENABLE_PUSH ${value}`);
          settings.enablePush = false;
          break;
        case SETTINGS_MAX_CONCURRENT_STREAMS:
          settings.maxConcurrentStreams = value;
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE:
          if (value > MAX_WINDOW)
            throw new ConnectionError(FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
          windowDelta += value - settings.initialWindowSize;
          settings.initialWindowSize = value;
          break;
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) {
            throw new ConnectionError(PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
          }
          settings.maxFrameSize = value;
          break;
        case SETTINGS_MAX_HEADER_LIST_SIZE:
          settings.maxHeaderListSize = value;
          break;
        default:
          // Unknown settings are ignored (§6.5.2).
          break;
      }
    }
    if (windowDelta !== 0) {
      // §6.9.2: the change applies to every open stream's window.
      for (const stream of this.streams.values()) {
        stream.sendWindow += windowDelta;
        if (stream.sendWindow > MAX_WINDOW) {
          throw new ConnectionError(
            FLOW_CONTROL_ERROR,
            'SETTINGS_INITIAL_WINDOW_SIZE overflows a stream window',
          );
        }
      }
    }
    this.countAck();
    const at = this.reserve(FRAME_HEADER_LENGTH);
    writeFrameHeader(this.out, at, 0, SETTINGS, FLAG_ACK, 0);
    this.scheduleFlush();
    this.settingsReceived = true;
    this.emit('remoteSettings', this.remoteSettings);
    if (windowDelta > 0) this.drainBlocked();
  }

  private onPing(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(PROTOCOL_ERROR, 'PING on a stream');
    if (end - start !== 8) throw new ConnectionError(FRAME_SIZE_ERROR, 'PING must be 8 bytes');
    if (flags & FLAG_ACK) {
      const index = this.pings.findIndex((p) => p.payload.equals(buf.subarray(start, end)));
      if (index < 0) return;
      const [ping] = this.pings.splice(index, 1);
      const ms = Number(process.hrtime.bigint() - ping!.sentAt) / 1e6;
      ping!.callback(null, ms, ping!.payload);
      return;
    }
    this.countAck();
    const at = this.reserve(FRAME_HEADER_LENGTH + 8);
    writeFrameHeader(this.out, at, 8, PING, FLAG_ACK, 0);
    buf.copy(this.out, at + FRAME_HEADER_LENGTH, start, end);
    this.scheduleFlush();
  }

  /**
   * Acks are owed to the peer whatever our back-pressure; but one that keeps asking while not
   * reading would grow our buffer without end (nghttp2 draws the same line at 1000 queued acks).
   */
  private countAck(): void {
    if (this.writeBlocked && ++this.heldAcks > MAX_HELD_ACKS) {
      throw new ConnectionError(
        ENHANCE_YOUR_CALM,
        'too many PING/SETTINGS acks queued while the peer does not read',
      );
    }
  }

  private onGoaway(id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0) throw new ConnectionError(PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (end - start < 8) throw new ConnectionError(FRAME_SIZE_ERROR, 'GOAWAY shorter than 8 bytes');
    const lastStreamId = buf.readUInt32BE(start) & 0x7fffffff;
    const code = buf.readUInt32BE(start + 4);
    const data = Buffer.from(buf.subarray(start + 8, end));
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
    else {
      this.destroy(
        Object.assign(new Error(`Session closed with error code ${h2ErrorName(code)}`), {
          code: 'ERR_HTTP2_SESSION_ERROR',
        }),
      );
    }
  }

  private onWindowUpdate(id: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4) throw new ConnectionError(FRAME_SIZE_ERROR, 'WINDOW_UPDATE must be 4 bytes');
    const increment = buf.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW)
        throw new ConnectionError(FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
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
      this.scheduleFlush();
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
    this.writeRst(stream.id, CANCEL);
    this.scheduleFlush();
    this.finish(stream, NO_ERROR);
  }

  /** A stream error (§5.4.2): RST_STREAM with `code`, report it, close the stream. */
  private streamError(stream: WireStream, code: number, message: string): void {
    this.writeRst(stream.id, code);
    this.scheduleFlush();
    stream.rstCode = code;
    this.handlers.error(stream, Object.assign(new Error(message), { code: 'ERR_HTTP2_STREAM_ERROR' }));
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

  /** A connection error (§5.4.1): GOAWAY with the code, then destroy with the error. */
  private fail(error: ConnectionError): void {
    if (this.destroyed) return;
    this.writeGoaway(error.h2Code, error.message);
    // Best effort: the GOAWAY goes to the socket even while it is backed up.
    this.writeBlocked = false;
    this.releaseHeld();
    this.writeBlocked = false;
    this.flush();
    this.destroy(error);
  }
}

function flushLater(session: WireSession): void {
  session.flush();
}

function closeReset(session: WireSession, stream: WireStream): void {
  session.afterReset(stream);
}

function emitClose(session: WireSession, error: Error | undefined): void {
  if (error !== undefined && session.listenerCount('error') > 0) session.emit('error', error);
  session.emit('close');
}

function streamError(code: number): Error {
  return Object.assign(new Error(`Stream closed with error code ${h2ErrorName(code)}`), {
    code: 'ERR_HTTP2_STREAM_ERROR',
  });
}

/** RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2. */
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

function checkHeader(name: string): void {
  if (CONNECTION_HEADERS.has(name) || name.startsWith(':')) {
    throw Object.assign(new TypeError(`header ${name} is not allowed in an HTTP/2 request`), {
      code: 'ERR_HTTP2_INVALID_CONNECTION_HEADERS',
    });
  }
}

/** Bytes taken by an HPACK integer of `value` with an N-bit prefix. */
function integerLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (let rest = value - max; rest >= 128; rest = Math.floor(rest / 128)) n++;
  return n;
}

function writeInteger(buf: Buffer, p: number, value: number, prefixBits: number, first: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    buf[p++] = first | value;
    return p;
  }
  buf[p++] = first | max;
  let rest = value - max;
  while (rest >= 128) {
    buf[p++] = (rest % 128) + 128;
    rest = Math.floor(rest / 128);
  }
  buf[p++] = rest;
  return p;
}

function noop(): void {}

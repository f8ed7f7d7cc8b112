/**
 * The input side of a {@link WireSession}: cuts the socket's bytes into frames, checks each
 * frame's shape (RFC 9113 §6: stream id, length, padding), collects and decodes header blocks
 * within their limits, and hands the session what remains to act on. Anything the server sends
 * that breaks the protocol, or that makes us throw, becomes a connection error: the session
 * fails with GOAWAY instead of an exception escaping a socket callback.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { connectionError, WireError } from './errors.js';
import {
  COMPRESSION_ERROR,
  CONTINUATION,
  DATA,
  DEFAULT_MAX_FRAME_SIZE,
  ENHANCE_YOUR_CALM,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FRAME_HEADER_LENGTH,
  FRAME_SIZE_ERROR,
  GOAWAY,
  HEADERS,
  INTERNAL_ERROR,
  PING,
  PROTOCOL_ERROR,
  PUSH_PROMISE,
  RST_STREAM,
  SETTINGS,
  WINDOW_UPDATE,
} from './frames.js';
import { CompressionError, HpackDecoder } from './hpack-decoder.js';
import type { FrameWriter } from './writer.js';

/** What the reader hands on: the session's side of each frame, once its shape is checked. */
export interface FrameSink {
  readonly destroyed: boolean;
  /** False until the server's first SETTINGS: its preface must start with one. */
  readonly settingsReceived: boolean;
  /** A connection error: GOAWAY with its code, then the session ends. */
  fail(error: WireError): void;
  /** A DATA frame as received (padding included: it counts against flow control). */
  onData(flags: number, id: number, buf: Buffer, start: number, end: number): void;
  /** A decoded header block (the HPACK table is updated even when the stream is gone). */
  onHeaderBlock(id: number, headers: IncomingHttpHeaders, endStream: boolean): void;
  onRstStream(id: number, code: number): void;
  /** A SETTINGS frame (not an ack) on stream 0, of whole 6-byte entries in `buf[start, end)`. */
  onSettings(buf: Buffer, start: number, end: number): void;
  /** The ack of one of our PINGs, with its payload in `buf[start, end)`. */
  onPingAck(buf: Buffer, start: number, end: number): void;
  onGoaway(lastStreamId: number, code: number, data: Buffer): void;
  onWindowUpdate(id: number, increment: number): void;
}

/** Largest frame we accept (we advertise no SETTINGS_MAX_FRAME_SIZE, so the default). */
const OUR_MAX_FRAME_SIZE = DEFAULT_MAX_FRAME_SIZE;
/**
 * CONTINUATION frames one header block may take. Each costs no memory once the byte bound
 * holds, but an endless run of empty ones is the CVE-2024-27316 pattern: a block that needs
 * more than this many frames is refused whatever its size.
 */
const MAX_CONTINUATION_FRAMES = 128;

/**
 * Prototype of every decoded header set: empty and itself prototype-less, so a header named
 * `__proto__` or `constructor` is an ordinary own key, as with Object.create(null). Unlike
 * Object.create(null), whose objects start as hash tables, objects made from a real prototype
 * start in V8's fast mode, and responses adding the same names in the same order share one shape.
 */
const HEADERS_PROTOTYPE: object = Object.create(null);

export class FrameReader {
  private readonly sink: FrameSink;
  private readonly writer: FrameWriter;
  private readonly decoder = new HpackDecoder();
  private readonly maxHeaderListSize: number;
  private inBuf: Buffer | null = null;
  /** Header block in progress (HEADERS without END_HEADERS): its stream, fragments, END_STREAM. */
  private contStreamId = 0;
  private contFragments: Buffer[] = [];
  private contEndStream = false;
  /** Compressed bytes and CONTINUATION frames of the header block being collected. */
  private contBytes = 0;
  private contFrames = 0;
  private decoded: IncomingHttpHeaders = {};
  /** §6.5.2 size of the header list being decoded into `decoded`. */
  private decodedSize = 0;

  constructor(sink: FrameSink, writer: FrameWriter, maxHeaderListSize: number) {
    this.sink = sink;
    this.writer = writer;
    this.maxHeaderListSize = maxHeaderListSize;
  }

  /** Bytes from the socket: only lent for the call (the socket's reader reuses its buffer). */
  read(chunk: Buffer): void {
    let buf = chunk;
    if (this.inBuf !== null) {
      buf = Buffer.concat([this.inBuf, chunk]);
      this.inBuf = null;
    }
    const sink = this.sink;
    let offset = 0;
    try {
      while (buf.length - offset >= FRAME_HEADER_LENGTH && !sink.destroyed) {
        const length = (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!;
        if (length > OUR_MAX_FRAME_SIZE) {
          throw connectionError(FRAME_SIZE_ERROR, `frame of ${length} bytes exceeds ${OUR_MAX_FRAME_SIZE}`);
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
      if (error instanceof WireError && error.code === 'ERR_HTTP2_SESSION_ERROR') {
        sink.fail(error);
        return;
      }
      if (error instanceof CompressionError) {
        sink.fail(connectionError(COMPRESSION_ERROR, error.message));
        return;
      }
      // Nothing a server sends may throw out of a socket callback and kill the process (a
      // RangeError from a string V8 cannot hold, a bug of ours): the connection ends instead,
      // and its streams fail like any lost connection's.
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      sink.fail(connectionError(INTERNAL_ERROR, `reading the server's frames failed: ${message}`));
      return;
    }
    // A partial frame waits for the next chunk: copied, as `chunk` is only lent.
    if (offset < buf.length && !sink.destroyed) {
      this.inBuf = buf === chunk ? Buffer.from(buf.subarray(offset)) : buf.subarray(offset);
    }
    const writer = this.writer;
    if (writer.flushScheduled === false && writer.pending) writer.scheduleFlush();
  }

  private onFrame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    const sink = this.sink;
    if (!sink.settingsReceived && type !== SETTINGS) {
      throw connectionError(PROTOCOL_ERROR, 'the server preface must start with SETTINGS');
    }
    if (this.contStreamId !== 0 && (type !== CONTINUATION || id !== this.contStreamId)) {
      throw connectionError(PROTOCOL_ERROR, 'expected CONTINUATION of the header block');
    }
    switch (type) {
      case DATA:
        sink.onData(flags, id, buf, start, end);
        return;
      case HEADERS:
        this.onHeaders(flags, id, buf, start, end);
        return;
      case CONTINUATION:
        this.onContinuation(flags, id, buf, start, end);
        return;
      case RST_STREAM:
        if (end - start !== 4) throw connectionError(FRAME_SIZE_ERROR, 'RST_STREAM must be 4 bytes');
        sink.onRstStream(id, buf.readUInt32BE(start));
        return;
      case SETTINGS:
        if (id !== 0) throw connectionError(PROTOCOL_ERROR, 'SETTINGS on a stream');
        if (flags & FLAG_ACK) {
          if (end !== start) throw connectionError(FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
          return;
        }
        if ((end - start) % 6 !== 0)
          throw connectionError(FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6');
        sink.onSettings(buf, start, end);
        return;
      case PING:
        if (id !== 0) throw connectionError(PROTOCOL_ERROR, 'PING on a stream');
        if (end - start !== 8) throw connectionError(FRAME_SIZE_ERROR, 'PING must be 8 bytes');
        if (flags & FLAG_ACK) sink.onPingAck(buf, start, end);
        else this.writer.pingAck(buf, start, end);
        return;
      case GOAWAY:
        if (id !== 0) throw connectionError(PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (end - start < 8) throw connectionError(FRAME_SIZE_ERROR, 'GOAWAY shorter than 8 bytes');
        sink.onGoaway(
          buf.readUInt32BE(start) & 0x7fffffff,
          buf.readUInt32BE(start + 4),
          Buffer.from(buf.subarray(start + 8, end)),
        );
        return;
      case WINDOW_UPDATE:
        if (end - start !== 4) throw connectionError(FRAME_SIZE_ERROR, 'WINDOW_UPDATE must be 4 bytes');
        sink.onWindowUpdate(id, buf.readUInt32BE(start) & 0x7fffffff);
        return;
      case PUSH_PROMISE:
        throw connectionError(PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 §5.5, §6.3).
        return;
    }
  }

  private onHeaders(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0 || (id & 1) === 0) throw connectionError(PROTOCOL_ERROR, `HEADERS on stream ${id}`);
    if (flags & FLAG_PADDED) {
      if (end - start < 1) throw connectionError(FRAME_SIZE_ERROR, 'padded HEADERS without pad length');
      const pad = buf[start]!;
      start++;
      if (pad > end - start) throw connectionError(PROTOCOL_ERROR, 'HEADERS padding exceeds the frame');
      end -= pad;
    }
    if (flags & FLAG_PRIORITY) {
      if (end - start < 5) throw connectionError(FRAME_SIZE_ERROR, 'HEADERS priority fields truncated');
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
    if (this.contStreamId === 0) throw connectionError(PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
    this.contBytes += end - start;
    this.checkBlockBytes(this.contBytes);
    if (++this.contFrames > MAX_CONTINUATION_FRAMES) {
      throw connectionError(
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
      throw connectionError(
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
    this.sink.onHeaderBlock(id, headers, endStream);
  }

  /** Collects one decoded field into `this.decoded` (bound once: no closure per block). */
  private readonly addDecoded = (name: string, value: string): void => {
    // Bounded before anything is built: a few KB of indexed references to a large table entry
    // would otherwise decode to more than V8 can hold in one string (a "header bomb").
    this.decodedSize += name.length + value.length + 32;
    if (this.decodedSize > this.maxHeaderListSize) {
      throw connectionError(
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
}

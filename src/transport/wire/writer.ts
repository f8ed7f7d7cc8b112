/**
 * The output side of a {@link WireSession}: frames are written into a shared slab that goes to
 * the socket once per event-loop turn, and held (not piled into the socket) while it asks us to
 * wait for 'drain'. One per session; the session writes frames through its methods.
 */
import type { Socket } from 'node:net';
import { connectionError } from './errors.js';
import {
  DEFAULT_WINDOW,
  ENHANCE_YOUR_CALM,
  FLAG_ACK,
  FRAME_HEADER_LENGTH,
  GOAWAY,
  PING,
  PREFACE,
  RST_STREAM,
  SETTINGS,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_HEADER_LIST_SIZE,
  WINDOW_UPDATE,
  writeFrameHeader,
} from './frames.js';
import { type Slab, Slabs } from './slabs.js';

const MAX_HELD_ACKS = 1000;

export class FrameWriter {
  private readonly socket: Socket;
  private readonly slabs = new Slabs();
  /** The slab frames are written into now, and its buffer (`out`). */
  private slab: Slab = this.slabs.acquire(0);
  /** Where {@link reserve} says to write: read it after each reserve (a new slab may start). */
  out: Buffer = this.slab.buffer;
  private outStart = 0;
  private outEnd = 0;
  flushScheduled = false;
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
  /** Highest stream id whose HEADERS are queued (the session sets it as it writes them). */
  queuedThrough = 0;
  /**
   * Highest stream id whose HEADERS were handed to the socket (so the server may have seen the
   * request), and the same for what is held while the socket is blocked. The pool asks it to
   * tell a request that may have been delivered from one that never left.
   */
  writtenThrough = 0;
  private heldThrough = 0;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Bytes queued for the socket and not yet handed to the kernel (ours plus the socket's buffer). */
  get bufferedBytes(): number {
    return this.heldBytes + (this.outEnd - this.outStart) + this.socket.writableLength;
  }

  /** True when frames were written since the last flush. */
  get pending(): boolean {
    return this.outEnd > this.outStart;
  }

  /** Room for `n` bytes in the output slab; returns where to write them in {@link out}. */
  reserve(n: number): number {
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

  /** Gives back the last `n` bytes reserved. */
  unreserve(n: number): void {
    this.outEnd -= n;
  }

  scheduleFlush(): void {
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
    const through = this.queuedThrough;
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
  onDrain(): void {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    this.heldAcks = 0;
    this.releaseHeld();
    if (!this.writeBlocked) this.flush();
  }

  /** Everything queued goes to the socket now, whatever its back-pressure (before an end). */
  flushAll(): void {
    this.writeBlocked = false;
    this.releaseHeld();
    this.writeBlocked = false;
    this.flush();
  }

  /** Drops what is held, with its slabs (never reused: nothing will write them now). */
  dropHeld(): void {
    this.held = [];
    this.heldSlabs = [];
    this.heldBytes = 0;
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

  /**
   * Acks are owed to the peer whatever our back-pressure; but one that keeps asking while not
   * reading would grow our buffer without end (nghttp2 draws the same line at 1000 queued acks).
   */
  private countAck(): void {
    if (this.writeBlocked && ++this.heldAcks > MAX_HELD_ACKS) {
      throw connectionError(
        ENHANCE_YOUR_CALM,
        'too many PING/SETTINGS acks queued while the peer does not read',
      );
    }
  }

  // ---- frames --------------------------------------------------------------------------------

  /** The connection preface: our SETTINGS, and the connection window beyond the default. */
  preface(initialWindowSize: number, maxHeaderListSize: number, connectionWindow: number): void {
    const at = this.reserve(PREFACE.length + FRAME_HEADER_LENGTH + 18 + FRAME_HEADER_LENGTH + 4);
    const out = this.out;
    PREFACE.copy(out, at);
    let p = at + PREFACE.length;
    writeFrameHeader(out, p, 18, SETTINGS, 0, 0);
    p += FRAME_HEADER_LENGTH;
    out.writeUInt16BE(SETTINGS_ENABLE_PUSH, p);
    out.writeUInt32BE(0, p + 2);
    out.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, p + 6);
    out.writeUInt32BE(initialWindowSize, p + 8);
    out.writeUInt16BE(SETTINGS_MAX_HEADER_LIST_SIZE, p + 12);
    out.writeUInt32BE(maxHeaderListSize, p + 14);
    p += 18;
    // A WINDOW_UPDATE of 0 is a PROTOCOL_ERROR (§6.9): none when the window stays at the default.
    const increment = connectionWindow - DEFAULT_WINDOW;
    if (increment > 0) {
      writeFrameHeader(out, p, 4, WINDOW_UPDATE, 0, 0);
      out.writeUInt32BE(increment, p + FRAME_HEADER_LENGTH);
    } else {
      this.unreserve(FRAME_HEADER_LENGTH + 4);
    }
  }

  rst(id: number, code: number): void {
    const at = this.reserve(FRAME_HEADER_LENGTH + 4);
    writeFrameHeader(this.out, at, 4, RST_STREAM, 0, id);
    this.out.writeUInt32BE(code, at + FRAME_HEADER_LENGTH);
  }

  goaway(code: number, debug: string): void {
    const data = Buffer.from(debug);
    const at = this.reserve(FRAME_HEADER_LENGTH + 8 + data.length);
    writeFrameHeader(this.out, at, 8 + data.length, GOAWAY, 0, 0);
    // We accept no server-initiated streams: last-stream-id 0.
    this.out.writeUInt32BE(0, at + FRAME_HEADER_LENGTH);
    this.out.writeUInt32BE(code, at + FRAME_HEADER_LENGTH + 4);
    data.copy(this.out, at + FRAME_HEADER_LENGTH + 8);
  }

  windowUpdate(id: number, increment: number): void {
    const at = this.reserve(FRAME_HEADER_LENGTH + 4);
    writeFrameHeader(this.out, at, 4, WINDOW_UPDATE, 0, id);
    this.out.writeUInt32BE(increment, at + FRAME_HEADER_LENGTH);
  }

  /** Our PING with its 8-byte payload. */
  ping(payload: Buffer): void {
    const at = this.reserve(FRAME_HEADER_LENGTH + 8);
    writeFrameHeader(this.out, at, 8, PING, 0, 0);
    payload.copy(this.out, at + FRAME_HEADER_LENGTH);
    this.scheduleFlush();
  }

  /** The ack of the server's PING, echoing `buf[start, start + 8)`. */
  pingAck(buf: Buffer, start: number, end: number): void {
    this.countAck();
    const at = this.reserve(FRAME_HEADER_LENGTH + 8);
    writeFrameHeader(this.out, at, 8, PING, FLAG_ACK, 0);
    buf.copy(this.out, at + FRAME_HEADER_LENGTH, start, end);
    this.scheduleFlush();
  }

  settingsAck(): void {
    this.countAck();
    const at = this.reserve(FRAME_HEADER_LENGTH);
    writeFrameHeader(this.out, at, 0, SETTINGS, FLAG_ACK, 0);
    this.scheduleFlush();
  }
}

function flushLater(writer: FrameWriter): void {
  writer.flush();
}

function noop(): void {}

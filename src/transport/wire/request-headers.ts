/**
 * Request header blocks (RFC 9113 §8.3, RFC 7541) of one connection, written as HEADERS (and
 * CONTINUATION) frames. What repeats is encoded once and replayed: the pseudo-header prefix
 * per method, and the regular headers per header object (the pool passes the same object for
 * requests that share them); only the per-device `:path` literal is encoded per request.
 */
import {
  CONTINUATION,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FRAME_HEADER_LENGTH,
  HEADERS,
  writeFrameHeader,
} from './frames.js';
import { ByteWriter, HpackEncoder, integerLength, writeInteger } from './hpack-encoder.js';
import type { FrameWriter } from './writer.js';

interface CachedBlock {
  /** The encoder's epoch when encoded: a block of table references is valid only within it. */
  epoch: number;
  bytes: Buffer;
}

export class RequestHeaders {
  private readonly encoder = new HpackEncoder();
  private readonly scratch = new ByteWriter(512);
  private readonly scheme: string;
  private readonly authority: string;
  /** Encoded pseudo-header prefixes (per method) and regular header blocks (per header object). */
  private readonly pseudoCache = new Map<string, CachedBlock>();
  private readonly headerCache = new WeakMap<object, CachedBlock>();

  constructor(scheme: string, authority: string) {
    this.scheme = scheme;
    this.authority = authority;
  }

  /** The server's SETTINGS_HEADER_TABLE_SIZE. */
  setMaxTableSize(value: number): void {
    this.encoder.setMaxSize(value);
  }

  /** Writes stream `id`'s request headers, split into frames of at most `maxFrame` bytes. */
  write(
    out: FrameWriter,
    id: number,
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    endStream: boolean,
    maxFrame: number,
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
    const flags = endStream ? FLAG_END_STREAM : 0;
    if (blockLength <= maxFrame) {
      const at = out.reserve(FRAME_HEADER_LENGTH + blockLength);
      const buf = out.out;
      writeFrameHeader(buf, at, blockLength, HEADERS, flags | FLAG_END_HEADERS, id);
      let p = at + FRAME_HEADER_LENGTH;
      if (update !== null) p += update.copy(buf, p);
      p += pseudo.copy(buf, p);
      // §6.2.2 literal without indexing, name = static index 4 (`:path`).
      buf[p++] = 0x04;
      p = writeInteger(buf, p, pathLength, 7, 0);
      p += buf.write(path, p, 'utf8');
      if (regular !== null) regular.copy(buf, p);
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
      const at = out.reserve(FRAME_HEADER_LENGTH + size);
      const type = offset === 0 ? HEADERS : CONTINUATION;
      writeFrameHeader(
        out.out,
        at,
        size,
        type,
        (offset === 0 ? flags : 0) | (last ? FLAG_END_HEADERS : 0),
        id,
      );
      block.copy(out.out, at + FRAME_HEADER_LENGTH, offset, offset + size);
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
}

/** RFC 9113 §8.2.2: connection-specific fields are malformed in HTTP/2. */
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** A caller's mistake, not a protocol event: a TypeError with node:http2's code, as node throws. */
function checkHeader(name: string): void {
  if (CONNECTION_HEADERS.has(name) || name.startsWith(':')) {
    throw Object.assign(new TypeError(`header ${name} is not allowed in an HTTP/2 request`), {
      code: 'ERR_HTTP2_INVALID_CONNECTION_HEADERS',
    });
  }
}

/**
 * Reads a socket through Node's `onread` option (net.connect / tls.connect) instead of its
 * 'data' events, for the wire session.
 *
 * Why: a busy push connection receives one small TLS record per response (an HTTP/2 server
 * flushes each answer as it is ready), and through the stream API each record costs a Buffer,
 * a Readable push, a nextTick and an event: about a tenth of the client's CPU per push. With
 * `onread`, Node decrypts into one buffer of ours and calls us with the byte count; nothing is
 * allocated per record.
 *
 * The price: that buffer is reused for the next read, so whoever is handed a chunk must copy
 * what it keeps beyond the call (the wire session does: partial frames, bodies, header
 * fragments). Bytes that arrive before a session is attached (the server's SETTINGS can follow
 * the handshake at once) are copied and replayed on attach.
 *
 * Only for sockets the pool opens itself: a TLS socket layered on a CONNECT tunnel cannot take
 * `onread` (Node ignores it there), so proxied connections keep the 'data' events.
 */
import type { OnReadOpts } from 'node:net';

/** Large enough for a full TLS record (16 KiB) several times over: one callback per read. */
const BUFFER_SIZE = 64 * 1024;

export type ChunkSink = (chunk: Buffer) => void;

export class DirectReader {
  /** Pass to net.connect / tls.connect as `onread`. */
  readonly onread: OnReadOpts;
  private sink: ChunkSink | null = null;
  private early: Buffer[] = [];

  constructor() {
    const buffer = Buffer.allocUnsafe(BUFFER_SIZE);
    this.onread = {
      buffer,
      callback: (bytes: number, into: Uint8Array): boolean => {
        const chunk = (into as Buffer).subarray(0, bytes);
        if (this.sink !== null) this.sink(chunk);
        else this.early.push(Buffer.from(chunk));
        // Returning false would pause the socket: reading never waits on us.
        return true;
      },
    };
  }

  /** From now on chunks go to `sink` (first the ones that came before), valid only during the call. */
  attach(sink: ChunkSink): void {
    this.sink = sink;
    const early = this.early;
    this.early = [];
    for (const chunk of early) sink(chunk);
  }
}

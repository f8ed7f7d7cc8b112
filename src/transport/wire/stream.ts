/** One request/response exchange on a {@link WireSession}. */

/**
 * What a stream needs of its session (and what the pool reads through `stream.session`): an
 * interface, so stream.ts does not import session.ts (which imports it).
 */
export interface WireStreamSession {
  readonly destroyed: boolean;
  /** True once any byte of `stream`'s request was handed to the socket. */
  wrote(stream: WireStream): boolean;
  /** RST_STREAM for a stream we give up on; its close handler runs on the next tick. */
  resetStream(stream: WireStream, code: number): void;
}

/** Bits of WireStream's `flags`. */
const LOCAL_ENDED = 1;
const REMOTE_ENDED = 2;
const HEADERS_RECEIVED = 4;
const CLOSED = 8;
const DESTROYED = 16;

/**
 * The members mirror the subset of node's `ClientHttp2Stream` the pool reads (`id`,
 * `rstCode`, `closed`, `destroyed`, `close(code)`), so the pool handles both the same way.
 * Events are not emitted: the session calls its {@link WireStreamHandlers} directly.
 */
export class WireStream {
  readonly id: number;
  readonly session: WireStreamSession;
  /** The RST_STREAM code that ended the stream (0 for a normal end); undefined while open. */
  rstCode: number | undefined = undefined;
  /**
   * The five flags below, as bits of one field: a stream lives for every request in flight
   * (10,000 at a time at real round trips), and five fields of their own would cost 32 bytes
   * more per stream.
   */
  private flags = 0;
  /** END_STREAM sent / received; response HEADERS (non-1xx) received. */
  get localEnded(): boolean {
    return (this.flags & LOCAL_ENDED) !== 0;
  }
  set localEnded(on: boolean) {
    this.flags = on ? this.flags | LOCAL_ENDED : this.flags & ~LOCAL_ENDED;
  }
  get remoteEnded(): boolean {
    return (this.flags & REMOTE_ENDED) !== 0;
  }
  set remoteEnded(on: boolean) {
    this.flags = on ? this.flags | REMOTE_ENDED : this.flags & ~REMOTE_ENDED;
  }
  get headersReceived(): boolean {
    return (this.flags & HEADERS_RECEIVED) !== 0;
  }
  set headersReceived(on: boolean) {
    this.flags = on ? this.flags | HEADERS_RECEIVED : this.flags & ~HEADERS_RECEIVED;
  }
  get closed(): boolean {
    return (this.flags & CLOSED) !== 0;
  }
  set closed(on: boolean) {
    this.flags = on ? this.flags | CLOSED : this.flags & ~CLOSED;
  }
  get destroyed(): boolean {
    return (this.flags & DESTROYED) !== 0;
  }
  set destroyed(on: boolean) {
    this.flags = on ? this.flags | DESTROYED : this.flags & ~DESTROYED;
  }
  /** What we may still send on this stream (peer's window). */
  sendWindow: number;
  /** Body bytes waiting for flow-control credit. */
  pendingBody: Buffer | null = null;
  pendingOffset = 0;
  /** Received DATA bytes not yet credited back with WINDOW_UPDATE. */
  unacked = 0;

  constructor(session: WireStreamSession, id: number, sendWindow: number) {
    this.session = session;
    this.id = id;
    this.sendWindow = sendWindow;
  }

  /** Resets the stream (RST_STREAM with `code`, default NO_ERROR); 'close' follows on the next tick. */
  close(code = 0): void {
    this.session.resetStream(this, code);
  }
}

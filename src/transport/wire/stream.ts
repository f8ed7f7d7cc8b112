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
  closed = false;
  destroyed = false;
  /** END_STREAM sent / received; response HEADERS (non-1xx) received. */
  localEnded = false;
  remoteEnded = false;
  headersReceived = false;
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

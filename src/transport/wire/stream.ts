/** One request/response exchange on a {@link WireSession}. */
import type { WireSession } from './session.js';

/**
 * The members mirror the subset of node's `ClientHttp2Stream` the pool reads (`id`,
 * `rstCode`, `closed`, `destroyed`, `close(code)`), so the pool handles both the same way.
 * Events are not emitted: the session calls its {@link WireStreamHandlers} directly.
 */
export class WireStream {
  readonly id: number;
  readonly session: WireSession;
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

  constructor(session: WireSession, id: number, sendWindow: number) {
    this.session = session;
    this.id = id;
    this.sendWindow = sendWindow;
  }

  /** Resets the stream (RST_STREAM with `code`, default NO_ERROR); 'close' follows on the next tick. */
  close(code = 0): void {
    this.session.resetStream(this, code);
  }
}

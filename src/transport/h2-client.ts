/**
 * The one seam between the HTTP/2 pool and an HTTP/2 client, as undici puts its h1 and h2
 * clients behind one connector. The pool (h2-pool.ts, h2-connection.ts) keeps only pool
 * policy — which session takes a request, health, retries, GOAWAY handling — and talks to a
 * session through {@link H2Session} alone. Each client is adapted in one file: node:http2 in
 * node-h2.ts, pushline's own framing (src/transport/wire/) in wire-h2.ts.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { OnReadOpts, Socket } from 'node:net';

/** RFC 9113 §7 error codes the pool reads (a refused stream is safe to re-send). */
export const REFUSED_STREAM = 0x7;
export const CANCEL = 0x8;

/** What the pool reads of a stream: node's `ClientHttp2Stream` and `WireStream` both fit. */
export interface H2Stream {
  /** Undefined while no id was given (node:http2 before nghttp2 took the request). */
  readonly id: number | undefined;
  /** The RST_STREAM code that ended the stream (0 for a normal end); undefined while open. */
  readonly rstCode: number | undefined;
}

/**
 * A stream's callbacks, one table for every stream of every session (no closure per request):
 * the pool finds its request on the stream it is handed.
 */
export interface H2StreamHandlers {
  response(stream: H2Stream, headers: IncomingHttpHeaders): void;
  data(stream: H2Stream, chunk: Buffer): void;
  end(stream: H2Stream): void;
  error(stream: H2Stream, error: Error): void;
  close(stream: H2Stream): void;
}

/** The server's settings the pool follows (RFC 9113 §6.5.2); absent means no limit. */
export interface H2Settings {
  maxConcurrentStreams?: number;
  maxHeaderListSize?: number;
}

/** What a session reports about itself. */
export interface H2SessionEvents {
  /** The server's SETTINGS arrived (the first one makes the session usable). */
  settings(settings: H2Settings): void;
  goaway(errorCode: number, lastStreamId: number, opaqueData?: Buffer): void;
  error(error: unknown): void;
  /** The session is gone (after any 'error'); every stream has closed. */
  close(): void;
}

/**
 * How far a request went: `sent` (bytes reached the socket), `queued` (its HEADERS go out at
 * the next flush unless the session dies first), `unsent`.
 */
export type H2Written = 'sent' | 'queued' | 'unsent';

/** One HTTP/2 connection as the pool drives it. */
export interface H2Session {
  readonly closed: boolean;
  readonly destroyed: boolean;
  /**
   * Opens a stream; its events go to the session's {@link H2StreamHandlers}. `headers` should
   * be the same object for requests that share them (the wire client caches their encoding).
   * @throws when the session refuses (closing, out of stream ids): nothing was sent then.
   */
  request(
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: Buffer | string | undefined,
  ): H2Stream;
  /** Whether any byte of `stream`'s request left (see {@link H2Written}). */
  wrote(stream: H2Stream): H2Written;
  /** RST_STREAM(CANCEL) unless the stream already closed; its close handler follows. */
  cancel(stream: H2Stream): void;
  /** Sends a PING; `callback` gets null once answered. False when none can be sent now. */
  ping(callback: (error: Error | null) => void): boolean;
  /** Graceful: GOAWAY, no new streams, the connection ends once open streams finish. */
  close(): void;
  destroy(error?: Error): void;
  ref(): void;
  unref(): void;
}

/** An `onread` reader some clients read the socket through (see wire/direct-reader.ts). */
export interface H2Reader {
  readonly onread: OnReadOpts;
}

export interface H2ConnectOptions {
  /** The pool's origin (scheme://host[:port]). */
  origin: string;
  /** `:authority` of every request (host[:port]). */
  authority: string;
  scheme: 'https' | 'http';
  /** Largest response header list accepted (RFC 9113 §6.5.2 terms); more ends the connection. */
  maxHeaderListSize: number;
  handlers: H2StreamHandlers;
  events: H2SessionEvents;
  /** The reader from this client's `createReader`, when the socket reads through it. */
  reader?: H2Reader;
}

/** Turns a connected socket into an HTTP/2 session. */
export interface H2Client {
  /** A reader to open the socket with (`onread`), for a client that reads the bytes itself. */
  createReader?(): H2Reader;
  connect(socket: Socket, options: H2ConnectOptions): H2Session;
}

/**
 * The one error type of the wire client. `h2Code` is the RFC 9113 §7 error code behind it
 * (what went in our GOAWAY or RST_STREAM, or what the server sent); `code` is the stable string
 * node:http2 uses for the same case, which is what the pool and src/transport/errors.ts read —
 * so both HTTP/2 clients fail the same way.
 */
import { INTERNAL_ERROR } from './frames.js';

/** The `code` strings a {@link WireError} carries. */
export type WireErrorCode =
  /** A connection error: ours (GOAWAY sent) or the server's (GOAWAY received). */
  | 'ERR_HTTP2_SESSION_ERROR'
  /** A stream error: RST_STREAM sent or received. */
  | 'ERR_HTTP2_STREAM_ERROR'
  /** A request or ping on a session that is closing or destroyed. Nothing was sent. */
  | 'ERR_HTTP2_INVALID_SESSION'
  /** The connection used all 2^31 stream ids. Nothing was sent. */
  | 'ERR_HTTP2_OUT_OF_STREAMS';

export class WireError extends Error {
  readonly h2Code: number;
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, h2Code: number, message: string) {
    super(message);
    this.code = code;
    this.h2Code = h2Code;
  }
}

/** A connection error (§5.4.1): the session ends with GOAWAY(`h2Code`) and this message. */
export function connectionError(h2Code: number, message: string): WireError {
  return new WireError('ERR_HTTP2_SESSION_ERROR', h2Code, message);
}

/** A request refused locally before anything was written (INTERNAL_ERROR: no frame carries it). */
export function sessionUnusable(
  code: 'ERR_HTTP2_INVALID_SESSION' | 'ERR_HTTP2_OUT_OF_STREAMS',
  message: string,
): WireError {
  return new WireError(code, INTERNAL_ERROR, message);
}

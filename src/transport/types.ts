/**
 * The transport contract every provider uses. Providers never touch `node:http2` directly:
 * they ask a pool for a request and get back a buffered response or a PushError.
 *
 * Errors: `request()` never rejects with anything but a PushError —
 *  - `timeout`     (retryable): no complete response within `timeoutMs`;
 *  - `unavailable` (retryable): connect failure, reset stream, connection lost mid-flight,
 *                   queue full; `reason` carries the low-level code (ECONNREFUSED, NGHTTP2_…);
 *  - `aborted`:     the request's `signal` fired;
 *  - `closed`:      the pool was closed or destroyed before the request was sent;
 *  - `config`:      TLS verification failed or the proxy refused CONNECT (will not heal by retrying).
 * HTTP error statuses are not errors here: any complete response resolves.
 */
import type { IncomingHttpHeaders } from 'node:http2';

export interface TlsOptions {
  /** Extra trusted CA(s), PEM. Needed for the emulator's self-signed certificate. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate and key (PEM), for APNs certificate auth. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Client certificate and key as PKCS#12 (`.p12`). */
  pfx?: Buffer;
  passphrase?: string;
  /** Defaults to the origin's host name. */
  servername?: string;
  /** Defaults to true; never turn off outside tests. */
  rejectUnauthorized?: boolean;
}

export interface PoolOptions {
  /** `https://host[:port]` (or `http://` for cleartext HTTP/2 to a local server). */
  origin: string;
  /** Most connections (HTTP/2 sessions) to open to this origin. Default 1… see implementation. */
  connections?: number;
  /** Most requests waiting for a free stream before `request()` rejects with `unavailable`. */
  maxQueued?: number;
  /** Per-request timeout in ms, from being queued to the full response. */
  timeoutMs?: number;
  /** Connect (TCP + TLS + SETTINGS) timeout in ms. */
  connectTimeoutMs?: number;
  /** PING a connection idle this long (ms); replace it if the PING is not answered. */
  pingIntervalMs?: number;
  tls?: TlsOptions;
  /** HTTP CONNECT proxy, e.g. `http://proxy.internal:3128` (user:pass@ for Basic auth). */
  proxy?: string;
  /** Which protocol to speak: `h2` (default), `http1` (keep-alive), or `auto` (ALPN decides). */
  protocol?: 'h2' | 'http1' | 'auto';
}

export interface TransportRequest {
  method?: string; // default POST
  /** Path and query, e.g. `/3/device/abcd`. */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /**
   * Stop placing new requests on the connection this response came on (it closes once its
   * in-flight requests finish). For protocol rules such as APNs `Shutdown` or `UnrelatedKeyIdInToken`.
   */
  retireConnection(): void;
}

export interface PoolStats {
  connections: number;
  inFlight: number;
  queued: number;
}

export interface Pool {
  readonly origin: string;
  request(req: TransportRequest): Promise<TransportResponse>;
  readonly stats: PoolStats;
  /** Stops taking requests, lets in-flight and queued ones finish, then closes every connection. */
  close(): Promise<void>;
  /** Fails every queued and in-flight request with `closed` and drops every connection now. */
  destroy(): void;
}

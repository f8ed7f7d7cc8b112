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
 *  - `config`:      TLS verification failed, the server would not speak the protocol asked for (ALPN),
 *                   or the proxy refused CONNECT (will not heal by retrying).
 * HTTP error statuses are not errors here: any complete response resolves.
 *
 * Requests the server provably did not process (streams above a GOAWAY's last-stream-id,
 * streams reset with REFUSED_STREAM) are re-sent by the pool itself: the caller never sees them
 * fail and they do not count as an attempt.
 *
 * Any other failure of a request whose bytes were already written (connection lost or stream
 * reset before the response, timeout, abort or destroy in flight) carries
 * `maybeDelivered: true`: the server may have processed it. A request that never left (queued,
 * connect failed, refused) or that was answered with an error status does not. Per client:
 * the wire client knows which streams' HEADERS reached the socket; node:http2 says maybe once
 * nghttp2 gave the stream an id; HTTP/1.1 once the request had its socket.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { LookupFunction } from 'node:net';

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
  /**
   * Most connections to open to this origin (HTTP/2 sessions, or sockets for `http1`); fixes
   * the cap that `maxConnections` otherwise sets. They open lazily: a new one only when every
   * open one is full (the server's SETTINGS_MAX_CONCURRENT_STREAMS, or
   * `maxStreamsPerConnection`) and requests are waiting under the in-flight limit.
   */
  connections?: number;
  /**
   * Most connections when `connections` is not given. Default 16: at APNs' 1,000 streams per
   * connection, room for `maxConcurrency` (10,000) in flight with some to spare.
   */
  maxConnections?: number;
  /**
   * A fixed number of requests in flight at once (the rest wait in the queue). Default: none —
   * the limit adapts (src/transport/limiter.ts): it starts at `initialConcurrency`, grows while
   * the round trip stays near its no-load value (a distant server needs many requests in flight:
   * throughput = in flight / round trip), and backs off on a rising round trip, `429`, a refused
   * stream, a GOAWAY or a timeout, within `maxConcurrency`.
   */
  concurrency?: number;
  /** Where the adaptive in-flight limit starts, and its floor on latency alone. Default 1 000. */
  initialConcurrency?: number;
  /** Highest adaptive in-flight limit. Default 10 000. */
  maxConcurrency?: number;
  /** Most requests waiting for a free stream before `request()` rejects with `unavailable` (reason `queue-full`). Default 10 000. */
  maxQueued?: number;
  /** Per-request timeout in ms, from being queued to the full response. Default 30 000. */
  timeoutMs?: number;
  /** Connect (TCP + proxy + TLS + first SETTINGS) timeout in ms. Default 10 000. */
  connectTimeoutMs?: number;
  /** PING a connection idle this long (ms); replace it if the PING is not answered. Default 60 000. */
  pingIntervalMs?: number;
  /** How long (ms) a PING may go unanswered before its connection is replaced. Default 20 000. */
  pingTimeoutMs?: number;
  /**
   * Upper bound on concurrent streams per HTTP/2 session, below the server's own
   * SETTINGS_MAX_CONCURRENT_STREAMS (which is always honoured). Default: the server's value.
   */
  maxStreamsPerConnection?: number;
  /** First reconnect delay after a failed connect, doubled per further failure (with jitter). Default 250 ms. */
  backoffBaseMs?: number;
  /** Longest reconnect delay. Default 30 000 ms. */
  backoffMaxMs?: number;
  /**
   * Largest response header list accepted, in RFC 9113 §6.5.2 terms (name + value + 32 bytes
   * per field); advertised to HTTP/2 servers as SETTINGS_MAX_HEADER_LIST_SIZE, and Node's
   * `maxHeaderSize` for HTTP/1.1. A server that sends more (a "header bomb", an endless run of
   * CONTINUATION frames) loses the connection (ENHANCE_YOUR_CALM) and the requests on it fail
   * like on any lost connection. Default 65 536: push services answer with well under 1 KiB.
   */
  maxHeaderListSize?: number;
  /**
   * Most response body bytes kept per request; the rest is read and dropped, so a server that
   * streams a body for the whole timeout costs no memory (the response still completes, or times
   * out, as the server decides). Providers read a status and a short JSON reason. Default 16 384.
   */
  maxResponseBodyBytes?: number;
  /** Called on connection life-cycle events, for logs and metrics. Must not throw (errors are ignored). */
  onEvent?: (event: TransportEvent) => void;
  tls?: TlsOptions;
  /** HTTP CONNECT proxy, e.g. `http://proxy.internal:3128` (user:pass@ for Basic auth). */
  proxy?: string;
  /**
   * Resolves the origin's host for each new connection (Node's `net` lookup signature), instead
   * of `dns.lookup`. Lets a caller vet the address actually connected to — the Web Push
   * provider refuses private addresses here, so a DNS answer that changes after its first check
   * (DNS rebinding) cannot reach the internal network. Through a `proxy`, the host is resolved
   * with it first and the tunnel asked for that address (TLS still names the host).
   */
  lookup?: LookupFunction;
  /**
   * Which protocol to speak: `h2` (default, node:http2), `http1` (keep-alive), or `auto`
   * (ALPN decides, node:http2 for h2). `h2-wire` speaks HTTP/2 with pushline's own framing and
   * HPACK (src/transport/wire/): same pool behaviour at about a fifth of the CPU per request.
   * apns() and fcm() choose it through their `transport` option, and default to it.
   * `auto-wire` is `auto` with HTTP/2 spoken by the wire client (webPush's default).
   */
  protocol?: 'h2' | 'http1' | 'auto' | 'h2-wire' | 'auto-wire';
}

/**
 * A request body made each time it is written (once, or again for a re-send on another
 * connection) instead of held for the whole round trip. FCM's body differs per token, and a
 * held copy of it lived ~0.5 KB per request in flight — promoted to V8's old generation, where
 * garbage is collected late; made at write time, it dies young. `body()` must return the same
 * bytes every time; if it throws, that request fails `internal` and nothing of it is sent.
 */
export interface BodyWriter {
  body(): Buffer | string;
}

export type RequestBody = Buffer | string | BodyWriter;

export interface TransportRequest {
  method?: string; // default POST
  /** Path and query, e.g. `/3/device/abcd`. */
  path: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /**
   * Stop placing new requests on the connection this response came on (it closes once its
   * in-flight requests finish). For protocol rules such as APNs `Shutdown` or `UnrelatedKeyIdInToken`.
   * With HTTP/1.1 the response's socket is closed instead of going back to the pool.
   */
  retireConnection(): void;
}

export interface PoolStats {
  /** Open connections (including ones still connecting). */
  connections: number;
  inFlight: number;
  queued: number;
  /** The last GOAWAY received on any of this pool's connections, if any. */
  lastGoaway?: GoawayInfo;
}

export interface GoawayInfo {
  /** HTTP/2 error code (0 = NO_ERROR) and its name (`NGHTTP2_NO_ERROR`, …). */
  errorCode: number;
  errorName: string;
  lastStreamId: number;
  /** `reason` from the JSON the server put in the GOAWAY's opaque data (APNs does), if any. */
  reason?: string;
}

/**
 * What a pool reports through `onEvent`, and publishes on `node:diagnostics_channel`
 * (`pushline:pool:<type>`, see src/transport/diagnostics.ts). `connection` numbers a pool's
 * connections from 1.
 */
export type TransportEvent =
  | { type: 'connect'; origin: string; connection: number; protocol: 'h2' | 'http1' }
  | { type: 'connect-error'; origin: string; error: string; code: string; retryInMs: number }
  | { type: 'disconnect'; origin: string; connection: number; error?: string }
  | ({ type: 'goaway'; origin: string; connection: number } & GoawayInfo)
  | { type: 'ping-timeout'; origin: string; connection: number }
  | { type: 'settings'; origin: string; connection: number; maxConcurrentStreams: number }
  /** A request the server provably did not process (refused stream, above GOAWAY) goes out again. */
  | { type: 'resend'; origin: string; reason: string };

/**
 * Where a provider that talks to several origins gets its connections: the transport's
 * {@link PoolRegistry}, or a fake in tests.
 */
export interface PoolSource {
  get(origin: string): Pick<Pool, 'request'>;
  close(): Promise<void>;
  /** Resolves once the connections are gone (a fake may return nothing). */
  destroy(): void | Promise<void>;
}

/** Options for a {@link PoolRegistry}: pool defaults for every origin, plus idle closing. */
export type PoolRegistryOptions = Omit<PoolOptions, 'origin'> & {
  /** Close and forget a pool that had no request for this long (ms). Default 300 000. */
  idleCloseMs?: number;
  /**
   * Most pools (origins) kept at once. At the cap a new origin replaces the pool idle longest;
   * when all are busy its request fails `unavailable` (reason `too-many-origins`). Default 256.
   */
  maxPools?: number;
};

/**
 * Where a request's answer goes when it is {@link Pool.dispatch dispatched}: `request()` without
 * a promise. Exactly one of the two is called, once, and never during the `dispatch()` call
 * itself (answers are handed over in a microtask, as a promise's would be). `token` is what the
 * caller passed along, so one sink serves every request.
 */
export interface ResponseSink<T> {
  onResponse(response: TransportResponse, token: T): void;
  /** A PushError from pushline's pools; whatever a pool of the caller's own rejected with. */
  onError(error: unknown, token: T): void;
}

export interface Pool {
  readonly origin: string;
  /**
   * Requests the pool lets in flight now: its fixed `concurrency`, or the adaptive limit's
   * current value. A provider's lane follows it (so the engine's window does too).
   */
  readonly limit?: number;
  request(req: TransportRequest): Promise<TransportResponse>;
  /**
   * `request()` with the answer handed to `sink` instead of a promise: a request in flight then
   * holds no promise, closure or reaction of its own — at 10,000 in flight at 100 ms they were
   * about half of what one held. pushline's pools have it; {@link dispatchOn} falls back to
   * `request()` for a pool that has not.
   */
  dispatch?<T>(req: TransportRequest, sink: ResponseSink<T>, token: T): void;
  readonly stats: PoolStats;
  /** Stops taking requests, lets in-flight and queued ones finish, then closes every connection. */
  close(): Promise<void>;
  /**
   * Fails every queued and in-flight request with `closed` and drops every connection now.
   * The promise (which never rejects; callers need not await it) resolves once the sockets
   * of those connections have closed.
   */
  destroy(): Promise<void>;
}

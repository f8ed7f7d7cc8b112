/**
 * `protocol: 'auto'`: the first connect offers ALPN ['h2', 'http/1.1'] and the server's
 * choice decides, for the pool's lifetime, which pool serves the origin. The probing socket
 * becomes the first HTTP/2 session when h2 wins. Cleartext origins have no ALPN: h2c is assumed.
 * Which HTTP/2 client speaks h2 (`auto`: node:http2, `auto-wire`: the wire client) is given.
 */
import type { Socket } from 'node:net';
import { PushError } from '../errors.js';
import type { BasePool } from './base-pool.js';
import { connectSocket, secureContext } from './connect.js';
import { dispatchOn } from './dispatch.js';
import type { H2Client } from './h2-client.js';
import { H2Pool } from './h2-pool.js';
import { Http1Pool } from './http1-pool.js';
import type { ResolvedOptions } from './options.js';
import type { Pool, PoolStats, ResponseSink, TransportRequest, TransportResponse } from './types.js';

export class AutoPool implements Pool {
  readonly origin: string;
  private readonly options: ResolvedOptions;
  /** The HTTP/2 client of the pool, when h2 is chosen. */
  private readonly client: H2Client;
  private inner: BasePool | null = null;
  private probing: Promise<BasePool> | null = null;
  private probe: AbortController | null = null;
  private waiters = 0;
  private state: 'open' | 'closed' = 'open';

  constructor(options: ResolvedOptions, client: H2Client) {
    this.options = options;
    this.origin = options.target.origin;
    this.client = client;
    if (!options.target.secure) this.inner = new H2Pool(options, client);
  }

  /** The protocol chosen so far (`undefined` before the first connect). */
  get protocol(): 'h2' | 'http1' | undefined {
    if (this.inner === null) return undefined;
    return this.inner instanceof H2Pool ? 'h2' : 'http1';
  }

  get lastRequestAt(): number {
    return this.inner?.lastRequestAt ?? 0;
  }

  get limit(): number {
    return this.inner?.limit ?? this.options.concurrency ?? this.options.initialConcurrency;
  }

  get stats(): PoolStats {
    if (this.inner !== null) return this.inner.stats;
    return { connections: this.probing === null ? 0 : 1, inFlight: 0, queued: this.waiters };
  }

  dispatch<T>(request: TransportRequest, sink: ResponseSink<T>, token: T): void {
    // Until the protocol is known (the first connection), through request() and its promise.
    if (this.inner !== null) this.inner.dispatch(request, sink, token);
    else dispatchOn({ request: (r) => this.request(r) }, request, sink, token);
  }

  request(request: TransportRequest): Promise<TransportResponse> {
    if (this.inner !== null) return this.inner.request(request);
    if (this.state === 'closed') {
      return Promise.reject(
        new PushError('closed', `pool for ${this.origin} is closed`, { retryable: false }),
      );
    }
    if (this.waiters >= this.options.maxQueued) {
      return Promise.reject(
        new PushError('unavailable', `too many requests waiting for ${this.origin}`, {
          reason: 'queue-full',
        }),
      );
    }
    this.waiters++;
    return this.decide().then(
      (pool) => {
        this.waiters--;
        return pool.request(request);
      },
      (error: unknown) => {
        this.waiters--;
        throw error;
      },
    );
  }

  private decide(): Promise<BasePool> {
    if (this.probing !== null) return this.probing;
    const controller = new AbortController();
    this.probe = controller;
    const timer = setTimeout(() => {
      controller.abort(
        new PushError('unavailable', `connecting to ${this.origin} took too long`, { reason: 'ETIMEDOUT' }),
      );
    }, this.options.connectTimeoutMs);
    timer.unref();
    const context = secureContext(this.options);
    this.probing = connectSocket(this.options, context, ['h2', 'http/1.1'], controller.signal).then(
      ({ socket, protocol }) => {
        clearTimeout(timer);
        this.probe = null;
        if (this.state === 'closed') {
          socket.destroy();
          throw new PushError('closed', `pool for ${this.origin} is closed`, { retryable: false });
        }
        if (protocol === 'h2') {
          this.inner = new H2Pool(this.options, this.client, socket as Socket);
        } else {
          // The Agent opens its own sockets; this one has done its job of asking.
          socket.destroy();
          this.inner = new Http1Pool(this.options);
        }
        return this.inner;
      },
      (error: unknown) => {
        clearTimeout(timer);
        this.probe = null;
        // Ask again on the next request: the failure may be transient.
        this.probing = null;
        throw error;
      },
    );
    return this.probing;
  }

  close(): Promise<void> {
    this.state = 'closed';
    this.probe?.abort(new PushError('closed', `pool for ${this.origin} is closed`, { retryable: false }));
    return this.inner?.close() ?? Promise.resolve();
  }

  destroy(): Promise<void> {
    this.state = 'closed';
    this.probe?.abort(new PushError('closed', `pool for ${this.origin} was destroyed`, { retryable: false }));
    return this.inner?.destroy() ?? Promise.resolve();
  }
}

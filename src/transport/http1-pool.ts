/**
 * The HTTP/1.1 pool (for push services that do not speak HTTP/2): keep-alive sockets from
 * a Node Agent, at most `connections` of them, one request per socket at a time. Sockets
 * come from the same connect path as HTTP/2 (proxy tunnel, TLS, ALPN), so errors and
 * options behave the same.
 */
import { Agent, type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import { PushError } from '../errors.js';
import { BasePool } from './base-pool.js';
import { connectSocket, secureContext, socketsClosed } from './connect.js';
import { errorCode, lostError } from './errors.js';
import { emit, type ResolvedOptions } from './options.js';
import { type PendingRequest, PooledResponse, type Retirable } from './pending.js';

const kRequest = Symbol('pushline.request');
const kPool = Symbol('pushline.pool');

interface TaggedRequest extends ClientRequest {
  [kRequest]: PendingRequest | null;
  [kPool]: Http1Pool;
}
interface TaggedResponse extends IncomingMessage {
  [kRequest]: PendingRequest;
  [kPool]: Http1Pool;
}

/** Retiring an HTTP/1.1 connection: close its socket instead of returning it to the pool. */
class SocketRetirer implements Retirable {
  constructor(private readonly socket: Duplex | null) {}
  retire(): void {
    this.socket?.destroy();
  }
}

export class Http1Pool extends BasePool {
  private readonly agent: Agent;
  private readonly context: SecureContext | undefined;
  private active = 0;
  private nextConnectionId = 1;

  constructor(options: ResolvedOptions) {
    super(options);
    this.context = options.target.secure ? secureContext(options) : undefined;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.connections,
      maxFreeSockets: options.connections,
      scheduling: 'lifo',
    });
    // Our own connect path (proxy, TLS, ALPN, connect timeout); Node's Agent accepts an async callback.
    (this.agent as unknown as { createConnection: unknown }).createConnection = (
      _options: unknown,
      callback: (error: Error | null, socket?: Duplex) => void,
    ): undefined => {
      this.connect(callback);
      return undefined;
    };
  }

  private connect(callback: (error: Error | null, socket?: Duplex) => void): void {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort(
        new PushError('unavailable', `connecting to ${this.origin} took too long`, { reason: 'ETIMEDOUT' }),
      );
    }, this.options.connectTimeoutMs);
    timer.unref();
    const id = this.nextConnectionId++;
    connectSocket(this.options, this.context, ['http/1.1'], controller.signal).then(
      ({ socket }) => {
        clearTimeout(timer);
        emit(this.options, { type: 'connect', origin: this.origin, connection: id, protocol: 'http1' });
        socket.once('close', () =>
          emit(this.options, { type: 'disconnect', origin: this.origin, connection: id }),
        );
        callback(null, socket);
      },
      (error: unknown) => {
        clearTimeout(timer);
        const pushError = error as PushError;
        emit(this.options, {
          type: 'connect-error',
          origin: this.origin,
          error: pushError.message,
          code: pushError.reason ?? pushError.code,
          retryInMs: 0,
        });
        callback(pushError);
      },
    );
  }

  protected connectionCount(): number {
    let count = 0;
    for (const list of Object.values(this.agent.sockets)) count += list?.length ?? 0;
    for (const list of Object.values(this.agent.freeSockets)) count += list?.length ?? 0;
    return count;
  }

  protected start(request: PendingRequest): boolean {
    if (this.active >= this.options.connections) return false;
    const body = request.bodyBytes(); // before anything is set up: a throw leaves nothing behind
    const target = this.options.target;
    const outgoing = httpRequest({
      agent: this.agent,
      host: target.host,
      port: target.port,
      method: request.method,
      path: request.path,
      headers: request.headers,
      // The same bound as HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE: over it, Node's parser fails
      // the request (HPE_HEADER_OVERFLOW) and the socket is dropped.
      maxHeaderSize: this.options.maxHeaderListSize,
    }) as TaggedRequest;
    this.active++;
    outgoing[kRequest] = request;
    outgoing[kPool] = this;
    request.carrier = outgoing;
    outgoing.once('socket', onSocket);
    outgoing.on('response', onResponse);
    outgoing.on('error', onError);
    outgoing.on('close', onClose);
    outgoing.end(body);
    return true;
  }

  protected wrote(request: PendingRequest): boolean {
    return request.written;
  }

  protected cancel(request: PendingRequest): void {
    (request.carrier as ClientRequest).destroy();
  }

  /** Sockets come from the Agent on demand; a request waits only for a free one. */
  protected wantCapacity(): void {}

  complete(request: PendingRequest, response: IncomingMessage): void {
    this.succeed(
      request,
      new PooledResponse(
        request.status,
        response.headers,
        request.takeBody(),
        new SocketRetirer(response.socket),
      ),
    );
  }

  closed(request: PendingRequest | null): void {
    this.active--;
    if (request !== null && !request.settled) {
      const error = request.error;
      this.fail(
        request,
        // A PushError here is a failed connect: nothing was written.
        error instanceof PushError
          ? error
          : lostError(
              error === null ? 'closed' : errorCode(error),
              this.origin,
              error,
              this.maybeDelivered(request),
            ),
      );
    }
    if (this.waiting.size > 0) this.pump();
  }

  protected closeConnections(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }

  protected destroyConnections(): Promise<void> {
    const sockets: Duplex[] = [];
    for (const list of Object.values(this.agent.sockets)) sockets.push(...(list ?? []));
    for (const list of Object.values(this.agent.freeSockets)) sockets.push(...(list ?? []));
    this.agent.destroy();
    return socketsClosed(sockets);
  }
}

/** The request has its socket: Node writes what was buffered to it in this turn. */
function onSocket(this: TaggedRequest): void {
  const request = this[kRequest];
  if (request !== null) request.written = true;
}

function onResponse(this: TaggedRequest, response: IncomingMessage): void {
  const request = this[kRequest];
  if (request === null) {
    response.resume();
    return;
  }
  request.status = response.statusCode ?? 0;
  const tagged = response as TaggedResponse;
  tagged[kRequest] = request;
  tagged[kPool] = this[kPool];
  response.on('data', onData);
  response.on('end', onEnd);
}

function onData(this: TaggedResponse, chunk: Buffer): void {
  this[kRequest].addChunk(chunk);
}

function onEnd(this: TaggedResponse): void {
  const request = this[kRequest];
  if (!request.settled) this[kPool].complete(request, this);
}

function onError(this: TaggedRequest, error: unknown): void {
  const request = this[kRequest];
  if (request !== null) request.error = error;
}

function onClose(this: TaggedRequest): void {
  const request = this[kRequest];
  this[kRequest] = null;
  this[kPool].closed(request);
}

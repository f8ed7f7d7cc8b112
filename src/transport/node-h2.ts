/**
 * node:http2 behind the pool's seam (h2-client.ts): every node:http2-specific line of the
 * transport lives here. Stream events run the pool's shared handler table through functions
 * that read it from the stream (no closures per request).
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type {
  H2Client,
  H2ConnectOptions,
  H2Session,
  H2SessionEvents,
  H2Stream,
  H2StreamHandlers,
  H2Written,
} from './h2-client.js';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
const END_STREAM = { endStream: true };

const kSession = Symbol('pushline.nodeSession');
type NodeStream = ClientHttp2Stream & { [kSession]: NodeH2Session };

class NodeH2Session implements H2Session {
  readonly session: ClientHttp2Session;
  readonly handlers: H2StreamHandlers;
  readonly events: H2SessionEvents;
  /** node:http2 does not hold a server to the maxHeaderListSize it advertises: we do. */
  readonly maxHeaderListSize: number;

  constructor(socket: Socket, options: H2ConnectOptions) {
    this.handlers = options.handlers;
    this.events = options.events;
    this.maxHeaderListSize = options.maxHeaderListSize;
    const session = http2.connect(options.origin, {
      createConnection: () => socket,
      settings: { enablePush: false, maxHeaderListSize: options.maxHeaderListSize },
      // node's own cap on response fields (default 128) would refuse honest answers first.
      maxHeaderListPairs: 2000,
    });
    this.session = session;
    const events = options.events;
    session.on('remoteSettings', events.settings);
    session.on('goaway', events.goaway);
    session.on('error', events.error);
    session.on('close', events.close);
  }

  get closed(): boolean {
    return this.session.closed;
  }

  get destroyed(): boolean {
    return this.session.destroyed;
  }

  request(
    method: string,
    path: string,
    extra: Record<string, string> | undefined,
    body: Buffer | string | undefined,
  ): H2Stream {
    const headers: http2.OutgoingHttpHeaders = { ':method': method, ':path': path };
    if (extra !== undefined) for (const name in extra) headers[name] = extra[name];
    const stream = this.session.request(headers, body === undefined ? END_STREAM : undefined) as NodeStream;
    stream[kSession] = this;
    stream.on('response', onResponse);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    if (body !== undefined) stream.end(body);
    return stream as H2Stream;
  }

  wrote(stream: H2Stream): H2Written {
    // node:http2 gives a stream its id when nghttp2 takes the request, which then writes it in
    // the same turn: no id means it never left. (Less precise than the wire client; errs to maybe.)
    return stream.id !== undefined ? 'sent' : 'unsent';
  }

  cancel(stream: H2Stream): void {
    const node = stream as NodeStream;
    if (!node.closed && !node.destroyed) node.close(NGHTTP2_CANCEL);
  }

  ping(callback: (error: Error | null) => void): boolean {
    return this.session.ping(callback);
  }

  close(): void {
    this.session.close();
  }

  destroy(error?: Error): void {
    this.session.destroy(error);
  }

  ref(): void {
    this.session.ref();
  }

  unref(): void {
    this.session.unref();
  }
}

/**
 * node:http2 advertises SETTINGS_MAX_HEADER_LIST_SIZE but does not hold a server to it on
 * responses: measure the list (RFC 9113 §6.5.2) and end a connection whose server exceeds it,
 * as the wire client does while decoding.
 */
function onResponse(this: NodeStream, headers: IncomingHttpHeaders): void {
  const owner = this[kSession];
  const limit = owner.maxHeaderListSize;
  let size = 0;
  for (const name in headers) {
    const value = headers[name];
    if (Array.isArray(value)) for (const item of value) size += name.length + item.length + 32;
    else size += name.length + String(value).length + 32;
  }
  if (size > limit) {
    const session = this.session;
    const error = new Error(`response header list of ${size} bytes is over maxHeaderListSize ${limit}`);
    // Reported first, so it is the connection's error whatever the streams say as they close.
    owner.events.error(error);
    session?.destroy(error, NGHTTP2_ENHANCE_YOUR_CALM);
    return;
  }
  owner.handlers.response(this as H2Stream, headers);
}

function onData(this: NodeStream, chunk: Buffer): void {
  this[kSession].handlers.data(this as H2Stream, chunk);
}

function onEnd(this: NodeStream): void {
  this[kSession].handlers.end(this as H2Stream);
}

function onError(this: NodeStream, error: Error): void {
  this[kSession].handlers.error(this as H2Stream, error);
}

function onClose(this: NodeStream): void {
  this[kSession].handlers.close(this as H2Stream);
}

/** Node's own HTTP/2 client (nghttp2), the fallback to the wire client. */
export const nodeH2: H2Client = {
  connect: (socket: Socket, options: H2ConnectOptions): H2Session => new NodeH2Session(socket, options),
};

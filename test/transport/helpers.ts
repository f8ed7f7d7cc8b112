/** Loopback servers for the transport tests. */
import assert from 'node:assert/strict';
import http2, { type Http2SecureServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import { createServerTls, type ServerTls } from '../../src/emulator/tls.js';
import { PushError } from '../../src/errors.js';

/** The pool's two HTTP/2 clients (node:http2 and pushline's own framing): pool tests run once per client. */
export const H2_PROTOCOLS = ['h2', 'h2-wire'] as const;
export type H2Protocol = (typeof H2_PROTOCOLS)[number];

let shared: ServerTls | undefined;
/** One throw-away CA + server certificate per test file (RSA key generation is slow). */
export function serverTls(): ServerTls {
  shared ??= createServerTls();
  return shared;
}

export type StreamHandler = (
  stream: ServerHttp2Stream,
  body: Buffer,
  headers: http2.IncomingHttpHeaders,
) => void;

export interface TestServer {
  server: Http2SecureServer | Http2Server;
  origin: string;
  port: number;
  ca: string;
  /** Sessions currently open on the server side. */
  sessions: Set<http2.ServerHttp2Session>;
  /** Most streams seen open at once on any one session. */
  maxConcurrent: number;
  /** Raw TCP sockets accepted (destroy one to kill a connection without a GOAWAY). */
  sockets: Set<Socket>;
  /** Streams currently open per session. */
  open: Map<http2.ServerHttp2Session, number>;
  close(): Promise<void>;
}

/** Reads a server stream's whole body, then calls `handler`. */
export async function startH2Server(
  handler: StreamHandler,
  options: http2.SecureServerOptions & { cleartext?: boolean } = {},
): Promise<TestServer> {
  const tls = serverTls();
  const { cleartext, ...serverOptions } = options;
  const server = cleartext
    ? http2.createServer(serverOptions)
    : http2.createSecureServer({ key: tls.server.keyPem, cert: tls.server.certPem, ...serverOptions });
  const result: TestServer = {
    server,
    origin: '',
    port: 0,
    ca: tls.ca.certPem,
    sessions: new Set(),
    sockets: new Set(),
    maxConcurrent: 0,
    open: new Map(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of result.sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (socket: Socket) => {
    result.sockets.add(socket);
    socket.on('close', () => result.sockets.delete(socket));
  });
  server.on('session', (session) => {
    result.sessions.add(session);
    result.open.set(session, 0);
    session.on('close', () => {
      result.sessions.delete(session);
      result.open.delete(session);
    });
    session.on('error', () => {});
  });
  server.on('stream', (stream, headers) => {
    const session = stream.session as http2.ServerHttp2Session;
    const open = (result.open.get(session) ?? 0) + 1;
    result.open.set(session, open);
    result.maxConcurrent = Math.max(result.maxConcurrent, open);
    stream.on('close', () => result.open.set(session, (result.open.get(session) ?? 1) - 1));
    stream.on('error', () => {});
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => handler(stream, Buffer.concat(chunks), headers));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  result.port = (server.address() as AddressInfo).port;
  result.origin = `${cleartext ? 'http' : 'https'}://127.0.0.1:${result.port}`;
  return result;
}

/** Answers 200 with the request body echoed. */
export const echo: StreamHandler = (stream, body) => {
  if (stream.destroyed) return;
  stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
  stream.end(body);
};

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until true (for server-side state changed by other sockets). */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await delay(5);
  }
}

/** Awaits a request that must fail, and returns its PushError. */
export async function rejection(promise: Promise<unknown>): Promise<PushError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof PushError, `expected a PushError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the request to fail');
}

/** A TCP relay in front of a local server that can stop passing bytes both ways (a silent peer). */
export interface FreezableRelay {
  port: number;
  /** While true, bytes are dropped in both directions. */
  frozen: boolean;
  close(): Promise<void>;
}

export async function startFreezableRelay(targetPort: number): Promise<FreezableRelay> {
  const sockets = new Set<Socket>();
  const relay: FreezableRelay = {
    port: 0,
    frozen: false,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => {
      if (!relay.frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!relay.frozen) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.port = (server.address() as AddressInfo).port;
  return relay;
}

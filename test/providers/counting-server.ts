/**
 * A small HTTP/2 server for the maybe-delivered tests (issue 13): it reads each request in
 * full, counts it per key as received (the push may be delivered from here on), then does what
 * the test's behaviour says — answer, hold, or cut the connection without answering.
 */
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { createServerTls } from '../../src/emulator/tls.js';

/** What the server does with the nth request (from 1) it receives for a key. */
export type Behaviour = (nth: number) => 'cut' | 'ok' | 'hold' | 503;

export interface CountingServer {
  origin: string;
  ca: string;
  /** Requests received in full, per key: what may have been delivered. */
  received: Map<string, number>;
  /** Requests answered 200/201, per key: what was certainly delivered. */
  delivered: Map<string, number>;
  close(): Promise<void>;
}

let tls: ReturnType<typeof createServerTls> | undefined;

/** `keyOf` names a request (default: the last segment of its path, an APNs token). */
export async function countingServer(
  behaviour: Behaviour,
  keyOf: (path: string) => string = (path) => path.split('/').pop()!,
): Promise<CountingServer> {
  tls ??= createServerTls();
  const sockets = new Set<Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const received = new Map<string, number>();
  const delivered = new Map<string, number>();
  const server = http2.createSecureServer({ key: tls.server.keyPem, cert: tls.server.certPem });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {});
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    stream.resume();
    stream.on('end', () => {
      const key = keyOf(String(headers[':path']));
      const nth = (received.get(key) ?? 0) + 1;
      received.set(key, nth);
      const action = behaviour(nth);
      if (action === 'cut') {
        // The request is in; the connection dies before the answer (no GOAWAY, no RST_STREAM).
        for (const socket of sockets) socket.destroy();
      } else if (action === 'ok') {
        delivered.set(key, (delivered.get(key) ?? 0) + 1);
        stream.respond({ ':status': 200, 'apns-id': '00000000-0000-4000-8000-000000000001' });
        stream.end('{"name":"projects/p/messages/1"}');
      } else if (action === 503) {
        stream.respond({ ':status': 503, 'content-type': 'application/json' });
        stream.end(JSON.stringify({ reason: 'ServiceUnavailable' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: tls.ca.certPem,
    received,
    delivered,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A tiny HTTP/2 TLS server standing in for APNs in the provider's integration tests: it
 * records each request and answers with whatever the test's handler says. (The full
 * emulator lives in src/emulator/apns; this one lets a test script exact answers.)
 */

import type { Http2SecureServer, IncomingHttpHeaders, ServerHttp2Session } from 'node:http2';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CertificateAuthority } from '../../../src/emulator/tls.js';
import { createServerTls } from '../../../src/emulator/tls.js';

export interface RecordedRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Numbers the HTTP/2 session the request came on, from 1. */
  session: number;
  /** Subject of the client certificate, when one was presented. */
  clientSubject: string | undefined;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Returns the reply, or undefined to never answer (for timeouts). */
export type Handler = (
  request: RecordedRequest,
  index: number,
) => Reply | undefined | Promise<Reply | undefined>;

export interface LocalApns {
  origin: string;
  ca: string;
  /** The CA behind the server certificate; issue client certificates from it. */
  tlsCa: CertificateAuthority;
  requests: RecordedRequest[];
  handler: Handler;
  close(): Promise<void>;
}

export const okReply: Handler = (_request, index) => ({
  status: 200,
  headers: { 'apns-id': `00000000-0000-4000-8000-${String(index).padStart(12, '0')}` },
});

export async function startLocalApns(
  options: { handler?: Handler; requireClientCert?: boolean } = {},
): Promise<LocalApns> {
  const tls = createServerTls();
  const sessions = new Map<ServerHttp2Session, number>();
  const server: Http2SecureServer = createSecureServer({
    key: tls.server.keyPem,
    cert: tls.server.certPem,
    // Client certificates (APNs certificate auth) are issued by the same throw-away CA.
    ...(options.requireClientCert === true
      ? { requestCert: true, rejectUnauthorized: true, ca: tls.ca.certPem }
      : {}),
  });
  const state: LocalApns = {
    origin: '',
    ca: tls.ca.certPem,
    tlsCa: tls.ca,
    requests: [],
    handler: options.handler ?? okReply,
    async close() {
      for (const session of sessions.keys()) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  let sessionCount = 0;
  server.on('session', (session) => {
    sessionCount += 1;
    sessions.set(session, sessionCount);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', () => {});
    stream.on('end', async () => {
      const socket = stream.session?.socket as TLSSocket | undefined;
      const peer = socket?.getPeerX509Certificate?.();
      const request: RecordedRequest = {
        headers,
        body: Buffer.concat(chunks),
        session: stream.session === undefined ? 0 : (sessions.get(stream.session as ServerHttp2Session) ?? 0),
        clientSubject: peer?.subject,
      };
      const index = state.requests.push(request) - 1;
      const reply = await state.handler(request, index);
      if (reply === undefined || stream.destroyed) return;
      stream.respond({ ':status': reply.status, ...reply.headers });
      stream.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

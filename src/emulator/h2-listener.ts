/**
 * The TLS HTTP/2 listener an emulator serves on: 127.0.0.1, a port the OS picks, a certificate
 * from its own throwaway CA (tls.ts), and a `close()` that ends every session — gracefully,
 * then by force after a grace period for clients that never let go.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createServerTls, type ServerTls } from './tls.js';

export interface H2Listener {
  server: http2.Http2SecureServer;
  tls: ServerTls;
  /** `https://127.0.0.1:<port>`. */
  origin: string;
  port: number;
  /** Stops listening, closes the sessions (destroys them after 2 s); the same promise on every call. */
  close(): Promise<void>;
}

export async function listenH2(name: string): Promise<H2Listener> {
  const tls = createServerTls(name);
  const server = http2.createSecureServer({ key: tls.server.keyPem, cert: tls.server.certPem });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    server,
    tls,
    origin: `https://127.0.0.1:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.close();
        const timer = setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, 2000);
        timer.unref();
      });
      return closing;
    },
  };
}

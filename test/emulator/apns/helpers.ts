/**
 * Test helpers: a raw node:http2 client and jose-signed provider tokens, so the emulator is
 * checked from outside with nothing of pushline in between.
 */
import {
  type ClientHttp2Session,
  connect,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import type { ApnsEmulator } from '../../../src/emulator/apns/index.js';

export const TOKEN_A = 'a1'.repeat(32);
export const TOKEN_B = 'b2'.repeat(32);

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

export function open(
  emulator: ApnsEmulator,
  tls: { cert?: string; key?: string } = {},
): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(emulator.origin, { ca: emulator.ca, ...tls });
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

export interface JwtOptions {
  iat?: number;
  kid?: string;
  iss?: string;
  key?: string;
  alg?: string;
}

/** Signs a provider token for the emulator's default key unless told otherwise. */
export async function providerToken(emulator: ApnsEmulator, options: JwtOptions = {}): Promise<string> {
  const key = await importPKCS8(options.key ?? emulator.key, 'ES256');
  return new SignJWT({})
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: options.kid ?? emulator.keyId })
    .setIssuer(options.iss ?? emulator.teamId)
    .setIssuedAt(options.iat ?? Math.floor(Date.now() / 1000))
    .sign(key);
}

export interface PushOptions {
  token?: string;
  path?: string;
  method?: string;
  jwt?: string | null;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer | null;
}

export const ALERT = JSON.stringify({ aps: { alert: { title: 'Hi', body: 'there' } } });

/** Sends one request; `jwt: null` omits the authorization header. */
export function push(session: ClientHttp2Session, options: PushOptions = {}): Promise<RawResponse> {
  const headers: OutgoingHttpHeaders = {
    ':method': options.method ?? 'POST',
    ':path': options.path ?? `/3/device/${options.token ?? TOKEN_A}`,
    'apns-topic': 'com.example.app',
    'apns-push-type': 'alert',
    ...(options.jwt ? { authorization: `bearer ${options.jwt}` } : {}),
    ...options.headers,
  };
  for (const [name, value] of Object.entries(headers)) if (value === undefined) delete headers[name];
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let status = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status, headers: responseHeaders, body: text ? JSON.parse(text) : undefined });
    });
    stream.on('error', reject);
    const body = options.body === undefined ? ALERT : options.body;
    stream.end(body ?? undefined);
  });
}

export function close(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve) => {
    if (session.closed || session.destroyed) return resolve();
    session.close(() => resolve());
  });
}

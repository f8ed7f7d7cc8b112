/** An HTTP CONNECT tunnel through a forward proxy (RFC 9110 §9.3.6), as a raw socket. */
import { once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { PushError } from '../errors.js';
import type { Target } from './options.js';

/** Proxy answers that will not change by asking again: bad credentials, forbidden target. */
const PROXY_CONFIG_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 405, 407]);

function authority(target: Target): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${host}:${target.port}`;
}

/** Opens a tunnel to `target` through `proxy`; the socket then carries TLS (or h2c) end to end. */
export async function openTunnel(proxy: URL, target: Target, signal: AbortSignal): Promise<Socket> {
  const path = authority(target);
  const headers: Record<string, string> = { host: path };
  if (proxy.username !== '' || proxy.password !== '') {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const request = http.request({
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: proxy.port === '' ? 80 : Number(proxy.port),
    method: 'CONNECT',
    path,
    headers,
    agent: false,
  });
  request.end();
  let response: IncomingMessage;
  let socket: Socket;
  let head: Buffer;
  try {
    // Node reports every CONNECT answer, 2xx or not, as 'connect'.
    [response, socket, head] = (await once(request, 'connect', { signal })) as [
      IncomingMessage,
      Socket,
      Buffer,
    ];
  } catch (error) {
    request.destroy();
    if (signal.aborted) throw signal.reason;
    throw new PushError('unavailable', `proxy ${proxy.host} unreachable: ${(error as Error).message}`, {
      reason: (error as { code?: string }).code ?? 'proxy-error',
      cause: error,
    });
  }
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) {
    socket.destroy();
    const code = PROXY_CONFIG_STATUSES.has(status) ? 'config' : 'unavailable';
    throw new PushError(
      code,
      `proxy ${proxy.host} refused CONNECT ${path}: ${status} ${response.statusMessage}`,
      {
        reason: `proxy-${status}`,
      },
    );
  }
  if (head.length > 0) socket.unshift(head);
  return socket;
}

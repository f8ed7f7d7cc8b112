/**
 * Opens the byte stream a pool speaks over: TCP (optionally through a CONNECT proxy), then
 * TLS with ALPN for https origins. Every failure comes out as a PushError (`config` for TLS
 * verification / ALPN refusals, `unavailable` otherwise).
 */
import { once } from 'node:events';
import net, { type OnReadOpts, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';
import { PushError } from '../errors.js';
import { connectError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import { openTunnel } from './proxy.js';

/** TLS options for tls.connect / https.Agent from the pool's options. */
export function tlsConnectOptions(options: ResolvedOptions): ConnectionOptions {
  const { tls: t, target } = options;
  const result: ConnectionOptions = { host: target.host, port: target.port };
  if (options.lookup !== undefined) result.lookup = options.lookup;
  if (t.ca !== undefined) result.ca = t.ca;
  if (t.cert !== undefined) result.cert = t.cert;
  if (t.key !== undefined) result.key = t.key;
  if (t.pfx !== undefined) result.pfx = t.pfx;
  if (t.passphrase !== undefined) result.passphrase = t.passphrase;
  if (t.rejectUnauthorized !== undefined) result.rejectUnauthorized = t.rejectUnauthorized;
  // SNI must be a host name (RFC 6066 §3): leave it out for IP literals.
  const servername = t.servername ?? (net.isIP(target.host) === 0 ? target.host : undefined);
  if (servername !== undefined) result.servername = servername;
  return result;
}

/** Builds the secure context up front so a bad key, certificate or passphrase is a `config` error. */
export function secureContext(options: ResolvedOptions): tls.SecureContext {
  const t = options.tls;
  try {
    return tls.createSecureContext({
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      pfx: t.pfx,
      passphrase: t.passphrase,
    });
  } catch (error) {
    throw new PushError('config', `TLS options are unusable: ${(error as Error).message}`, {
      reason: (error as { code?: string }).code ?? 'ERR_TLS_OPTIONS',
      cause: error,
    });
  }
}

/** Resolves `host` with a `net` lookup function to one address (IP literals pass through). */
function resolveWith(lookup: net.LookupFunction, host: string, signal: AbortSignal): Promise<string> {
  if (net.isIP(host) !== 0) return Promise.resolve(host);
  return new Promise<string>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    lookup(host, { all: false }, (error, address) => {
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(typeof address === 'string' ? address : (address as { address: string }[])[0]!.address);
    });
  });
}

export interface Connected {
  socket: Socket | TLSSocket;
  /** The ALPN protocol the server chose (`h2`, `http/1.1`), or `h2c` for cleartext. */
  protocol: string;
  /** True when the socket reads through the `onread` given (not through a CONNECT tunnel). */
  direct: boolean;
}

/**
 * Connects to the pool's target. `alpn` lists the protocols offered, best first; the result
 * must be one of them (a server that picks none is refused with `config`, reason `ALPN`).
 * `signal` cancels (connect timeout, destroy): the socket is destroyed and its reason thrown.
 */
export async function connectSocket(
  options: ResolvedOptions,
  context: tls.SecureContext | undefined,
  alpn: readonly string[],
  signal: AbortSignal,
  onread?: OnReadOpts,
): Promise<Connected> {
  const { target } = options;
  let raw: Socket | undefined;
  let socket: Socket | TLSSocket | undefined;
  try {
    if (options.proxy !== undefined) {
      // With a `lookup` the caller resolves (and vets) the host: the tunnel goes to that address,
      // so the address the proxy connects to is the one the lookup allowed. TLS below still
      // uses the host name (SNI and certificate check).
      const via =
        options.lookup === undefined
          ? target
          : { ...target, host: await resolveWith(options.lookup, target.host, signal) };
      raw = watchClose(await openTunnel(options.proxy, via, signal));
    }
    // `onread` only works on a socket Node opens itself: not on TLS layered over a tunnel.
    const direct = onread !== undefined && raw === undefined;
    if (!target.secure) {
      if (raw === undefined) {
        raw = watchClose(
          net.connect({
            host: target.host,
            port: target.port,
            ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
            ...(direct ? { onread } : {}),
          }),
        );
        await once(raw, 'connect', { signal });
      }
      return { socket: raw, protocol: 'h2c', direct };
    }
    const secure = watchClose(
      tls.connect({
        ...tlsConnectOptions(options),
        secureContext: context,
        ALPNProtocols: [...alpn],
        ...(raw === undefined ? {} : { socket: raw }),
        ...(direct ? { onread } : {}),
      }),
    );
    socket = secure;
    await once(secure, 'secureConnect', { signal });
    const chosen = secure.alpnProtocol;
    // A server without ALPN speaks HTTP/1.1 (RFC 7301 §3.2).
    const protocol = chosen === false || chosen === null ? 'http/1.1' : chosen;
    if (!alpn.includes(protocol)) {
      secure.destroy();
      throw new PushError(
        'config',
        `${target.origin} does not speak ${alpn.join(' or ')} (ALPN chose ${protocol})`,
        { reason: 'ALPN' },
      );
    }
    return { socket: secure, protocol, direct };
  } catch (error) {
    socket?.destroy();
    raw?.destroy();
    if (signal.aborted) throw signal.reason;
    throw connectError(error, target.origin);
  }
}

/**
 * Each socket connectSocket opened → settles on its 'close' event. Watched from creation:
 * `socket.closed` turns true as soon as destroy() is called, before the descriptor is released.
 */
const closeEvents = new WeakMap<Duplex, Promise<void>>();

function watchClose<S extends Duplex>(socket: S): S {
  closeEvents.set(socket, new Promise<void>((resolve) => socket.once('close', () => resolve())));
  return socket;
}

/**
 * Resolves (never rejects) once every socket has emitted 'close': `destroy()` only starts the
 * close, and whoever awaits a pool's destroy wants the file descriptors released.
 */
export async function socketsClosed(sockets: readonly Duplex[]): Promise<void> {
  await Promise.all(sockets.map((socket) => closeEvents.get(socket)));
}

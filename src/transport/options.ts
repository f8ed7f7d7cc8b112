/** Pool option defaults and the parsed form the pools work from. */
import type { LookupFunction } from 'node:net';
import { PushError } from '../errors.js';
import { shownValue } from '../redact.js';
import { publish } from './diagnostics.js';
import type { PoolOptions, TlsOptions, TransportEvent } from './types.js';

/** Where to connect: parsed once from the origin string. */
export interface Target {
  /** `https://host:port` as given, normalised by URL (no trailing slash, default port dropped). */
  origin: string;
  secure: boolean;
  /** Host name as used for TCP, without IPv6 brackets. */
  host: string;
  port: number;
}

export interface ResolvedOptions {
  target: Target;
  /** Most connections: `connections`, else `maxConnections`. */
  connections: number;
  /** A fixed in-flight limit (`concurrency`), or undefined for the adaptive one. */
  concurrency: number | undefined;
  /** Where the adaptive limit starts (and its floor on latency alone). */
  initialConcurrency: number;
  /** Highest adaptive limit. */
  maxConcurrency: number;
  maxQueued: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  maxStreamsPerConnection: number;
  maxHeaderListSize: number;
  maxResponseBodyBytes: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  tls: TlsOptions;
  proxy: URL | undefined;
  protocol: 'h2' | 'http1' | 'auto' | 'h2-wire' | 'auto-wire';
  onEvent: ((event: TransportEvent) => void) | undefined;
  lookup: LookupFunction | undefined;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value > 0)) throw new PushError('config', `transport option ${name} must be a positive number`);
  return value;
}

export function parseTarget(origin: string): Target {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new PushError('config', `transport origin is not a URL: ${origin}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PushError('config', `transport origin must be https:// or http://, got ${origin}`);
  }
  const secure = url.protocol === 'https:';
  return {
    origin: url.origin,
    secure,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
  };
}

const PROTOCOLS: readonly ResolvedOptions['protocol'][] = ['h2', 'http1', 'auto', 'h2-wire', 'auto-wire'];

export function resolveOptions(options: PoolOptions): ResolvedOptions {
  let proxy: URL | undefined;
  if (options.proxy !== undefined) {
    try {
      proxy = new URL(options.proxy);
    } catch {
      throw new PushError('config', `transport proxy is not a URL: ${shownValue(options.proxy)}`);
    }
    if (proxy.protocol !== 'http:') {
      throw new PushError('config', `only http:// CONNECT proxies are supported, got ${proxy.protocol}`);
    }
  }
  const protocol = options.protocol ?? 'h2';
  if (!PROTOCOLS.includes(protocol)) {
    throw new PushError(
      'config',
      `transport protocol must be ${PROTOCOLS.join(', ')}, got ${String(protocol)}`,
    );
  }
  return {
    target: parseTarget(options.origin),
    connections: Math.floor(
      positive('connections', options.connections, positive('maxConnections', options.maxConnections, 16)),
    ),
    concurrency:
      options.concurrency === undefined
        ? undefined
        : Math.floor(positive('concurrency', options.concurrency, 1)),
    initialConcurrency: Math.floor(positive('initialConcurrency', options.initialConcurrency, 1000)),
    maxConcurrency: Math.floor(positive('maxConcurrency', options.maxConcurrency, 10_000)),
    maxQueued: options.maxQueued === undefined ? 10_000 : Math.max(0, Math.floor(options.maxQueued)),
    timeoutMs: positive('timeoutMs', options.timeoutMs, 30_000),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 10_000),
    pingIntervalMs: positive('pingIntervalMs', options.pingIntervalMs, 60_000),
    pingTimeoutMs: positive('pingTimeoutMs', options.pingTimeoutMs, 20_000),
    maxStreamsPerConnection: positive('maxStreamsPerConnection', options.maxStreamsPerConnection, Infinity),
    maxHeaderListSize: Math.floor(positive('maxHeaderListSize', options.maxHeaderListSize, 64 * 1024)),
    maxResponseBodyBytes: Math.floor(
      positive('maxResponseBodyBytes', options.maxResponseBodyBytes, 16 * 1024),
    ),
    backoffBaseMs: positive('backoffBaseMs', options.backoffBaseMs, 250),
    backoffMaxMs: positive('backoffMaxMs', options.backoffMaxMs, 30_000),
    tls: options.tls ?? {},
    proxy,
    protocol,
    onEvent: options.onEvent,
    lookup: options.lookup,
  };
}

/** Delay before connect attempt number `failures + 1`: 0 after none, then exponential with jitter. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
  // "Equal jitter": at least half the delay, so retries neither synchronise nor collapse to zero.
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/**
 * Publishes `event` on its diagnostics channel and calls the pool's own listener; a throwing
 * listener must not break the transport.
 */
export function emit(options: ResolvedOptions, event: TransportEvent): void {
  publish(event);
  if (options.onEvent === undefined) return;
  try {
    options.onEvent(event);
  } catch {
    // Observability must never change behaviour.
  }
}

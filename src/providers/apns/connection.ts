/**
 * What every APNs client (the device sender and the broadcast client) builds from the resolved
 * options: a pool to an APNs host — TLS with the client certificate under certificate auth —
 * and, under token auth, the provider-token cache that signs its requests.
 */
import { createPool } from '../../transport/index.js';
import type { Pool } from '../../transport/types.js';
import type { ResolvedApnsOptions } from './options.js';
import { ProviderTokenCache } from './token-auth.js';

/** A pool to `origin` with the options' transport settings and credentials. */
export function apnsPool(
  options: ResolvedApnsOptions,
  origin: string,
  connections: number | undefined,
): Pool {
  const { auth } = options;
  return createPool({
    origin,
    ...(connections === undefined ? {} : { connections }),
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.proxy === undefined ? {} : { proxy: options.proxy }),
    protocol: options.protocol,
    tls: {
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      ...(auth.kind === 'certificate' ? { cert: auth.material.cert, key: auth.material.key } : {}),
    },
  });
}

/** The provider-token cache of token auth; undefined under certificate auth. */
export function providerTokens(options: ResolvedApnsOptions): ProviderTokenCache | undefined {
  const { auth } = options;
  if (auth.kind !== 'token') return undefined;
  return new ProviderTokenCache({
    teamId: auth.teamId,
    keyId: auth.keyId,
    key: auth.key,
    clock: options.clock,
  });
}

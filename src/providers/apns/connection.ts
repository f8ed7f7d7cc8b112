/**
 * The pool to an APNs host that every APNs client (the device sender and the broadcast client)
 * builds from the resolved options: TLS with the client certificate under certificate auth.
 * Clients do not call it directly: they take a lease on a pool shared by every client of the
 * same credential (shared.ts).
 */
import { createPool } from '../../transport/index.js';
import type { Pool } from '../../transport/types.js';
import type { ResolvedApnsOptions } from './options.js';

/** A new pool to `origin` with the options' transport settings and credentials. */
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

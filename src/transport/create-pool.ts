import { AutoPool } from './auto-pool.js';
import type { H2Client } from './h2-client.js';
import { H2Pool } from './h2-pool.js';
import { Http1Pool } from './http1-pool.js';
import { nodeH2 } from './node-h2.js';
import { type ResolvedOptions, resolveOptions } from './options.js';
import type { Pool, PoolOptions } from './types.js';
import { wireH2 } from './wire-h2.js';

/**
 * The HTTP/2 client a pool protocol names: the only place a protocol string picks a client
 * (`h2-wire` / `auto-wire`: pushline's wire client; `h2` / `auto`: node:http2).
 */
export function clientFor(protocol: ResolvedOptions['protocol']): H2Client {
  return protocol === 'h2-wire' || protocol === 'auto-wire' ? wireH2 : nodeH2;
}

/**
 * Makes a connection pool for one origin. Nothing connects until the first request.
 *
 * @throws PushError `config` for unusable options (bad origin or proxy URL, unreadable TLS key
 *   or certificate, wrong PKCS#12 passphrase).
 *
 * @example
 * const pool = createPool({ origin: 'https://api.push.apple.com', connections: 4 });
 * const res = await pool.request({ path: '/3/device/abcd', headers, body });
 * await pool.close();
 */
export function createPool(options: PoolOptions): Pool {
  const resolved = resolveOptions(options);
  switch (resolved.protocol) {
    case 'http1':
      return new Http1Pool(resolved);
    case 'auto':
    case 'auto-wire':
      return new AutoPool(resolved, clientFor(resolved.protocol));
    default:
      return new H2Pool(resolved, clientFor(resolved.protocol));
  }
}

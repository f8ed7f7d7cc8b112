import { AutoPool } from './auto-pool.js';
import { H2Pool } from './h2-pool.js';
import { Http1Pool } from './http1-pool.js';
import { resolveOptions } from './options.js';
import type { Pool, PoolOptions } from './types.js';

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
      return new AutoPool(resolved);
    default:
      return new H2Pool(resolved);
  }
}

/**
 * The HTTP/2 (and HTTP/1.1) connection pools every provider sends through.
 * See `types.ts` for the contract.
 */
export { createPool } from './create-pool.js';
export type { RequestEndEvent } from './diagnostics.js';
export { type Http2Client, http2Protocol } from './http2-client.js';
export { PoolRegistry } from './registry.js';
export type {
  BodyWriter,
  GoawayInfo,
  Pool,
  PoolOptions,
  PoolRegistryOptions,
  PoolStats,
  RequestBody,
  ResponseSink,
  TlsOptions,
  TransportEvent,
  TransportRequest,
  TransportResponse,
} from './types.js';

/**
 * The provider option that picks the HTTP/2 client (`transport: 'wire' | 'node-http2'`), mapped
 * to the pool's protocol in one place so every provider reads and refuses it alike.
 */
import { PushError } from '../errors.js';

/**
 * `'wire'` (default): pushline's own HTTP/2 framing and HPACK (src/transport/wire/), about a
 * fifth of node:http2's CPU per request. `'node-http2'`: Node's own client, kept as a fallback.
 */
export type Http2Client = 'wire' | 'node-http2';

export function http2Protocol(provider: string, transport: Http2Client | undefined): 'h2' | 'h2-wire' {
  if (transport === undefined || transport === 'wire') return 'h2-wire';
  if (transport === 'node-http2') return 'h2';
  throw new PushError(
    'config',
    `${provider}: \`transport\` must be 'wire' or 'node-http2', got ${JSON.stringify(transport)}`,
    { provider },
  );
}

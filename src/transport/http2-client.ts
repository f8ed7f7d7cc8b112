/**
 * The provider option that picks the HTTP/2 client (`transport: 'node-http2' | 'wire'`), mapped
 * to the pool's protocol in one place so every provider reads and refuses it alike.
 */
import { PushError } from '../errors.js';

/** `'node-http2'`: Node's own client (default). `'wire'`: pushline's own framing (src/transport/wire/). */
export type Http2Client = 'node-http2' | 'wire';

export function http2Protocol(provider: string, transport: Http2Client | undefined): 'h2' | 'h2-wire' {
  if (transport === undefined || transport === 'node-http2') return 'h2';
  if (transport === 'wire') return 'h2-wire';
  throw new PushError(
    'config',
    `${provider}: \`transport\` must be 'node-http2' or 'wire', got ${JSON.stringify(transport)}`,
    { provider },
  );
}

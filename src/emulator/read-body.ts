/**
 * A request body read whole by an emulator, up to a limit: what a real service does before it
 * parses. A body over the limit, or a request that breaks off, resolves `undefined` (the
 * emulator answers it as its service would: 413 or nothing), never rejects.
 */
import type http2 from 'node:http2';
import type { ServerHttp2Stream } from 'node:http2';

export function readBody(req: http2.Http2ServerRequest, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks)));
    req.on('error', () => resolve(undefined));
  });
}

/**
 * The same for the core HTTP/2 API (a stream, not a request): the body up to `limit` bytes; a
 * longer one resolves to `limit + 1` zero bytes, so its size is reported truthfully (413)
 * without holding what was sent. A stream that breaks off rejects.
 */
export function readStreamBody(stream: ServerHttp2Stream, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (kept <= limit) {
        chunks.push(chunk);
        kept += chunk.length;
      }
    });
    stream.once('end', () => resolve(total > kept ? Buffer.alloc(limit + 1) : Buffer.concat(chunks)));
    stream.once('error', reject);
    stream.once('close', () => reject(new Error('stream closed before its end')));
  });
}

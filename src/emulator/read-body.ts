/**
 * A request body read whole by an emulator, up to a limit: what a real service does before it
 * parses. A body over the limit, or a request that breaks off, resolves `undefined` (the
 * emulator answers it as its service would: 413 or nothing), never rejects.
 */
import type http2 from 'node:http2';

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

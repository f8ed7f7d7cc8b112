/**
 * A push service that streams a response body without end (issue #11): only the first
 * `maxResponseBodyBytes` are kept, the rest is read and dropped, so memory stays flat however
 * long the server goes on; the request ends when the server ends it, or at its timeout.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createPool } from '../../../src/transport/index.js';
import { H2_PROTOCOLS, startH2Server } from '../helpers.js';

/** 20 MB of body in 64 KB writes, then the end: far over the limit, well within the timeout. */
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const CHUNKS = 320;

/** Writes the 20 MB as fast as the client reads it, then ends the response. */
function writeLongBody(out: NodeJS.WritableStream): void {
  let sent = 0;
  const pump = (): void => {
    while (sent < CHUNKS) {
      sent++;
      if (!out.write(CHUNK)) {
        out.once('drain', pump);
        return;
      }
    }
    out.end();
  };
  pump();
}

for (const protocol of H2_PROTOCOLS) {
  test(`an oversized response body is cut at maxResponseBodyBytes (${protocol})`, async (t) => {
    const server = await startH2Server((stream) => {
      stream.respond({ ':status': 201 });
      writeLongBody(stream);
    });
    t.after(() => server.close());
    const pool = createPool({
      origin: server.origin,
      protocol,
      tls: { ca: server.ca },
      maxResponseBodyBytes: 1000,
    });
    t.after(() => pool.destroy());
    const responses = await Promise.all([1, 2, 3].map(() => pool.request({ path: '/', body: 'x' })));
    for (const response of responses) {
      assert.equal(response.status, 201);
      assert.equal(response.body.length, 1000);
      assert.ok(response.body.equals(CHUNK.subarray(0, 1000)));
    }
  });
}

test('an oversized response body is cut at maxResponseBodyBytes (http1), and the default keeps 16 KiB', async (t) => {
  const server = http.createServer((_request, response) => {
    response.writeHead(201);
    writeLongBody(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tight = createPool({ origin, protocol: 'http1', maxResponseBodyBytes: 1000 });
  const roomy = createPool({ origin, protocol: 'http1' });
  t.after(() => {
    tight.destroy();
    roomy.destroy();
  });
  const cut = await tight.request({ path: '/', body: 'x' });
  assert.equal(cut.status, 201);
  assert.equal(cut.body.length, 1000);
  assert.equal((await roomy.request({ path: '/', body: 'x' })).body.length, 16 * 1024);
});

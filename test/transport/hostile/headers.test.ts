/**
 * Servers that attack the client through response headers (issue #11): a header bomb (a few
 * hundred KB of HPACK that decodes to more than V8 can hold), an endless run of CONTINUATION
 * frames (the CVE-2024-27316 pattern), and a flood of empty ones. Each must cost the client
 * one connection and a bounded amount of memory — never the process — and the request on it
 * must fail like any lost connection's, on every HTTP/2 client the pool offers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PushError } from '../../../src/errors.js';
import { createPool } from '../../../src/transport/index.js';
import * as F from '../../../src/transport/wire/frames.js';
import { H2_PROTOCOLS } from '../helpers.js';
import { flood, frame, type HostileServer, startHostileServer } from './frame-server.js';

/** A literal with incremental indexing (§6.2.1): name `x-bomb`, a 4,000-byte value. */
function bombEntry(): Buffer {
  const name = Buffer.from('x-bomb');
  const value = Buffer.alloc(4000, 'a');
  return Buffer.concat([
    Buffer.from([0x40, name.length]),
    name,
    Buffer.from([
      0x7f,
      4000 - 127 - 128 * Math.floor((4000 - 127) / 128) + 128,
      Math.floor((4000 - 127) / 128),
    ]),
    value,
  ]);
}

async function failure(promise: Promise<unknown>): Promise<PushError> {
  try {
    await promise;
  } catch (error) {
    return error as PushError;
  }
  assert.fail('the request should have failed');
}

for (const protocol of H2_PROTOCOLS) {
  describe(`hostile response headers (${protocol})`, () => {
    async function withServer(
      answer: Parameters<typeof startHostileServer>[0],
      run: (server: HostileServer) => Promise<void>,
    ): Promise<void> {
      const server = await startHostileServer(answer);
      try {
        await run(server);
      } finally {
        await server.close();
      }
    }

    test('a header bomb costs the connection, not the process', async () => {
      let flooded: Promise<number> = Promise.resolve(0);
      await withServer(
        (conn, id) => {
          // `:status: 200`, one 4 KB table entry, then ~160,000 one-byte references to it
          // (~650 MB decoded, past V8's string limit) in CONTINUATION frames of 16 KB.
          conn.write(frame(F.HEADERS, 0, id, Buffer.concat([Buffer.from([0x88]), bombEntry()])));
          const refs = Buffer.alloc(16_384, 0xbe);
          let frames = 0;
          flooded = flood(
            conn,
            () => frame(F.CONTINUATION, ++frames === 10 ? F.FLAG_END_HEADERS : 0, id, refs),
            10 * (refs.length + 9),
          );
        },
        async (server) => {
          const pool = createPool({ origin: server.origin, protocol, timeoutMs: 10_000, connections: 1 });
          try {
            const error = await failure(pool.request({ path: '/', body: 'x' }));
            assert.equal(error.code, 'unavailable', error.message);
            assert.equal(error.retryable, true);
          } finally {
            pool.destroy();
          }
          await flooded;
          assert.equal(server.requests, 1);
        },
      );
    });

    /**
     * After one HEADERS without END_HEADERS, the server floods `next()` frames until the client
     * hangs up (or `maxBytes` went out). The request must fail like any lost connection's, and
     * the flood must stop early: what the client read before it hung up, plus what loopback
     * socket buffers hold, is a few MB at most; unbounded, the flood runs to its cap.
     */
    async function continuationFlood(next: (id: number) => () => Buffer, maxBytes: number): Promise<void> {
      let flooded: Promise<number> = Promise.resolve(0);
      await withServer(
        (conn, id) => {
          conn.write(frame(F.HEADERS, 0, id, Buffer.from([0x88])));
          flooded = flood(conn, next(id), maxBytes);
        },
        async (server) => {
          const pool = createPool({ origin: server.origin, protocol, timeoutMs: 20_000, connections: 1 });
          try {
            const error = await failure(pool.request({ path: '/', body: 'x' }));
            assert.equal(error.code, 'unavailable', error.message);
          } finally {
            pool.destroy();
          }
          const sent = await flooded;
          // Not vacuous: the flood did start (a request that failed before it would pass the bound).
          assert.ok(sent > 0, 'the server never got to flood the connection');
          assert.ok(sent < 32 * 1024 * 1024, `the server got ${sent} bytes of CONTINUATION frames in`);
        },
      );
    }

    test('an endless run of CONTINUATION frames is cut off after a bounded amount', async () => {
      // Literal fields without indexing, each a fresh 16 KB of header data, forever.
      const fragment = Buffer.alloc(16_000, 0x61);
      await continuationFlood((id) => () => frame(F.CONTINUATION, 0, id, fragment), 300 * 1024 * 1024);
    });

    test('a flood of empty CONTINUATION frames is cut off', async () => {
      await continuationFlood(
        (id) => {
          const batch = Buffer.concat(Array.from({ length: 1000 }, () => frame(F.CONTINUATION, 0, id)));
          return () => batch;
        },
        100 * 1024 * 1024,
      );
    });

    test('a response header list over maxHeaderListSize ends the connection; under it, the response arrives', async () => {
      const big = 'v'.repeat(3000);
      await withServer(
        (conn, id) => {
          conn.write(
            frame(
              F.HEADERS,
              F.FLAG_END_HEADERS | F.FLAG_END_STREAM,
              id,
              conn.block([
                [':status', '200'],
                ['x-big', big],
              ]),
            ),
          );
        },
        async (server) => {
          const roomy = createPool({ origin: server.origin, protocol, maxHeaderListSize: 8192 });
          const tight = createPool({ origin: server.origin, protocol, maxHeaderListSize: 2048 });
          try {
            const response = await roomy.request({ path: '/', body: 'x' });
            assert.equal(response.status, 200);
            assert.equal(response.headers['x-big'], big);
            const error = await failure(tight.request({ path: '/', body: 'x' }));
            assert.equal(error.code, 'unavailable', error.message);
          } finally {
            roomy.destroy();
            tight.destroy();
          }
        },
      );
    });
  });
}

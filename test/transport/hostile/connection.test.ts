/**
 * Servers that break the connection rather than a response (issue #11): a frame larger than
 * SETTINGS_MAX_FRAME_SIZE, after which the client must end the connection — node:http2 sends
 * its GOAWAY but keeps the session open and its streams silent. Every request on it must get
 * its one outcome, and the pool must move to a fresh connection instead of sending the retries
 * into the dead one, on every HTTP/2 client the pool offers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PushError } from '../../../src/errors.js';
import { createPool } from '../../../src/transport/index.js';
import * as F from '../../../src/transport/wire/frames.js';
import { H2_PROTOCOLS } from '../helpers.js';
import { frame, startHostileServer } from './frame-server.js';

for (const protocol of H2_PROTOCOLS) {
  describe(`a connection the server breaks (${protocol})`, () => {
    test('an oversized frame fails what is in flight, and the next requests go on a new connection', async (t) => {
      const server = await startHostileServer((conn, id) => {
        if (server.connections.indexOf(conn) === 0) {
          // 20,000 bytes of DATA: over the 16,384 every client starts with (RFC 9113 §4.2).
          conn.write(frame(F.HEADERS, F.FLAG_END_HEADERS, id, Buffer.from([0x88])));
          conn.write(frame(F.DATA, F.FLAG_END_STREAM, id, Buffer.alloc(20_000)));
        } else {
          conn.write(frame(F.HEADERS, F.FLAG_END_HEADERS | F.FLAG_END_STREAM, id, Buffer.from([0x88])));
        }
      });
      t.after(() => server.close());
      const pool = createPool({
        origin: server.origin,
        protocol,
        connections: 1,
        timeoutMs: 1500,
        pingTimeoutMs: 500,
      });
      t.after(() => pool.destroy());
      const first = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => pool.request({ path: '/', body: `${i}` })),
      );
      for (const result of first) {
        assert.equal(result.status, 'rejected');
        assert.ok(['unavailable', 'timeout'].includes((result.reason as PushError).code));
      }
      // Retries, as the engine would make them: within a few timeouts one must reach a new
      // connection. Sent into the broken session forever, each would time out.
      const deadline = Date.now() + 8000;
      let answered = 0;
      while (answered === 0 && Date.now() < deadline) {
        const retry = await Promise.allSettled(
          Array.from({ length: 5 }, (_, i) => pool.request({ path: '/', body: `retry ${i}` })),
        );
        answered = retry.filter((r) => r.status === 'fulfilled').length;
      }
      assert.ok(answered > 0, 'no retry reached a working connection');
      assert.ok(server.connections.length >= 2);
      // The client ended the broken connection with FRAME_SIZE_ERROR (RFC 9113 §4.2).
      assert.equal(server.connections[0]!.goawayCode, F.FRAME_SIZE_ERROR);
    });
  });
}

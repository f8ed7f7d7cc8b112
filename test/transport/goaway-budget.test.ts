/**
 * A server that answers a fixed number of requests per connection, then GOAWAYs (nginx's
 * keepalive_requests, found by the conformance suite): the requests it leaves unprocessed
 * above last-stream-id are re-sent oldest first, so every request gets through.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { describe, test } from 'node:test';
import { createPool } from '../../src/transport/index.js';
import { H2_PROTOCOLS, startH2Server } from './helpers.js';

// nginx's figures in the conformance suite: 128 concurrent streams, GOAWAY after 50 requests.
const BUDGET = 50;
const MAX_STREAMS = 128;

for (const protocol of H2_PROTOCOLS) {
  describe(`requests-per-connection budget (${protocol})`, () => {
    test('every request answered exactly once although each connection answers only 50 of its 128 streams', async () => {
      const processed = new Map<string, number>();
      const served = new WeakMap<http2.Http2Session, number>();
      const server = await startH2Server(
        (stream, body) => {
          const session = stream.session!;
          const n = (served.get(session) ?? 0) + 1;
          served.set(session, n);
          if (n > BUDGET) return; // above the GOAWAY's last-stream-id: ignored, as nginx does
          processed.set(body.toString(), (processed.get(body.toString()) ?? 0) + 1);
          stream.respond({ ':status': 200 });
          stream.end(body);
          if (n === BUDGET) {
            session.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id!);
            setImmediate(() => session.close());
          }
        },
        { settings: { maxConcurrentStreams: MAX_STREAMS } },
      );
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 1 });
      try {
        const bodies = Array.from({ length: 1000 }, (_, i) => `r${i}`);
        const settled = await Promise.allSettled(bodies.map((body) => pool.request({ path: '/', body })));
        const failed = settled.filter((s) => s.status === 'rejected').length;
        assert.equal(failed, 0, 'requests that ran out of re-sends');
        assert.equal(processed.size, bodies.length);
        assert.ok(
          [...processed.values()].every((n) => n === 1),
          'a request processed twice',
        );
      } finally {
        pool.destroy();
        await server.close();
      }
    });
  });
}

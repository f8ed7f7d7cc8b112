/**
 * Servers that break the connection rather than a response (issue #11): frames RFC 9113 says a
 * client must answer with a connection error — PUSH_PROMISE with push disabled, DATA on stream
 * 0, HEADERS on an idle stream, a PING of the wrong size, a frame over SETTINGS_MAX_FRAME_SIZE,
 * a broken header block, a window overflow, another frame in the middle of a header block. The
 * client must end the connection with GOAWAY and the right code; every request on it gets its
 * one outcome; and the next requests go on a fresh connection instead of into the dead one —
 * node:http2 sends its GOAWAY but may keep the session open and its streams silent, which the
 * pool finds out with a PING after the first timeout. Every case runs on both HTTP/2 clients.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PushError } from '../../../src/errors.js';
import { createPool } from '../../../src/transport/index.js';
import * as F from '../../../src/transport/wire/frames.js';
import { H2_PROTOCOLS } from '../helpers.js';
import { frame, startHostileServer } from './frame-server.js';

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

/** What the first connection's server sends in answer to a request on stream `id`, and the code the client must use. */
const VIOLATIONS: Array<[string, (id: number) => Buffer, number]> = [
  [
    'PUSH_PROMISE with push disabled',
    (id) => frame(F.PUSH_PROMISE, F.FLAG_END_HEADERS, id, Buffer.concat([u32(2), Buffer.of(0x82)])),
    F.PROTOCOL_ERROR,
  ],
  ['DATA on stream 0', () => frame(F.DATA, 0, 0, Buffer.from('x')), F.PROTOCOL_ERROR],
  [
    'HEADERS on an idle stream',
    () => frame(F.HEADERS, F.FLAG_END_HEADERS, 41, Buffer.of(0x88)),
    F.PROTOCOL_ERROR,
  ],
  ['a PING of the wrong size', () => frame(F.PING, 0, 0, Buffer.alloc(7)), F.FRAME_SIZE_ERROR],
  [
    'a frame over SETTINGS_MAX_FRAME_SIZE',
    (id) =>
      Buffer.concat([
        frame(F.HEADERS, F.FLAG_END_HEADERS, id, Buffer.of(0x88)),
        frame(F.DATA, F.FLAG_END_STREAM, id, Buffer.alloc(20_000)),
      ]),
    F.FRAME_SIZE_ERROR,
  ],
  [
    'a broken header block',
    (id) => frame(F.HEADERS, F.FLAG_END_HEADERS, id, Buffer.of(0xbf)),
    F.COMPRESSION_ERROR,
  ],
  [
    'a connection window overflow',
    () => frame(F.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1)),
    F.FLOW_CONTROL_ERROR,
  ],
  [
    'another frame in the middle of a header block',
    (id) => Buffer.concat([frame(F.HEADERS, 0, id, Buffer.of(0x88)), frame(F.PING, 0, 0, Buffer.alloc(8))]),
    F.PROTOCOL_ERROR,
  ],
];

for (const protocol of H2_PROTOCOLS) {
  describe(`a connection the server breaks (${protocol})`, () => {
    for (const [label, violation, code] of VIOLATIONS) {
      test(`${label}: GOAWAY with the right code, one outcome per request, then a new connection`, async (t) => {
        const server = await startHostileServer((conn, id) => {
          if (server.connections.indexOf(conn) === 0) conn.write(violation(id));
          else conn.write(frame(F.HEADERS, F.FLAG_END_HEADERS | F.FLAG_END_STREAM, id, Buffer.from([0x88])));
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
          Array.from({ length: 10 }, (_, i) => pool.request({ path: '/', body: `${i}` })),
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
        // The wire client uses the code RFC 9113 names. node:http2 (nghttp2 under Node's callbacks)
        // says INTERNAL_ERROR for some of them (PUSH_PROMISE, idle-stream HEADERS, window
        // overflow): still a GOAWAY that ends the connection, with a vaguer code.
        const sent = server.connections[0]!.goawayCode;
        if (protocol === 'h2-wire') assert.equal(sent, code, `GOAWAY code for ${label}`);
        else assert.ok(sent === code || sent === F.INTERNAL_ERROR, `GOAWAY code ${sent} for ${label}`);
      });
    }
  });
}

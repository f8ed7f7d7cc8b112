/**
 * The wire reader gets the server's bytes in whatever pieces TCP and TLS make of them: a frame
 * header split in two, ten frames in one chunk, one byte at a time. Property: for any server
 * byte stream (HPACK with indexing, padding, CONTINUATION, DATA in pieces, PING, trailers) and
 * any chunking of it, the session reports exactly the same responses as when fed all at once.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http2';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import * as F from '../../../src/transport/wire/frames.js';
import { ByteWriter, HpackEncoder } from '../../../src/transport/wire/hpack-encoder.js';
import { WireSession } from '../../../src/transport/wire/session.js';
import type { WireStream } from '../../../src/transport/wire/stream.js';

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  F.writeFrameHeader(header, 0, payload.length, type, flags, id);
  return Buffer.concat([header, payload]);
}

function padded(payload: Buffer, pad: number): Buffer {
  return Buffer.concat([Buffer.from([pad]), payload, Buffer.alloc(pad)]);
}

/** A socket stand-in: what the session writes is dropped; the test hands it the server's bytes. */
function fakeSocket(): Duplex & { setNoDelay(): void } {
  const socket = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  }) as Duplex & { setNoDelay(): void };
  socket.setNoDelay = () => {};
  return socket;
}

interface Response {
  spec: { status: number; headers: Array<[string, string]>; body: Buffer; parts: number; pad: number };
  split: boolean;
  trailers: boolean;
}

const response: fc.Arbitrary<Response> = fc.record({
  spec: fc.record({
    status: fc.constantFrom(200, 201, 400, 410, 503),
    headers: fc.array(
      fc.tuple(
        fc.constantFrom('apns-id', 'x-a', 'content-type', 'retry-after'),
        fc.string({ maxLength: 40 }),
      ),
      { maxLength: 4 },
    ),
    body: fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
    parts: fc.integer({ min: 1, max: 4 }),
    pad: fc.integer({ min: 0, max: 20 }),
  }),
  split: fc.boolean(),
  trailers: fc.boolean(),
});

/** The server's bytes for streams 1, 3, 5, … answering `responses` in order. */
function serverBytes(responses: Response[]): Buffer {
  const encoder = new HpackEncoder();
  const block = (fields: Array<[string, string]>): Buffer => {
    const w = new ByteWriter();
    encoder.beginBlock(w);
    for (const [name, value] of fields) encoder.field(w, name, value, 'incremental');
    return w.take();
  };
  const out: Buffer[] = [frame(F.SETTINGS, 0, 0), frame(F.SETTINGS, F.FLAG_ACK, 0)];
  responses.forEach(({ spec, split, trailers }, i) => {
    const id = 1 + 2 * i;
    const fields: Array<[string, string]> = [[':status', String(spec.status)], ...spec.headers];
    const headerBlock = block(fields);
    const endStream = spec.body.length === 0 && !trailers ? F.FLAG_END_STREAM : 0;
    if (split && headerBlock.length > 1) {
      const cut = Math.floor(headerBlock.length / 2);
      out.push(frame(F.HEADERS, endStream, id, headerBlock.subarray(0, cut)));
      out.push(frame(F.CONTINUATION, F.FLAG_END_HEADERS, id, headerBlock.subarray(cut)));
    } else {
      out.push(
        frame(F.HEADERS, endStream | F.FLAG_END_HEADERS | F.FLAG_PADDED, id, padded(headerBlock, spec.pad)),
      );
    }
    out.push(frame(F.PING, 0, 0, Buffer.alloc(8, i)));
    const size = Math.ceil(spec.body.length / spec.parts);
    for (let at = 0; at < spec.body.length; at += size) {
      const last = at + size >= spec.body.length && !trailers;
      const piece = spec.body.subarray(at, at + size);
      out.push(frame(F.DATA, (last ? F.FLAG_END_STREAM : 0) | F.FLAG_PADDED, id, padded(piece, spec.pad)));
    }
    if (trailers)
      out.push(frame(F.HEADERS, F.FLAG_END_HEADERS | F.FLAG_END_STREAM, id, block([['x-trailer', 'ok']])));
  });
  return Buffer.concat(out);
}

/** Feeds `bytes` to a fresh session in the given chunk sizes; returns what each stream got. */
function run(count: number, bytes: Buffer, cuts: number[]): string[] {
  const socket = fakeSocket();
  const seen = new Map<
    WireStream,
    { headers?: IncomingHttpHeaders; body: Buffer[]; ended: boolean; error?: string }
  >();
  const entry = (stream: WireStream) => {
    let e = seen.get(stream);
    if (e === undefined) {
      e = { body: [], ended: false };
      seen.set(stream, e);
    }
    return e;
  };
  const session = new WireSession(socket as never, {
    authority: 'push.example',
    scheme: 'https',
    handlers: {
      response: (stream, headers) => {
        entry(stream).headers = headers;
      },
      data: (stream, chunk) => {
        entry(stream).body.push(chunk);
      },
      end: (stream) => {
        entry(stream).ended = true;
      },
      error: (stream, error) => {
        entry(stream).error = error.message;
      },
      close: () => {},
    },
  });
  const streams = Array.from({ length: count }, () =>
    session.request('POST', '/3/device/x', { a: 'b' }, 'body'),
  );
  let at = 0;
  for (const cut of cuts) {
    if (at >= bytes.length) break;
    socket.emit('data', bytes.subarray(at, at + cut));
    at += cut;
  }
  if (at < bytes.length) socket.emit('data', bytes.subarray(at));
  const result = streams.map((stream) => {
    const e = seen.get(stream);
    if (e === undefined) return 'nothing';
    const headers = e.headers === undefined ? null : { ...e.headers };
    return JSON.stringify({
      headers,
      body: Buffer.concat(e.body).toString('hex'),
      ended: e.ended,
      error: e.error,
    });
  });
  session.destroy();
  return result;
}

test('the wire reader reports the same responses for any chunking of the same bytes', () => {
  fc.assert(
    fc.property(
      fc.array(response, { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 200 }),
      (responses, cuts) => {
        const bytes = serverBytes(responses);
        const whole = run(responses.length, bytes, [bytes.length]);
        assert.equal(whole.length, responses.length, 'one reported response per response sent');
        // Every response arrived complete when fed whole, with the body sent.
        whole.forEach((line, i) => {
          const parsed = JSON.parse(line) as {
            headers: Record<string, unknown>;
            body: string;
            ended: boolean;
          };
          assert.equal(parsed.ended, true, line);
          assert.equal(parsed.headers[':status'], responses[i]!.spec.status);
          assert.equal(parsed.body, responses[i]!.spec.body.toString('hex'));
        });
        assert.deepEqual(run(responses.length, bytes, cuts), whole);
        assert.deepEqual(run(responses.length, bytes, Array(bytes.length).fill(1)), whole);
      },
    ),
    { numRuns: 150 },
  );
});

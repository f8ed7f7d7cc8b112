/**
 * WireSession against a hand-written HTTP/2 server on a plain TCP socket, to send frames
 * node's server never does: CONTINUATION, padding, 1xx responses, trailers, settings changes
 * and protocol violations that must end the connection with GOAWAY.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WireError } from '../../../src/transport/wire/errors.js';
import * as F from '../../../src/transport/wire/frames.js';
import { HpackDecoder } from '../../../src/transport/wire/hpack-decoder.js';
import { ByteWriter, HpackEncoder } from '../../../src/transport/wire/hpack-encoder.js';
import { WireSession } from '../../../src/transport/wire/session.js';
import type { WireStream } from '../../../src/transport/wire/stream.js';

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  F.writeFrameHeader(header, 0, payload.length, type, flags, id);
  return Buffer.concat([header, payload]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    b.writeUInt32BE(v, i * 4);
  });
  return b;
}

function settings(pairs: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([k, v], i) => {
    b.writeUInt16BE(k, i * 6);
    b.writeUInt32BE(v, i * 6 + 2);
  });
  return b;
}

/** One accepted connection: parses the client's frames and lets the test answer by hand. */
class Peer {
  readonly frames: Frame[] = [];
  readonly requests: Array<{ id: number; headers: Array<[string, string]> }> = [];
  readonly encoder = new HpackEncoder();
  private readonly decoder = new HpackDecoder();
  private buf = Buffer.alloc(0);
  private prefaceSeen = false;
  private waiters: Array<() => void> = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (!this.prefaceSeen) {
      if (this.buf.length < F.PREFACE.length) return;
      assert.ok(this.buf.subarray(0, F.PREFACE.length).equals(F.PREFACE), 'client preface');
      this.buf = this.buf.subarray(F.PREFACE.length);
      this.prefaceSeen = true;
    }
    while (this.buf.length >= 9) {
      const length = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + length) break;
      const f: Frame = {
        type: this.buf[3]!,
        flags: this.buf[4]!,
        id: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: this.buf.subarray(9, 9 + length),
      };
      this.buf = this.buf.subarray(9 + length);
      this.frames.push(f);
      if (f.type === F.HEADERS) {
        const headers: Array<[string, string]> = [];
        this.decoder.decode(f.payload, 0, f.payload.length, (n, v) => headers.push([n, v]));
        this.requests.push({ id: f.id, headers });
      }
    }
    for (const w of this.waiters.splice(0)) w();
  }

  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  send(...buffers: Buffer[]): void {
    this.socket.write(Buffer.concat(buffers));
  }

  block(fields: Array<[string, string]>): Buffer {
    const w = new ByteWriter();
    this.encoder.beginBlock(w);
    for (const [n, v] of fields) this.encoder.field(w, n, v, 'incremental');
    return w.take();
  }

  framesOf(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }
}

interface Result {
  headers: IncomingHttpHeaders | null;
  body: string;
  error: Error | null;
  rstCode: number | undefined;
  ended: boolean;
}

describe('WireSession frame handling (hand-written server)', () => {
  let server: net.Server;
  let port: number;
  const peers: Peer[] = [];
  before(async () => {
    server = net.createServer((socket) => peers.push(new Peer(socket)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const peer of peers) peer.socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function connect(serverSettings: Array<[number, number]> = []) {
    const before = peers.length;
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const results = new Map<WireStream, Result>();
    const closed = new Map<WireStream, () => void>();
    const result = (s: WireStream): Result => {
      let r = results.get(s);
      if (r === undefined) {
        r = { headers: null, body: '', error: null, rstCode: undefined, ended: false };
        results.set(s, r);
      }
      return r;
    };
    const session = new WireSession(socket, {
      authority: `127.0.0.1:${port}`,
      scheme: 'http',
      handlers: {
        response: (s, h) => {
          result(s).headers = h;
        },
        data: (s, c) => {
          result(s).body += c.toString();
        },
        end: (s) => {
          result(s).ended = true;
        },
        error: (s, e) => {
          result(s).error = e;
        },
        close: (s) => {
          result(s).rstCode = s.rstCode;
          closed.get(s)?.();
        },
      },
    });
    const errors: Error[] = [];
    session.on('error', (e: Error) => errors.push(e));
    await new Promise<void>((resolve) => {
      const check = () => (peers.length > before ? resolve() : setTimeout(check, 2));
      check();
    });
    const peer = peers.at(-1)!;
    peer.send(frame(F.SETTINGS, 0, 0, settings(serverSettings)));
    await once(session, 'remoteSettings');
    const request = (path: string, body?: string, headers?: Record<string, string>) => {
      const stream = session.request('POST', path, headers, body);
      const done = new Promise<Result>((resolve) => closed.set(stream, () => resolve(result(stream))));
      return { stream, done };
    };
    return { session, peer, request, errors };
  }

  it('sends the preface, SETTINGS (push off, big window), a connection WINDOW_UPDATE and acks SETTINGS', async () => {
    const { session, peer } = await connect([[F.SETTINGS_MAX_CONCURRENT_STREAMS, 7]]);
    await peer.until(() => peer.framesOf(F.SETTINGS).length >= 2);
    const [ours, ack] = peer.framesOf(F.SETTINGS);
    assert.equal(ours!.flags, 0);
    assert.equal(ours!.payload.readUInt16BE(0), F.SETTINGS_ENABLE_PUSH);
    assert.equal(ours!.payload.readUInt32BE(2), 0);
    assert.equal(ours!.payload.readUInt16BE(6), F.SETTINGS_INITIAL_WINDOW_SIZE);
    assert.ok(ours!.payload.readUInt32BE(8) >= 1 << 20);
    assert.equal(ack!.flags, F.FLAG_ACK);
    const [update] = peer.framesOf(F.WINDOW_UPDATE);
    assert.equal(update!.id, 0);
    assert.ok(update!.payload.readUInt32BE(0) > 1 << 20);
    assert.equal(session.remoteSettings.maxConcurrentStreams, 7);
    session.destroy();
  });

  it('encodes requests with odd stream ids and indexes repeated headers (≈1 byte each)', async () => {
    const { session, peer, request } = await connect();
    const headers = { 'apns-topic': 'com.example.app', authorization: `bearer ${'t'.repeat(200)}` };
    request('/3/device/aa', 'x', headers);
    request('/3/device/bb', 'y', headers);
    await peer.until(() => peer.requests.length === 2);
    assert.deepEqual(
      peer.requests.map((r) => r.id),
      [1, 3],
    );
    assert.deepEqual(peer.requests[1]!.headers, [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':authority', `127.0.0.1:${port}`],
      [':path', '/3/device/bb'],
      ['apns-topic', 'com.example.app'],
      ['authorization', `bearer ${'t'.repeat(200)}`],
    ]);
    const [first, second] = peer.framesOf(F.HEADERS);
    // Second block: 3 indexed pseudo-headers + `:path` literal (2 + 12) + 2 indexed fields.
    assert.equal(second!.payload.length, 3 + 2 + '/3/device/bb'.length + 2);
    assert.ok(first!.payload.length > 250);
    const data = peer.framesOf(F.DATA);
    assert.deepEqual(
      data.map((f) => [f.id, f.flags, f.payload.toString()]),
      [
        [1, F.FLAG_END_STREAM, 'x'],
        [3, F.FLAG_END_STREAM, 'y'],
      ],
    );
    session.destroy();
  });

  it('reads HEADERS + CONTINUATION, padded HEADERS and DATA, 1xx, trailers', async () => {
    const { session, peer, request } = await connect();
    const a = request('/a');
    const b = request('/b');
    await peer.until(() => peer.requests.length === 2);
    // Stream 1: 100 Continue, then a final response split over HEADERS + 2 CONTINUATIONs.
    peer.send(frame(F.HEADERS, F.FLAG_END_HEADERS, 1, peer.block([[':status', '100']])));
    const block = peer.block([
      [':status', '200'],
      ['apns-id', 'abc-123'],
      ['x-long', 'v'.repeat(100)],
    ]);
    peer.send(
      frame(F.HEADERS, 0, 1, block.subarray(0, 10)),
      frame(F.CONTINUATION, 0, 1, block.subarray(10, 30)),
      frame(F.CONTINUATION, F.FLAG_END_HEADERS, 1, block.subarray(30)),
      // Padded DATA: pad length 3, then "hello", then 3 octets of padding.
      frame(F.DATA, F.FLAG_PADDED, 1, Buffer.concat([Buffer.of(3), Buffer.from('hello'), Buffer.alloc(3)])),
      // Trailers end the stream.
      frame(F.HEADERS, F.FLAG_END_HEADERS | F.FLAG_END_STREAM, 1, peer.block([['x-trailer', '1']])),
    );
    // Stream 2: padded HEADERS with priority fields and END_STREAM (no body).
    const b2 = peer.block([[':status', '410']]);
    peer.send(
      frame(
        F.HEADERS,
        F.FLAG_END_HEADERS | F.FLAG_END_STREAM | F.FLAG_PADDED | F.FLAG_PRIORITY,
        3,
        Buffer.concat([Buffer.of(2), Buffer.alloc(5), b2, Buffer.alloc(2)]),
      ),
    );
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.headers?.[':status'], 200);
    assert.equal(ra.headers?.['apns-id'], 'abc-123');
    assert.equal(ra.headers?.['x-long'], 'v'.repeat(100));
    assert.equal(ra.body, 'hello');
    assert.equal(ra.ended, true);
    assert.equal(ra.rstCode, 0);
    assert.equal(rb.headers?.[':status'], 410);
    assert.equal(rb.body, '');
    session.destroy();
  });

  it('queues DATA beyond the windows until WINDOW_UPDATE, and follows INITIAL_WINDOW_SIZE and MAX_FRAME_SIZE', async () => {
    const { session, peer, request } = await connect([
      [F.SETTINGS_INITIAL_WINDOW_SIZE, 10],
      [F.SETTINGS_MAX_FRAME_SIZE, 16_384],
    ]);
    const body = 'abcdefghijklmnopqrstuvwxyz'; // 26 bytes, stream window 10
    const { done } = request('/upload', body);
    await peer.until(() => peer.framesOf(F.DATA).length === 1);
    assert.equal(peer.framesOf(F.DATA)[0]!.payload.toString(), 'abcdefghij');
    // More stream credit: 8 more bytes go.
    peer.send(frame(F.WINDOW_UPDATE, 0, 1, u32(8)));
    await peer.until(() => peer.framesOf(F.DATA).length === 2);
    assert.equal(peer.framesOf(F.DATA)[1]!.payload.toString(), 'klmnopqr');
    // Raising INITIAL_WINDOW_SIZE credits open streams by the difference (§6.9.2).
    peer.send(frame(F.SETTINGS, 0, 0, settings([[F.SETTINGS_INITIAL_WINDOW_SIZE, 100]])));
    await peer.until(() => peer.framesOf(F.DATA).length === 3);
    const last = peer.framesOf(F.DATA)[2]!;
    assert.equal(last.payload.toString(), 'stuvwxyz');
    assert.equal(last.flags, F.FLAG_END_STREAM);
    peer.send(frame(F.HEADERS, F.FLAG_END_HEADERS | F.FLAG_END_STREAM, 1, peer.block([[':status', '200']])));
    assert.equal((await done).headers?.[':status'], 200);
    session.destroy();
  });

  it('reports RST_STREAM codes and answers PINGs', async () => {
    const { session, peer, request } = await connect();
    const { done } = request('/x');
    await peer.until(() => peer.requests.length === 1);
    peer.send(frame(F.RST_STREAM, 0, 1, u32(F.REFUSED_STREAM)), frame(F.PING, 0, 0, Buffer.from('12345678')));
    const r = await done;
    assert.equal(r.rstCode, F.REFUSED_STREAM);
    assert.match(String(r.error), /REFUSED_STREAM/);
    // One error type, carrying the HTTP/2 code beside node:http2's code string.
    assert.ok(r.error instanceof WireError);
    assert.equal(r.error.code, 'ERR_HTTP2_STREAM_ERROR');
    assert.equal(r.error.h2Code, F.REFUSED_STREAM);
    await peer.until(() => peer.framesOf(F.PING).length === 1);
    const pong = peer.framesOf(F.PING)[0]!;
    assert.equal(pong.flags, F.FLAG_ACK);
    assert.equal(pong.payload.toString(), '12345678');
    session.destroy();
  });

  it('GOAWAY: reports code, last-stream-id and debug data; closes higher streams as refused', async () => {
    const { session, peer, request } = await connect();
    const a = request('/a');
    const b = request('/b');
    await peer.until(() => peer.requests.length === 2);
    const goaway = once(session, 'goaway');
    peer.send(
      frame(F.GOAWAY, 0, 0, Buffer.concat([u32(1, F.NO_ERROR), Buffer.from('{"reason":"Shutdown"}')])),
    );
    const [code, last, data] = (await goaway) as [number, number, Buffer];
    assert.equal(code, 0);
    assert.equal(last, 1);
    assert.equal(data.toString(), '{"reason":"Shutdown"}');
    assert.equal((await b.done).rstCode, F.REFUSED_STREAM);
    assert.throws(
      () => request('/c'),
      (e) => e instanceof WireError && e.code === 'ERR_HTTP2_INVALID_SESSION' && /closing/.test(e.message),
    );
    // Stream 1 may still finish; then the session closes.
    const closed = once(session, 'close');
    peer.send(frame(F.HEADERS, F.FLAG_END_HEADERS | F.FLAG_END_STREAM, 1, peer.block([[':status', '200']])));
    assert.equal((await a.done).headers?.[':status'], 200);
    await closed;
  });

  for (const [label, bytes, code] of [
    [
      'PUSH_PROMISE with push disabled',
      () => frame(F.PUSH_PROMISE, F.FLAG_END_HEADERS, 1, u32(2)),
      F.PROTOCOL_ERROR,
    ],
    ['DATA on stream 0', () => frame(F.DATA, 0, 0, Buffer.from('x')), F.PROTOCOL_ERROR],
    [
      'HEADERS on an idle stream',
      () => frame(F.HEADERS, F.FLAG_END_HEADERS, 41, Buffer.of(0x88)),
      F.PROTOCOL_ERROR,
    ],
    ['a PING of the wrong size', () => frame(F.PING, 0, 0, Buffer.alloc(7)), F.FRAME_SIZE_ERROR],
    ['a frame above the max frame size', () => frame(F.DATA, 0, 1, Buffer.alloc(16_385)), F.FRAME_SIZE_ERROR],
    [
      'a broken header block',
      () => frame(F.HEADERS, F.FLAG_END_HEADERS, 1, Buffer.of(0xbf)),
      F.COMPRESSION_ERROR,
    ],
    ['a window overflow', () => frame(F.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1)), F.FLOW_CONTROL_ERROR],
    [
      'a frame other than CONTINUATION mid-block',
      () => Buffer.concat([frame(F.HEADERS, 0, 1, Buffer.of(0x88)), frame(F.PING, 0, 0, Buffer.alloc(8))]),
      F.PROTOCOL_ERROR,
    ],
  ] as const) {
    it(`ends the connection with GOAWAY on ${label}`, async () => {
      const { session, peer, request, errors } = await connect();
      const { done } = request('/x');
      await peer.until(() => peer.requests.length === 1);
      // Not events.once: it would reject on the 'error' that comes first.
      const closed = new Promise((resolve) => session.once('close', resolve));
      peer.send(bytes());
      const r = await done;
      await closed;
      assert.equal(r.headers, null);
      assert.ok(r.error !== null);
      assert.equal(errors.length, 1);
      await peer.until(() => peer.framesOf(F.GOAWAY).length === 1 || peer.socket.readableEnded);
      const goaway = peer.framesOf(F.GOAWAY)[0];
      assert.ok(goaway !== undefined, 'GOAWAY sent');
      assert.equal(goaway.payload.readUInt32BE(4), code);
      // The streams and the session fail with the same error, naming the code sent.
      assert.ok(r.error instanceof WireError);
      assert.equal(r.error.code, 'ERR_HTTP2_SESSION_ERROR');
      assert.equal(r.error.h2Code, code);
      assert.equal(errors[0], r.error);
    });
  }
});

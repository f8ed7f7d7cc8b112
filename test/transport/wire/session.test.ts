/**
 * WireSession (pushline's own HTTP/2 framing) against node's http2 server over TLS, directly
 * and through the pool on `protocol: 'h2-wire'`: requests, settings changes, GOAWAY re-send,
 * REFUSED_STREAM, flow control, PING, the server closing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { createPool } from '../../../src/transport/index.js';
import type { TransportEvent } from '../../../src/transport/types.js';
import { DirectReader } from '../../../src/transport/wire/direct-reader.js';
import { WireSession, type WireSettings } from '../../../src/transport/wire/session.js';
import type { WireStream } from '../../../src/transport/wire/stream.js';
import { delay, echo, startFreezableRelay, startH2Server, type TestServer, until } from '../helpers.js';

interface Exchange {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  rstCode: number | undefined;
  error: Error | null;
}

function pattern(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
  return bytes;
}

/** How the session gets the socket's bytes: 'data' events, or a DirectReader lending its buffer. */
type Reading = 'data events' | 'onread';

/** A WireSession whose streams settle promises, for direct tests. */
async function openSession(
  server: TestServer,
  options: { initialWindowSize?: number; connectionWindowSize?: number } = {},
  reading: Reading = 'data events',
) {
  const reader = reading === 'onread' ? new DirectReader() : undefined;
  const socket = tls.connect({
    host: '127.0.0.1',
    port: server.port,
    ca: server.ca,
    ALPNProtocols: ['h2'],
    ...(reader === undefined ? {} : { onread: reader.onread }),
  });
  await once(socket, 'secureConnect');
  const pending = new Map<WireStream, { ex: Exchange; chunks: Buffer[]; resolve: (ex: Exchange) => void }>();
  const session = new WireSession(socket, {
    authority: `127.0.0.1:${server.port}`,
    scheme: 'https',
    ...options,
    ...(reader === undefined ? {} : { reader }),
    handlers: {
      response: (stream, headers) => {
        const p = pending.get(stream)!;
        p.ex.status = Number(headers[':status']);
        p.ex.headers = headers;
      },
      data: (stream, chunk) => pending.get(stream)!.chunks.push(chunk),
      end: () => {},
      error: (stream, error) => {
        pending.get(stream)!.ex.error = error;
      },
      close: (stream) => {
        const p = pending.get(stream)!;
        pending.delete(stream);
        p.ex.body = Buffer.concat(p.chunks);
        p.ex.rstCode = stream.rstCode;
        p.resolve(p.ex);
      },
    },
  });
  const errors: Error[] = [];
  session.on('error', (error: Error) => errors.push(error));
  const settings = (await once(session, 'remoteSettings'))[0] as WireSettings;
  function request(
    method: string,
    path: string,
    headers?: Record<string, string>,
    body?: Buffer | string,
  ): { stream: WireStream; done: Promise<Exchange> } {
    const stream = session.request(method, path, headers, body);
    const ex: Exchange = { status: 0, headers: {}, body: Buffer.alloc(0), rstCode: undefined, error: null };
    const done = new Promise<Exchange>((resolve) => pending.set(stream, { ex, chunks: [], resolve }));
    return { stream, done };
  }
  return { session, socket, settings, request, errors };
}

// Both ways of reading: with onread every chunk is lent, so anything the session keeps (bodies,
// partial frames, header fragments) must be a copy, or these bodies come back corrupted.
for (const reading of ['data events', 'onread'] as const) {
  describe(`WireSession against node:http2 (TLS), reading by ${reading}`, () => {
    let server: TestServer;
    const seen: http2.IncomingHttpHeaders[] = [];

    before(async () => {
      server = await startH2Server((stream, body, headers) => {
        seen.push(headers);
        const path = headers[':path'] ?? '';
        if (path.startsWith('/big/')) {
          // A response far above the client's stream window (forces WINDOW_UPDATEs from it).
          stream.respond({ ':status': 200 });
          // A byte pattern, so a chunk overwritten after delivery (a lent buffer kept) shows.
          stream.end(pattern(Number(path.slice(5))));
          return;
        }
        if (path.startsWith('/drip/')) {
          // Many small DATA frames, each flushed on its own: each lands whole in one read.
          const body = pattern(Number(path.slice(6)) * 100);
          stream.respond({ ':status': 200 });
          let at = 0;
          const drip = () => {
            if (stream.destroyed) return;
            if (at >= body.length) {
              stream.end();
              return;
            }
            stream.write(body.subarray(at, at + 100));
            at += 100;
            setTimeout(drip, 1);
          };
          drip();
          return;
        }
        if (path === '/refuse') {
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          return;
        }
        if (path === '/length') {
          stream.respond({ ':status': 201, 'x-length': String(body.length), 'x-sum': String(sum(body)) });
          stream.end();
          return;
        }
        echo(stream, body, headers);
      });
    });
    after(() => server.close());

    it('sends requests with cached headers and reads responses (status, headers, body)', async () => {
      const { session, request, settings } = await openSession(server, {}, reading);
      assert.equal(settings.enablePush, true); // node's server does not send ENABLE_PUSH
      const headers = { 'apns-topic': 'com.example.app', authorization: 'bearer abc' };
      const exchanges = await Promise.all(
        Array.from({ length: 20 }, (_, i) => request('POST', `/3/device/${i}`, headers, `body ${i}`).done),
      );
      exchanges.forEach((ex, i) => {
        assert.equal(ex.status, 200);
        assert.equal(ex.headers['content-type'], 'application/octet-stream');
        assert.equal(ex.body.toString(), `body ${i}`);
        assert.equal(ex.rstCode, 0);
      });
      const last = seen.at(-1)!;
      assert.equal(last[':authority'], `127.0.0.1:${server.port}`);
      assert.equal(last[':scheme'], 'https');
      assert.equal(last[':method'], 'POST');
      assert.equal(last['apns-topic'], 'com.example.app');
      assert.equal(last.authorization, 'bearer abc');
      const get = await request('GET', '/nothing').done;
      assert.equal(get.status, 200);
      assert.equal(get.body.length, 0);
      session.close();
      await once(session, 'close');
      assert.equal(session.destroyed, true);
    });

    it('sends many slabs of frames intact (slabs are reused only after their writes are done)', async () => {
      const { session, request } = await openSession(server, {}, reading);
      // 3,000 distinct ~300-byte bodies: about 1 MB of frames, a dozen 64 KiB slabs or more.
      const bodies = Array.from({ length: 3000 }, (_, i) =>
        `${i}:`.padEnd(300, String.fromCharCode(97 + (i % 26))),
      );
      const exchanges = await Promise.all(
        bodies.map((body, i) => request('POST', `/slab/${i}`, undefined, body).done),
      );
      exchanges.forEach((ex, i) => {
        assert.equal(ex.status, 200);
        assert.equal(ex.body.toString(), bodies[i], `body ${i}`);
      });
      session.destroy();
    });

    it('sends a body larger than the send windows (queued until WINDOW_UPDATE)', async () => {
      const { session, request } = await openSession(server, {}, reading);
      const body = Buffer.alloc(300_000);
      for (let i = 0; i < body.length; i++) body[i] = i % 251;
      const results = await Promise.all([1, 2, 3].map(() => request('POST', '/length', {}, body).done));
      for (const ex of results) {
        assert.equal(ex.status, 201);
        assert.equal(ex.headers['x-length'], String(body.length));
        assert.equal(ex.headers['x-sum'], String(sum(body)));
      }
      session.destroy();
    });

    it('receives a body larger than its own stream window (sends WINDOW_UPDATEs)', async () => {
      const { session, request } = await openSession(
        server,
        {
          initialWindowSize: 65_535,
          connectionWindowSize: 65_535,
        },
        reading,
      );
      const ex = await request('GET', '/big/1000000').done;
      assert.equal(ex.status, 200);
      assert.equal(ex.body.length, 1_000_000);
      assert.ok(ex.body.equals(pattern(1_000_000)), 'the body arrives intact');
      session.destroy();
    });

    it('keeps small DATA frames intact across reads (bodies are copied out of the socket buffer)', async () => {
      const { session, request } = await openSession(server, {}, reading);
      const [a, b] = await Promise.all([request('GET', '/drip/40').done, request('GET', '/drip/25').done]);
      assert.ok(a.body.equals(pattern(4000)), 'the first body arrives intact');
      assert.ok(b.body.equals(pattern(2500)), 'the second body arrives intact');
      session.destroy();
    });

    it('reports RST_STREAM codes (REFUSED_STREAM) on the stream', async () => {
      const { session, request } = await openSession(server, {}, reading);
      const ex = await request('GET', '/refuse').done;
      assert.equal(ex.rstCode, http2.constants.NGHTTP2_REFUSED_STREAM);
      assert.match(String(ex.error), /NGHTTP2_REFUSED_STREAM/);
      // The session is still usable.
      assert.equal((await request('GET', '/ok').done).status, 200);
      session.destroy();
    });

    it('answers the server PING and gets its own PING answered', async () => {
      const { session, request } = await openSession(server, {}, reading);
      await request('GET', '/ok').done;
      const serverSession = [...server.sessions].at(-1)!;
      const serverPing = await new Promise<number>((resolve, reject) =>
        serverSession.ping((error, duration) => (error ? reject(error) : resolve(duration))),
      );
      assert.ok(serverPing >= 0);
      const ours = await new Promise<number>((resolve, reject) => {
        assert.equal(
          session.ping((error, duration) => (error ? reject(error) : resolve(duration))),
          true,
        );
      });
      assert.ok(ours >= 0);
      session.destroy();
    });

    it('cancels a stream with RST_STREAM(CANCEL) and closes it on the next tick', async () => {
      const slow = await startH2Server(() => {});
      try {
        const { session, request } = await openSession(slow, {}, reading);
        const { stream, done } = request('GET', '/never');
        await until(() => [...slow.open.values()].some((n) => n > 0));
        stream.close(http2.constants.NGHTTP2_CANCEL);
        const ex = await done;
        assert.equal(ex.rstCode, http2.constants.NGHTTP2_CANCEL);
        await until(() => [...slow.open.values()].every((n) => n === 0));
        session.destroy();
      } finally {
        await slow.close();
      }
    });

    it('closes in-flight streams and emits close when the server goes away', async () => {
      const slow = await startH2Server(() => {});
      try {
        const { session, request } = await openSession(slow, {}, reading);
        const { done } = request('GET', '/never');
        await until(() => slow.sessions.size > 0 && [...slow.open.values()].some((n) => n > 0));
        for (const socket of slow.sockets) socket.destroy();
        const [ex] = await Promise.all([done, once(session, 'close')]);
        assert.equal(ex.status, 0);
        assert.notEqual(ex.rstCode, 0);
        assert.equal(session.destroyed, true);
        assert.throws(() => session.request('GET', '/', undefined, undefined), /closing/);
      } finally {
        await slow.close();
      }
    });
  });
}

describe('the pool on protocol h2-wire', () => {
  it('follows SETTINGS_MAX_CONCURRENT_STREAMS raised at run time', async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const server = await startH2Server(
      (stream) => {
        held.push(stream);
      },
      { settings: { maxConcurrentStreams: 2 } },
    );
    const events: TransportEvent[] = [];
    const pool = createPool({
      origin: server.origin,
      connections: 1,
      protocol: 'h2-wire',
      tls: { ca: server.ca },
      onEvent: (e) => events.push(e),
    });
    try {
      const requests = Array.from({ length: 6 }, (_, i) => pool.request({ method: 'GET', path: `/${i}` }));
      await until(() => held.length === 2);
      await delay(50);
      assert.equal(server.maxConcurrent, 2);
      const [serverSession] = [...server.sessions];
      serverSession!.settings({ maxConcurrentStreams: 6 });
      await until(() => held.length === 6);
      assert.ok(events.some((e) => e.type === 'settings' && e.maxConcurrentStreams === 6));
      for (const stream of held) {
        stream.respond({ ':status': 200 });
        stream.end('ok');
      }
      const responses = await Promise.all(requests);
      assert.deepEqual(
        responses.map((r) => r.status),
        [200, 200, 200, 200, 200, 200],
      );
    } finally {
      await pool.close();
      await server.close();
    }
  });

  it('re-sends streams above a GOAWAY last-stream-id on a new connection, and REFUSED_STREAM ones', async () => {
    let streams = 0;
    const server = await startH2Server((stream, _body, headers) => {
      streams++;
      const session = stream.session!;
      if (headers[':path'] === '/refused-once' && !refusedOnce) {
        refusedOnce = true;
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      if (streams === 3) {
        // Only stream 1 is processed on this session: 3, 5, … must come back on another one.
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, 1, Buffer.from('{"reason":"Shutdown"}'));
        if (stream.id !== 1) return;
      }
      echo(stream, Buffer.from(headers[':path'] ?? ''), headers);
    });
    let refusedOnce = false;
    const events: TransportEvent[] = [];
    const pool = createPool({
      origin: server.origin,
      connections: 1,
      protocol: 'h2-wire',
      tls: { ca: server.ca },
      onEvent: (e) => events.push(e),
    });
    try {
      const responses = await Promise.all(
        ['/a', '/b', '/c', '/d', '/refused-once'].map((path) => pool.request({ method: 'GET', path })),
      );
      assert.deepEqual(
        responses.map((r) => r.body.toString()),
        ['/a', '/b', '/c', '/d', '/refused-once'],
      );
      const goaway = events.find((e) => e.type === 'goaway');
      assert.ok(goaway !== undefined && goaway.type === 'goaway');
      assert.equal(goaway.lastStreamId, 1);
      assert.equal(goaway.reason, 'Shutdown');
      assert.equal(pool.stats.lastGoaway?.reason, 'Shutdown');
      assert.ok(events.filter((e) => e.type === 'connect').length >= 2);
      assert.equal(refusedOnce, true);
    } finally {
      await pool.close();
      await server.close();
    }
  });

  it('pings idle connections (cleartext) and replaces one whose PING goes unanswered', async () => {
    // A TCP relay in front of a cleartext HTTP/2 server that can stop passing bytes.
    const server = await startH2Server(echo, { cleartext: true });
    const relay = await startFreezableRelay(server.port);
    const events: TransportEvent[] = [];
    const pool = createPool({
      origin: `http://127.0.0.1:${relay.port}`,
      protocol: 'h2-wire',
      pingIntervalMs: 40,
      pingTimeoutMs: 150,
      onEvent: (e) => events.push(e),
    });
    try {
      assert.equal((await pool.request({ path: '/', body: 'one' })).body.toString(), 'one');
      const [serverSession] = [...server.sessions];
      let pings = 0;
      serverSession!.on('ping', () => pings++);
      // One PING is outstanding at a time: a third one means the first two were answered.
      await until(() => pings >= 3);
      assert.equal(events.filter((e) => e.type === 'ping-timeout').length, 0);
      relay.frozen = true;
      await until(() => events.some((e) => e.type === 'ping-timeout'));
      relay.frozen = false;
      assert.equal((await pool.request({ path: '/', body: 'two' })).body.toString(), 'two');
      assert.equal(events.filter((e) => e.type === 'connect').length, 2);
    } finally {
      await pool.close();
      await relay.close();
      await server.close();
    }
  });
});

function sum(buf: Buffer): number {
  let s = 0;
  for (const b of buf) s = (s + b) % 1_000_003;
  return s;
}

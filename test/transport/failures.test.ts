import assert from 'node:assert/strict';
import http2, { type ServerHttp2Stream } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { PushError } from '../../src/errors.js';
import { createPool } from '../../src/transport/index.js';
import type { TransportEvent } from '../../src/transport/types.js';
import {
  delay,
  echo,
  H2_PROTOCOLS,
  rejection,
  startFreezableRelay,
  startH2Server,
  type TestServer,
  until,
} from './helpers.js';

function respond(stream: ServerHttp2Stream, body: Buffer): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': 200 });
  stream.end(body);
}

/** Counts, per request body, how many times the server processed (answered) it. */
function countProcessed(): { processed: Map<string, number>; mark(body: Buffer): void } {
  const processed = new Map<string, number>();
  return {
    processed,
    mark: (body) => processed.set(body.toString(), (processed.get(body.toString()) ?? 0) + 1),
  };
}

for (const protocol of H2_PROTOCOLS) {
  describe(`HTTP/2 pool under connection trouble (${protocol})`, () => {
    let echoServer: TestServer;
    before(async () => {
      echoServer = await startH2Server(echo);
    });
    after(() => echoServer.close());

    test('GOAWAY: streams above last-stream-id are re-sent transparently, each processed exactly once', async (t) => {
      const { processed, mark } = countProcessed();
      const firstSession: ServerHttp2Stream[] = [];
      let goawaySent = false;
      const server = await startH2Server((stream, body) => {
        if (goawaySent) {
          mark(body);
          respond(stream, body);
          return;
        }
        firstSession.push(stream);
        (stream as ServerHttp2Stream & { body?: Buffer }).body = body;
        if (firstSession.length < 4) return;
        // Four streams are open: process the first two, refuse the rest via GOAWAY.
        goawaySent = true;
        const session = stream.session!;
        const ids = firstSession.map((s) => s.id!).sort((a, b) => a - b);
        const last = ids[1]!;
        session.goaway(
          http2.constants.NGHTTP2_NO_ERROR,
          last,
          Buffer.from(JSON.stringify({ reason: 'Shutdown' })),
        );
        for (const s of firstSession) {
          if (s.id! <= last) {
            mark((s as ServerHttp2Stream & { body?: Buffer }).body!);
            respond(s, (s as ServerHttp2Stream & { body?: Buffer }).body!);
          } else {
            s.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          }
        }
        session.close();
      });
      t.after(() => server.close());
      const events: TransportEvent[] = [];
      const pool = createPool({
        origin: server.origin,
        protocol,
        tls: { ca: server.ca },
        connections: 1,
        onEvent: (e) => events.push(e),
      });
      t.after(() => pool.destroy());
      const bodies = ['r0', 'r1', 'r2', 'r3'];
      const responses = await Promise.all(bodies.map((body) => pool.request({ path: '/', body })));
      assert.deepEqual(
        responses.map((r) => r.body.toString()),
        bodies,
      );
      assert.deepEqual(
        [...processed.entries()].sort(),
        bodies.map((b) => [b, 1]),
      );
      const goaway = events.find((e) => e.type === 'goaway');
      assert.ok(goaway?.type === 'goaway');
      assert.equal(goaway.reason, 'Shutdown');
      assert.equal(goaway.errorName, 'NGHTTP2_NO_ERROR');
      assert.equal(pool.stats.lastGoaway?.reason, 'Shutdown');
      assert.equal(
        events.filter((e) => e.type === 'connect').length,
        2,
        'a new connection took the re-sent streams',
      );
      await pool.close();
    });

    test('GOAWAY with an error: in-flight streams at or below last-stream-id fail unavailable, higher are re-sent', async (t) => {
      const { processed, mark } = countProcessed();
      const held: Array<{ stream: ServerHttp2Stream; body: Buffer }> = [];
      let goawaySent = false;
      const server = await startH2Server((stream, body) => {
        if (goawaySent) {
          mark(body);
          respond(stream, body);
          return;
        }
        held.push({ stream, body });
        if (held.length < 3) return;
        goawaySent = true;
        const lowest = Math.min(...held.map((h) => h.stream.id!));
        stream.session!.goaway(
          http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
          lowest,
          Buffer.from('{"reason":"TooManyRequests"}'),
        );
      });
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 1 });
      t.after(() => pool.destroy());
      const settled = await Promise.allSettled(
        ['a', 'b', 'c'].map((body) => pool.request({ path: '/', body })),
      );
      const failed = settled.filter((s) => s.status === 'rejected');
      assert.equal(failed.length, 1, 'only the stream the server may have processed fails');
      const error = (failed[0] as PromiseRejectedResult).reason as PushError;
      assert.equal(error.code, 'unavailable');
      assert.equal(error.retryable, true);
      assert.equal(error.reason, 'TooManyRequests');
      assert.equal(processed.size, 2);
      assert.ok([...processed.values()].every((n) => n === 1));
      assert.equal(pool.stats.lastGoaway?.errorName, 'NGHTTP2_ENHANCE_YOUR_CALM');
      await pool.close();
    });

    /** A server refusing its first `refusals` streams (REFUSED_STREAM), then echoing; a pool on it. */
    async function refusingFirst(t: { after(fn: () => unknown): void }, refusals: number) {
      const counted = countProcessed();
      let refused = 0;
      const server = await startH2Server((stream, body) => {
        if (refused < refusals) {
          refused++;
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          return;
        }
        counted.mark(body);
        respond(stream, body);
      });
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca } });
      t.after(() => pool.destroy());
      return { pool, processed: counted.processed, refused: () => refused };
    }

    test('REFUSED_STREAM resets are re-sent without the caller seeing them', async (t) => {
      const { pool, processed, refused } = await refusingFirst(t, 2);
      const response = await pool.request({ path: '/', body: 'once' });
      assert.equal(response.body.toString(), 'once');
      assert.equal(refused(), 2);
      assert.deepEqual([...processed.entries()], [['once', 1]]);
      await pool.close();
    });

    test('a BodyWriter body is made when written, and made again for a re-send', async (t) => {
      const { pool, processed } = await refusingFirst(t, 1);
      let made = 0;
      const writer = {
        body() {
          made++;
          return `made for the wire: ${'x'.repeat(100)}`;
        },
      };
      const response = await pool.request({ path: '/', body: writer });
      assert.equal(response.body.toString(), writer.body());
      // Once for the refused stream, once for the re-send, once just above: never held between.
      assert.equal(made, 3);
      assert.deepEqual([...processed.values()], [1]);
      await pool.close();
    });

    test('a BodyWriter that throws fails its own request internal; the connection serves the rest', async (t) => {
      const pool = createPool({ origin: echoServer.origin, protocol, tls: { ca: echoServer.ca } });
      t.after(() => pool.destroy());
      const broken = pool.request({
        path: '/',
        body: {
          body(): string {
            throw new Error('no body today');
          },
        },
      });
      const fine = pool.request({ path: '/', body: 'fine' });
      const error = await rejection(broken);
      assert.equal(error.code, 'internal');
      assert.match(error.message, /could not be started: no body today/);
      assert.equal((await fine).body.toString(), 'fine');
      assert.equal((await pool.request({ path: '/', body: 'after' })).body.toString(), 'after');
      await pool.close();
    });

    test('other stream resets fail the request with unavailable and the HTTP/2 code', async (t) => {
      const server = await startH2Server((stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca } });
      t.after(() => pool.destroy());
      const error = await rejection(pool.request({ path: '/' }));
      assert.equal(error.code, 'unavailable');
      assert.equal(error.reason, 'NGHTTP2_INTERNAL_ERROR');
      await pool.close();
    });

    test('a connection killed mid-flight fails its requests unavailable; later requests reconnect', async (t) => {
      let kill = true;
      const server: TestServer = await startH2Server((_stream, body) => {
        if (kill && body.toString() === 'kill') {
          // Drop the TCP connection under the session: no GOAWAY, no RST_STREAM.
          setTimeout(() => {
            for (const socket of server.sockets) socket.destroy();
          }, 20);
          return;
        }
        if (body.toString() === 'hold') return;
        respond(_stream, body);
      });
      t.after(() => server.close());
      const events: TransportEvent[] = [];
      const pool = createPool({
        origin: server.origin,
        protocol,
        tls: { ca: server.ca },
        connections: 1,
        onEvent: (e) => events.push(e),
      });
      t.after(() => pool.destroy());
      const results = await Promise.allSettled([
        pool.request({ path: '/', body: 'hold' }),
        pool.request({ path: '/', body: 'kill' }),
      ]);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        const error = result.reason as PushError;
        assert.equal(error.code, 'unavailable');
        assert.equal(error.retryable, true);
        assert.ok(error.reason !== undefined && error.reason !== '');
      }
      kill = false;
      const response = await pool.request({ path: '/', body: 'again' });
      assert.equal(response.body.toString(), 'again');
      assert.ok(events.some((e) => e.type === 'disconnect'));
      assert.equal(events.filter((e) => e.type === 'connect').length, 2);
      await pool.close();
    });

    test('connect timeout: a server that never completes TLS gives unavailable ETIMEDOUT', async (t) => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      t.after(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      });
      const port = (silent.address() as AddressInfo).port;
      const pool = createPool({ origin: `https://127.0.0.1:${port}`, protocol, connectTimeoutMs: 150 });
      t.after(() => pool.destroy());
      const error = await rejection(pool.request({ path: '/' }));
      assert.equal(error.code, 'unavailable');
      assert.equal(error.reason, 'ETIMEDOUT');
    });

    test('a connection whose PING goes unanswered is replaced', async (t) => {
      // A TCP relay in front of a cleartext HTTP/2 server that can freeze its open connections.
      const server = await startH2Server(echo, { cleartext: true });
      t.after(() => server.close());
      const relay = await startFreezableRelay(server.port);
      t.after(() => relay.close());
      const events: TransportEvent[] = [];
      const pool = createPool({
        origin: `http://127.0.0.1:${relay.port}`,
        protocol,
        pingIntervalMs: 60,
        pingTimeoutMs: 150,
        onEvent: (e) => events.push(e),
      });
      t.after(() => pool.destroy());
      assert.equal((await pool.request({ path: '/', body: 'one' })).body.toString(), 'one');
      await delay(150);
      assert.equal(
        events.filter((e) => e.type === 'ping-timeout').length,
        0,
        'answered PINGs keep the connection',
      );
      relay.frozen = true;
      await until(() => events.some((e) => e.type === 'ping-timeout'));
      relay.frozen = false;
      assert.equal((await pool.request({ path: '/', body: 'two' })).body.toString(), 'two');
      assert.equal(events.filter((e) => e.type === 'connect').length, 2);
      await pool.close();
    });

    test('cleartext h2c (prior knowledge) for http:// origins', async (t) => {
      const server = await startH2Server(echo, { cleartext: true });
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol });
      t.after(() => pool.destroy());
      assert.equal((await pool.request({ path: '/', body: 'plain' })).body.toString(), 'plain');
      await pool.close();
    });

    test('uses an idle connection again after a PING is answered', async (t) => {
      const pool = createPool({
        origin: echoServer.origin,
        protocol,
        tls: { ca: echoServer.ca },
        pingIntervalMs: 30,
      });
      t.after(() => pool.destroy());
      await pool.request({ path: '/', body: 'a' });
      const sessions = new Set(echoServer.sessions);
      // Count the PINGs the server gets: without one, "again after a PING" would test nothing.
      let pings = 0;
      for (const session of sessions) session.on('ping', () => pings++);
      await until(() => pings >= 2);
      await pool.request({ path: '/', body: 'b' });
      assert.deepEqual(new Set(echoServer.sessions), sessions);
      await pool.close();
    });
  });
}

// Refused at TCP, before either client reads or writes a byte: one run covers both.
test('an unreachable origin fails waiting requests with unavailable and the errno, then backs off', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const events: TransportEvent[] = [];
  const pool = createPool({
    origin: `https://127.0.0.1:${port}`,
    backoffBaseMs: 2000,
    onEvent: (e) => events.push(e),
  });
  t.after(() => pool.destroy());
  const errors = await Promise.all([1, 2, 3].map(() => rejection(pool.request({ path: '/' }))));
  const attempts = events.filter((e) => e.type === 'connect-error').length;
  assert.ok(attempts >= 1 && attempts <= 3);
  for (const error of errors) {
    assert.equal(error.code, 'unavailable');
    assert.equal(error.reason, 'ECONNREFUSED');
  }
  const connectError = events.find((e) => e.type === 'connect-error');
  assert.ok(connectError?.type === 'connect-error' && connectError.retryInMs >= 1000);
  // Inside the backoff window a request fails at once, saying when to come back.
  const during = await rejection(pool.request({ path: '/' }));
  assert.equal(during.reason, 'ECONNREFUSED');
  assert.ok((during.retryAfterMs ?? 0) > 0);
  assert.equal(
    events.filter((e) => e.type === 'connect-error').length,
    attempts,
    'no connect attempt during backoff',
  );
});

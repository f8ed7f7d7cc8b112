import assert from 'node:assert/strict';
import http2, { type ServerHttp2Stream } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { createPool } from '../../src/transport/index.js';
import type { TransportEvent } from '../../src/transport/types.js';
import { delay, echo, H2_PROTOCOLS, rejection, startH2Server, type TestServer, until } from './helpers.js';

/** A server that holds every stream until `release()`, so tests can look at concurrency. */
async function holdingServer(
  settings: http2.Settings,
): Promise<TestServer & { held: ServerHttp2Stream[]; release(): void }> {
  const held: ServerHttp2Stream[] = [];
  const server = await startH2Server((stream) => held.push(stream), { settings });
  return Object.assign(server, {
    held,
    release() {
      for (const stream of held.splice(0)) {
        if (!stream.destroyed) {
          stream.respond({ ':status': 200 });
          stream.end('ok');
        }
      }
    },
  });
}

for (const protocol of H2_PROTOCOLS) {
  describe(`HTTP/2 pool (${protocol})`, () => {
    let echoServer: TestServer;
    before(async () => {
      echoServer = await startH2Server(echo);
    });
    after(() => echoServer.close());

    test('sends method, path, headers and body, and buffers the response', async (t) => {
      let seen: http2.IncomingHttpHeaders | undefined;
      const server = await startH2Server((stream, body, headers) => {
        if (headers[':path'] === '/empty') {
          stream.respond({ ':status': 200 });
          stream.end();
          return;
        }
        seen = headers;
        stream.respond({ ':status': 410, 'apns-id': 'abc' });
        stream.end(JSON.stringify({ reason: 'Unregistered', got: body.toString() }));
      });
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca } });
      t.after(() => pool.destroy());
      const response = await pool.request({
        path: '/3/device/aa',
        headers: { 'apns-topic': 'com.example' },
        body: Buffer.from('{"aps":{}}'),
      });
      assert.equal(response.status, 410);
      assert.equal(response.headers['apns-id'], 'abc');
      assert.deepEqual(JSON.parse(response.body.toString()), { reason: 'Unregistered', got: '{"aps":{}}' });
      assert.equal(seen?.[':method'], 'POST');
      assert.equal(seen?.[':path'], '/3/device/aa');
      assert.equal(seen?.['apns-topic'], 'com.example');
      const get = await pool.request({ method: 'GET', path: '/empty' });
      assert.equal(get.body.length, 0);
      await pool.close();
    });

    test('never opens more streams than SETTINGS_MAX_CONCURRENT_STREAMS and follows it when raised', async (t) => {
      const server = await holdingServer({ maxConcurrentStreams: 2 });
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 1 });
      t.after(() => pool.destroy());
      const requests = Array.from({ length: 8 }, (_, i) => pool.request({ path: `/${i}` }));
      await until(() => server.held.length === 2);
      await delay(30);
      assert.equal(server.held.length, 2);
      assert.deepEqual({ ...pool.stats }, { connections: 1, inFlight: 2, queued: 6 });
      // The server raises its limit at run time (as APNs does after the first good request).
      for (const session of server.sessions) session.settings({ maxConcurrentStreams: 5 });
      await until(() => server.held.length === 5);
      await delay(30);
      assert.equal(pool.stats.inFlight, 5);
      assert.equal(pool.stats.queued, 3);
      while (server.held.length > 0) {
        server.release();
        await delay(10);
      }
      const responses = await Promise.all(requests);
      assert.ok(responses.every((r) => r.status === 200));
      assert.equal(server.maxConcurrent, 5);
      await pool.close();
    });

    test('APNs-style: one stream until the first request succeeds, then many', async (t) => {
      let raised = false;
      let open = 0;
      let maxOpen = 0;
      let maxOpenBeforeRaise = 0;
      const server = await startH2Server(
        (stream) => {
          open++;
          maxOpen = Math.max(maxOpen, open);
          if (!raised) maxOpenBeforeRaise = Math.max(maxOpenBeforeRaise, open);
          setTimeout(() => {
            open--;
            stream.respond({ ':status': 200 });
            stream.end();
            if (!raised) {
              raised = true;
              stream.session?.settings({ maxConcurrentStreams: 50 });
            }
          }, 20);
        },
        { settings: { maxConcurrentStreams: 1 } },
      );
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 1 });
      t.after(() => pool.destroy());
      const responses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => pool.request({ path: `/${i}` })),
      );
      assert.equal(responses.length, 40);
      assert.ok(responses.every((r) => r.status === 200));
      // Counted, not timed (a wall-clock bound flakes on a loaded machine): one stream at a time
      // until the first answer raised the limit, then several at once.
      assert.equal(maxOpenBeforeRaise, 1, 'one stream until the first request succeeded');
      assert.ok(maxOpen > 1, `requests flowed concurrently once the limit rose (at most ${maxOpen} open)`);
      assert.ok(maxOpen <= 50);
      await pool.close();
    });

    test('opens connections lazily and puts each stream on the least-loaded one', async (t) => {
      const server = await holdingServer({ maxConcurrentStreams: 2 });
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 3 });
      t.after(() => pool.destroy());
      const first = pool.request({ path: '/first' });
      await until(() => server.held.length === 1);
      assert.equal(pool.stats.connections, 1, 'one request needs one connection');
      const more = Array.from({ length: 6 }, (_, i) => pool.request({ path: `/${i}` }));
      await until(() => server.held.length === 6);
      await delay(30);
      assert.equal(server.sessions.size, 3);
      assert.deepEqual([...server.open.values()].sort(), [2, 2, 2]);
      assert.equal(pool.stats.queued, 1);
      while (server.held.length > 0) {
        server.release();
        await delay(10);
      }
      await Promise.all([first, ...more]);
      await pool.close();
    });

    test('rejects with unavailable (queue-full) beyond maxQueued', async (t) => {
      const server = await holdingServer({ maxConcurrentStreams: 1 });
      t.after(() => server.close());
      const pool = createPool({
        origin: server.origin,
        protocol,
        tls: { ca: server.ca },
        connections: 1,
        maxQueued: 2,
      });
      t.after(() => pool.destroy());
      const accepted = [pool.request({ path: '/a' })];
      await until(() => server.held.length === 1);
      accepted.push(pool.request({ path: '/b' }), pool.request({ path: '/c' }));
      assert.equal(pool.stats.queued, 2);
      const error = await rejection(pool.request({ path: '/d' }));
      assert.equal(error.code, 'unavailable');
      assert.equal(error.reason, 'queue-full');
      assert.equal(error.retryable, true);
      while (server.held.length > 0 || pool.stats.queued > 0) {
        server.release();
        await delay(10);
      }
      assert.equal((await Promise.all(accepted)).length, 3);
      await pool.close();
    });

    test('times out in flight (RST_STREAM CANCEL) and while queued', async (t) => {
      const server = await holdingServer({ maxConcurrentStreams: 1 });
      t.after(() => server.close());
      const events: TransportEvent[] = [];
      const pool = createPool({
        origin: server.origin,
        protocol,
        tls: { ca: server.ca },
        connections: 1,
        timeoutMs: 150,
        onEvent: (e) => events.push(e),
      });
      t.after(() => pool.destroy());
      const inFlight = rejection(pool.request({ path: '/slow' }));
      await until(() => server.held.length === 1);
      // Queued behind a held stream alone, the request could start in the slot the in-flight
      // timeout frees (its deadline can be a millisecond later) and time out in flight. With the
      // server allowing no streams it stays queued whichever sweep finds it.
      for (const session of server.sessions) session.settings({ maxConcurrentStreams: 0 });
      await until(() => events.some((e) => e.type === 'settings' && e.maxConcurrentStreams === 0));
      const queued = rejection(pool.request({ path: '/queued' }));
      const [a, b] = await Promise.all([inFlight, queued]);
      assert.equal(a.code, 'timeout');
      assert.equal(a.reason, 'in-flight');
      assert.equal(b.code, 'timeout');
      assert.equal(b.reason, 'queued');
      assert.equal(a.retryable, true);
      const stream = server.held[0]!;
      await until(() => stream.closed);
      assert.equal(stream.rstCode, http2.constants.NGHTTP2_CANCEL);
      assert.equal(server.held.length, 1, 'the queued request never reached the server');
      assert.deepEqual({ ...pool.stats, connections: 0 }, { connections: 0, inFlight: 0, queued: 0 });
      await pool.close();
    });

    test('abort: before sending, while queued and in flight (stream reset with CANCEL)', async (t) => {
      const server = await holdingServer({ maxConcurrentStreams: 1 });
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 1 });
      t.after(() => pool.destroy());
      assert.equal(
        (await rejection(pool.request({ path: '/', signal: AbortSignal.abort() }))).code,
        'aborted',
      );
      const inFlightController = new AbortController();
      const queuedController = new AbortController();
      const inFlight = rejection(pool.request({ path: '/1', signal: inFlightController.signal }));
      const queued = rejection(pool.request({ path: '/2', signal: queuedController.signal }));
      await until(() => server.held.length === 1);
      queuedController.abort();
      inFlightController.abort();
      assert.equal((await inFlight).code, 'aborted');
      assert.equal((await queued).code, 'aborted');
      const stream = server.held[0]!;
      await until(() => stream.closed);
      assert.equal(stream.rstCode, http2.constants.NGHTTP2_CANCEL);
      assert.equal(pool.stats.inFlight + pool.stats.queued, 0);
      // The slot is free again.
      const next = pool.request({ path: '/3' });
      await until(() => server.held.length === 2);
      server.release();
      assert.equal((await next).status, 200);
      await pool.close();
    });

    test('close() lets in-flight and queued requests finish, refuses new ones, then closes', async (t) => {
      const server = await holdingServer({ maxConcurrentStreams: 1 });
      t.after(() => server.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 1 });
      t.after(() => pool.destroy());
      const requests = [pool.request({ path: '/1' }), pool.request({ path: '/2' })];
      await until(() => server.held.length === 1);
      let closed = false;
      const closing = pool.close().then(() => {
        closed = true;
      });
      assert.equal((await rejection(pool.request({ path: '/late' }))).code, 'closed');
      await delay(20);
      assert.equal(closed, false);
      while (!closed) {
        server.release();
        await delay(10);
      }
      await closing;
      assert.ok((await Promise.all(requests)).every((r) => r.status === 200));
      await until(() => server.sessions.size === 0);
      assert.equal(pool.stats.connections, 0);
    });

    test('destroy() fails queued and in-flight requests with closed and drops connections', async (t) => {
      const server = await holdingServer({ maxConcurrentStreams: 1 });
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
      const inFlight = rejection(pool.request({ path: '/1' }));
      const queued = rejection(pool.request({ path: '/2' }));
      await until(() => server.held.length === 1);
      pool.destroy();
      assert.equal((await inFlight).code, 'closed');
      assert.equal((await queued).code, 'closed');
      assert.equal((await rejection(pool.request({ path: '/3' }))).code, 'closed');
      assert.equal(pool.stats.connections, 0);
      await until(() => server.sessions.size === 0);
      await pool.close(); // harmless after destroy
      assert.ok(events.some((e) => e.type === 'connect'));
    });

    test('many concurrent requests on a few connections all complete', async (t) => {
      const pool = createPool({
        origin: echoServer.origin,
        protocol,
        tls: { ca: echoServer.ca },
        connections: 2,
      });
      t.after(() => pool.destroy());
      const bodies = Array.from({ length: 2000 }, (_, i) => `body-${i}`);
      const responses = await Promise.all(bodies.map((body) => pool.request({ path: '/echo', body })));
      assert.deepEqual(
        responses.map((r) => r.body.toString()),
        bodies,
      );
      assert.ok(pool.stats.connections <= 2);
      await pool.close();
    });

    test('retireConnection() moves later requests to a new connection', async (t) => {
      const pool = createPool({
        origin: echoServer.origin,
        protocol,
        tls: { ca: echoServer.ca },
        connections: 1,
      });
      t.after(() => pool.destroy());
      const first = await pool.request({ path: '/a' });
      const before = new Set(echoServer.sessions);
      first.retireConnection();
      await pool.request({ path: '/b' });
      const after = [...echoServer.sessions].filter((s) => !before.has(s));
      assert.equal(after.length, 1, 'a second session was opened');
      await pool.close();
    });
  });
}

import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createPool } from '../../src/transport/index.js';
import type { TransportEvent } from '../../src/transport/types.js';
import { delay, echo, rejection, serverTls, startH2Server, until } from './helpers.js';

/** An HTTP/1.1-only HTTPS server (no ALPN h2), like a push service that does not speak HTTP/2. */
async function startHttp1Server() {
  const tls = serverTls();
  const sockets = new Set<Socket>();
  let connections = 0;
  let open = 0;
  let maxOpen = 0;
  const server = https.createServer({ key: tls.server.keyPem, cert: tls.server.certPem }, (req, res) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const wait = req.url === '/slow' ? 2000 : 10;
      setTimeout(() => {
        open--;
        if (res.destroyed) return;
        res.writeHead(201, { 'x-version': req.httpVersion, location: '/m/1' });
        res.end(Buffer.concat(chunks));
      }, wait);
    });
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ca: tls.ca.certPem,
    get connections() {
      return connections;
    },
    get maxOpen() {
      return maxOpen;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('HTTP/1.1 and ALPN auto', () => {
  let h1: Awaited<ReturnType<typeof startHttp1Server>>;
  before(async () => {
    h1 = await startHttp1Server();
  });
  after(() => h1.close());

  test("protocol 'http1': keep-alive sockets, bounded by connections, same Pool interface", async () => {
    const events: TransportEvent[] = [];
    const pool = createPool({
      origin: h1.origin,
      tls: { ca: h1.ca },
      protocol: 'http1',
      connections: 2,
      onEvent: (e) => events.push(e),
    });
    const before = h1.connections;
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pool.request({ path: '/push', body: `m${i}`, headers: { ttl: '60' } }),
      ),
    );
    assert.deepEqual(
      responses.map((r) => r.body.toString()),
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
    assert.equal(responses[0]!.status, 201);
    assert.equal(responses[0]!.headers['x-version'], '1.1');
    assert.equal(h1.connections - before, 2, 'two sockets, reused');
    assert.ok(h1.maxOpen <= 2);
    assert.ok(events.some((e) => e.type === 'connect' && e.protocol === 'http1'));
    await pool.close();
  });

  test("protocol 'http1': timeout, abort and queue-full", async () => {
    const pool = createPool({
      origin: h1.origin,
      tls: { ca: h1.ca },
      protocol: 'http1',
      connections: 1,
      maxQueued: 1,
      timeoutMs: 200,
    });
    const slow = rejection(pool.request({ path: '/slow' }));
    const controller = new AbortController();
    const queued = rejection(pool.request({ path: '/slow', signal: controller.signal }));
    assert.equal((await rejection(pool.request({ path: '/' }))).reason, 'queue-full');
    controller.abort();
    assert.equal((await queued).code, 'aborted');
    assert.equal((await slow).code, 'timeout');
    assert.equal((await pool.request({ path: '/', body: 'after' })).body.toString(), 'after');
    await pool.close();
  });

  test("protocol 'http1': a BodyWriter body is made when the request is written", async () => {
    const pool = createPool({ origin: h1.origin, tls: { ca: h1.ca }, protocol: 'http1' });
    let made = 0;
    const response = await pool.request({
      path: '/',
      body: {
        body() {
          made++;
          return 'made for the wire';
        },
      },
    });
    assert.equal(response.body.toString(), 'made for the wire');
    assert.equal(made, 1);
    await pool.close();
  });

  test("protocol 'http1': a BodyWriter that throws fails its request internal, nothing sent", async () => {
    const pool = createPool({ origin: h1.origin, tls: { ca: h1.ca }, protocol: 'http1' });
    const error = await rejection(
      pool.request({
        path: '/',
        body: {
          body(): string {
            throw new Error('no body today');
          },
        },
      }),
    );
    assert.equal(error.code, 'internal');
    assert.equal((await pool.request({ path: '/', body: 'after' })).body.toString(), 'after');
    await pool.close();
  });

  test("protocol 'http1': untrusted certificate is a config error", async () => {
    const pool = createPool({ origin: h1.origin, protocol: 'http1' });
    assert.equal((await rejection(pool.request({ path: '/' }))).code, 'config');
    pool.destroy();
  });

  for (const protocol of ['h2', 'h2-wire'] as const) {
    test(`protocol '${protocol}' to an HTTP/1.1-only server is a config error naming the endpoint, not retried`, async () => {
      const pool = createPool({ origin: h1.origin, tls: { ca: h1.ca }, protocol });
      const error = await rejection(pool.request({ path: '/push', body: 'x' }));
      pool.destroy();
      assert.equal(error.code, 'config', error.message);
      assert.equal(error.reason, 'ALPN');
      assert.equal(error.retryable, false);
      assert.match(error.message, /does not speak the HTTP version asked for .*check the endpoint/);
    });
  }

  test("protocol 'auto' picks HTTP/1.1 when the server offers no h2", async () => {
    const events: TransportEvent[] = [];
    const pool = createPool({
      origin: h1.origin,
      tls: { ca: h1.ca },
      protocol: 'auto',
      onEvent: (e) => events.push(e),
    });
    const responses = await Promise.all([1, 2, 3].map((i) => pool.request({ path: '/', body: `a${i}` })));
    assert.ok(responses.every((r) => r.headers['x-version'] === '1.1'));
    assert.ok(events.some((e) => e.type === 'connect' && e.protocol === 'http1'));
    await pool.close();
  });

  // The HTTP/2 client is told apart by the SETTINGS it sends: node:http2 keeps the default
  // initial window (65,535); the wire client asks for 8 MiB.
  for (const [protocol, initialWindowSize] of [
    ['auto', 65_535],
    ['auto-wire', 8 * 1024 * 1024],
  ] as const) {
    test(`protocol '${protocol}' picks HTTP/2 when ALPN says h2 and reuses the probing connection`, async (t) => {
      const server = await startH2Server(echo, { allowHTTP1: true });
      t.after(() => server.close());
      const events: TransportEvent[] = [];
      const pool = createPool({
        origin: server.origin,
        tls: { ca: server.ca },
        protocol,
        connections: 1,
        onEvent: (e) => events.push(e),
      });
      const responses = await Promise.all([1, 2, 3].map((i) => pool.request({ path: '/', body: `b${i}` })));
      assert.deepEqual(
        responses.map((r) => r.body.toString()),
        ['b1', 'b2', 'b3'],
      );
      assert.deepEqual(
        events.filter((e) => e.type === 'connect').map((e) => (e.type === 'connect' ? e.protocol : '')),
        ['h2'],
      );
      assert.equal(server.sockets.size, 1, 'the ALPN probe became the HTTP/2 session');
      const [session] = [...server.sessions];
      assert.equal(
        session!.remoteSettings.initialWindowSize,
        initialWindowSize,
        'the HTTP/2 client asked for',
      );
      await pool.close();
      await until(() => server.sessions.size === 0);
    });
  }

  test("protocol 'auto' to an unreachable origin fails unavailable, and close() works before any connect", async () => {
    const pool = createPool({ origin: 'https://127.0.0.1:1', protocol: 'auto' });
    const error = await rejection(pool.request({ path: '/' }));
    assert.equal(error.code, 'unavailable');
    assert.equal(error.reason, 'ECONNREFUSED');
    await pool.close();
    await delay(1);
  });
});

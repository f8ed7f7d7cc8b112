/**
 * WireSession respects `socket.write()` back-pressure: with a server that stops reading, frames
 * wait in the session (bounded by what was requested) instead of piling into the socket, and
 * everything completes once the server reads again.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { it } from 'node:test';
import { WireSession, type WireStreamHandlers } from '../../../src/transport/wire/session.js';
import type { WireStream } from '../../../src/transport/wire/stream.js';
import { until } from '../helpers.js';

const REQUESTS = 400;
const BODY = Buffer.alloc(32 * 1024, 0x61);

it('holds frames while the socket is backed up and sends them all after drain', async () => {
  // h2c server with windows wide open, so bodies wait on back-pressure, not on flow control.
  const received: number[] = [];
  const server = http2.createServer({ settings: { initialWindowSize: 2 ** 31 - 1 } });
  server.on('session', (session) => session.setLocalWindowSize(2 ** 30));
  server.on('stream', (stream) => {
    let length = 0;
    stream.on('data', (chunk: Buffer) => {
      length += chunk.length;
    });
    stream.on('end', () => {
      received.push(length);
      stream.respond({ ':status': 200 });
      stream.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const serverPort = (server.address() as AddressInfo).port;

  // A proxy whose client side can stop being read: the client's writes then back up.
  const upstreams: net.Socket[] = [];
  let clientSide: net.Socket | null = null;
  const proxy = net.createServer((socket) => {
    clientSide = socket;
    const upstream = net.connect(serverPort, '127.0.0.1');
    upstreams.push(upstream);
    socket.pipe(upstream);
    upstream.pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');

  const socket = net.connect((proxy.address() as AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  const statuses = new Map<WireStream, number>();
  const closed: WireStream[] = [];
  const handlers: WireStreamHandlers = {
    response: (stream, headers) => statuses.set(stream, Number(headers[':status'])),
    data: () => {},
    end: () => {},
    error: () => {},
    close: (stream) => closed.push(stream),
  };
  const session = new WireSession(socket, { authority: 'sink', scheme: 'http', handlers });
  const errors: Error[] = [];
  session.on('error', (error: Error) => errors.push(error));
  try {
    await once(session, 'remoteSettings');
    await until(() => clientSide !== null);
    clientSide!.pause();

    // Requests in batches over several turns, as a pool issues them: each turn flushes.
    let maxSocketBuffer = 0;
    let maxBuffered = 0;
    const streams: WireStream[] = [];
    for (let sent = 0; sent < REQUESTS; ) {
      for (let i = 0; i < 20; i++, sent++) streams.push(session.request('POST', `/${sent}`, undefined, BODY));
      await new Promise((resolve) => setImmediate(resolve));
      maxSocketBuffer = Math.max(maxSocketBuffer, socket.writableLength);
      maxBuffered = Math.max(maxBuffered, session.bufferedBytes);
    }
    const requested = REQUESTS * (BODY.length + 9 + 64);
    // The kernel took some, the session holds the rest: all of it is accounted for, none lost...
    assert.ok(session.bufferedBytes > 0, 'the paused peer left bytes waiting');
    assert.ok(maxBuffered <= requested, `buffered ${maxBuffered} exceeds what was requested (${requested})`);
    // ...and the socket was not handed more once it said stop: at most the one write that said so
    // (one turn's batch, ~640 KB) sits in it, not the ~13 MB requested.
    assert.ok(maxSocketBuffer <= 2 * 1024 * 1024, `socket buffered ${maxSocketBuffer} bytes`);

    clientSide!.resume();
    await until(() => closed.length === REQUESTS, 20_000);
    assert.equal(received.length, REQUESTS);
    assert.ok(received.every((n) => n === BODY.length));
    assert.ok(streams.every((s) => statuses.get(s) === 200 && s.rstCode === 0));
    assert.equal(session.bufferedBytes, 0);
    assert.deepEqual(errors, []);
  } finally {
    session.close();
    socket.destroy();
    for (const upstream of upstreams) upstream.destroy();
    (clientSide as net.Socket | null)?.destroy();
    proxy.close();
    server.close();
  }
});

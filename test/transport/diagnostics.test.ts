/**
 * Connection and request events on node:diagnostics_channel (issue #11): a user or a metrics
 * library watches every pool by subscribing, without an option on each pool.
 */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import http2 from 'node:http2';
import { test } from 'node:test';
import { createPool, type RequestEndEvent, type TransportEvent } from '../../src/transport/index.js';
import { echo, H2_PROTOCOLS, startH2Server, until } from './helpers.js';

const NAMES = ['connect', 'connect-error', 'disconnect', 'goaway', 'ping-timeout', 'settings', 'resend'];

function record(t: { after(fn: () => void): void }, origin: () => string): TransportEvent[] {
  const seen: TransportEvent[] = [];
  for (const name of NAMES) {
    const listener = (message: unknown): void => {
      const event = message as TransportEvent;
      if (event.origin === origin()) seen.push(event);
    };
    diagnostics.subscribe(`pushline:pool:${name}`, listener);
    t.after(() => diagnostics.unsubscribe(`pushline:pool:${name}`, listener));
  }
  return seen;
}

for (const protocol of H2_PROTOCOLS) {
  test(`connect, resend, goaway and disconnect are published on pushline:pool:* (${protocol})`, async (t) => {
    let streams = 0;
    const server = await startH2Server((stream, body, headers) => {
      streams++;
      // The first stream is refused (the pool re-sends it); the third gets a GOAWAY after its answer.
      if (streams === 1) stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else {
        echo(stream, body, headers);
        if (streams === 3)
          (stream.session as http2.ServerHttp2Session).goaway(http2.constants.NGHTTP2_NO_ERROR);
      }
    });
    t.after(() => server.close());
    const seen = record(t, () => server.origin);
    const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 1 });
    t.after(() => pool.destroy());
    assert.equal((await pool.request({ path: '/', body: 'a' })).body.toString(), 'a');
    assert.equal((await pool.request({ path: '/', body: 'b' })).body.toString(), 'b');
    await until(() => seen.some((e) => e.type === 'goaway'));
    await pool.close();
    await until(() => seen.some((e) => e.type === 'disconnect'));
    const types = seen.map((e) => e.type);
    assert.equal(types[0], 'connect');
    assert.ok(types.includes('resend'), types.join(' '));
    assert.deepEqual(
      seen.find((e) => e.type === 'resend'),
      { type: 'resend', origin: server.origin, reason: 'NGHTTP2_REFUSED_STREAM' },
    );
    assert.ok(types.indexOf('goaway') > types.indexOf('resend'), types.join(' '));
  });
}

test('connect errors are published with the delay before the next attempt', async (t) => {
  const server = await startH2Server(echo);
  const origin = server.origin;
  await server.close(); // nothing listens there now
  const seen = record(t, () => origin);
  const pool = createPool({ origin, protocol: 'h2-wire', connectTimeoutMs: 2000 });
  t.after(() => pool.destroy());
  await assert.rejects(pool.request({ path: '/' }), { code: 'unavailable' });
  const failure = seen.find((e) => e.type === 'connect-error');
  assert.ok(failure !== undefined && failure.type === 'connect-error');
  assert.equal(failure.code, 'ECONNREFUSED');
  assert.ok(failure.retryInMs >= 0);
});

test('every settled request is published on pushline:request:end with its status or error and duration', async (t) => {
  const server = await startH2Server((stream, body, headers) => {
    if (body.toString() === 'hold') return; // never answered: the request times out
    echo(stream, body, headers);
  });
  t.after(() => server.close());
  const ends: RequestEndEvent[] = [];
  const listener = (message: unknown): void => {
    const event = message as RequestEndEvent;
    if (event.origin === server.origin) ends.push(event);
  };
  diagnostics.subscribe('pushline:request:end', listener);
  t.after(() => diagnostics.unsubscribe('pushline:request:end', listener));
  const pool = createPool({
    origin: server.origin,
    protocol: 'h2-wire',
    tls: { ca: server.ca },
    timeoutMs: 300,
  });
  t.after(() => pool.destroy());
  await pool.request({ path: '/', body: 'a' });
  await assert.rejects(pool.request({ path: '/', body: 'hold' }), { code: 'timeout' });
  assert.equal(ends.length, 2);
  assert.equal(ends[0]!.status, 200);
  assert.equal(ends[0]!.error, undefined);
  assert.equal(ends[1]!.error, 'timeout');
  assert.ok(ends[1]!.durationMs >= 300 && ends[1]!.durationMs < 5000, `${ends[1]!.durationMs} ms`);
});

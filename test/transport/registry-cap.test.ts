/**
 * PoolRegistry under many origins (issue #11): Web Push origins are chosen by whoever wrote the
 * subscriptions, so an attacker can name a thousand of them. The registry keeps at most
 * `maxPools` pools (and so a bounded number of sockets): idle ones make room for new origins,
 * and when every pool is busy the new origin's request fails `unavailable` while the others go on.
 */
import assert from 'node:assert/strict';
import type { LookupFunction } from 'node:net';
import { test } from 'node:test';
import { PoolRegistry } from '../../src/transport/index.js';
import { echo, H2_PROTOCOLS, type StreamHandler, startH2Server } from './helpers.js';

/** Every `*.test` name resolves to 127.0.0.1: one server, as many origins as we like. */
const toLoopback: LookupFunction = (_host, options, callback) => {
  if (typeof options === 'object' && options?.all) {
    (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [
      { address: '127.0.0.1', family: 4 },
    ]);
  } else callback(null, '127.0.0.1', 4);
};

for (const protocol of H2_PROTOCOLS) {
  test(`PoolRegistry keeps at most maxPools pools and sockets across 300 origins (${protocol})`, async (t) => {
    const server = await startH2Server(echo, { cleartext: true });
    t.after(() => server.close());
    let mostSockets = 0;
    server.server.on('connection', () => {
      mostSockets = Math.max(mostSockets, server.sockets.size);
    });
    const registry = new PoolRegistry({ protocol, lookup: toLoopback, maxPools: 20, connections: 1 });
    t.after(() => registry.destroy());
    let mostPools = 0;
    const origins = Array.from({ length: 300 }, (_, i) => `http://o${i}.test:${server.port}`);
    for (let i = 0; i < origins.length; i += 10) {
      const batch = origins.slice(i, i + 10);
      const bodies = await Promise.all(
        batch.map(async (origin) =>
          (await registry.get(origin).request({ path: '/', body: origin })).body.toString(),
        ),
      );
      assert.deepEqual(bodies, batch);
      mostPools = Math.max(mostPools, registry.size);
    }
    assert.ok(mostPools <= 20, `${mostPools} pools at once`);
    // Closed pools' sockets may still be closing when the next one connects: a little slack.
    assert.ok(mostSockets <= 30, `${mostSockets} sockets open at once on the server`);
  });
}

test('when every pool is busy a new origin fails unavailable, and the busy ones finish', async (t) => {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const slow: StreamHandler = (stream, body, headers) => {
    void held.then(() => echo(stream, body, headers));
  };
  const server = await startH2Server(slow, { cleartext: true });
  t.after(() => server.close());
  const registry = new PoolRegistry({ protocol: 'h2-wire', lookup: toLoopback, maxPools: 3 });
  t.after(() => registry.destroy());
  const busy = [0, 1, 2].map((i) =>
    registry.get(`http://b${i}.test:${server.port}`).request({ path: '/', body: `${i}` }),
  );
  assert.throws(() => registry.get(`http://new.test:${server.port}`), {
    code: 'unavailable',
    retryable: true,
    reason: 'too-many-origins',
  });
  release();
  assert.deepEqual(
    (await Promise.all(busy)).map((r) => r.body.toString()),
    ['0', '1', '2'],
  );
  // Idle now: the new origin takes the place of one of them.
  const late = await registry.get(`http://new.test:${server.port}`).request({ path: '/', body: 'late' });
  assert.equal(late.body.toString(), 'late');
  assert.equal(registry.size, 3);
});

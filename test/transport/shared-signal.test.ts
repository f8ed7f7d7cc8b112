/**
 * Many requests sharing one AbortSignal (as the engine sends them) hang off ONE listener on
 * that signal: aborting it aborts every unsettled one, in flight or queued, and the listener
 * goes once the last request settles.
 */
import assert from 'node:assert/strict';
import http2, { type ServerHttp2Stream } from 'node:http2';
import { test } from 'node:test';
import { createPool } from '../../src/transport/index.js';
import { H2_PROTOCOLS, rejection, startH2Server, until } from './helpers.js';

/** Counts the listeners an EventTarget holds for `type` by wrapping add/remove. */
function countListeners(signal: AbortSignal): { readonly count: number } {
  let count = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<AbortSignal['addEventListener']>) => {
    if (args[0] === 'abort') count++;
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<AbortSignal['removeEventListener']>) => {
    if (args[0] === 'abort') count--;
    remove(...args);
  };
  return {
    get count() {
      return count;
    },
  };
}

for (const protocol of H2_PROTOCOLS) {
  test(`one listener per shared signal; aborting it aborts in-flight and queued requests (${protocol})`, async (t) => {
    const held: ServerHttp2Stream[] = [];
    const server = await startH2Server((stream) => held.push(stream), {
      settings: { maxConcurrentStreams: 3 },
    });
    t.after(() => server.close());
    const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 1 });
    t.after(() => pool.destroy());
    const controller = new AbortController();
    const listeners = countListeners(controller.signal);
    const pending = Array.from({ length: 5 }, (_, i) =>
      rejection(pool.request({ path: `/${i}`, signal: controller.signal })),
    );
    await until(() => held.length === 3);
    assert.equal(listeners.count, 1);
    assert.equal(pool.stats.inFlight, 3);
    assert.equal(pool.stats.queued, 2);
    controller.abort();
    for (const error of await Promise.all(pending)) assert.equal(error.code, 'aborted');
    assert.equal(listeners.count, 0);
    await until(() => held.every((stream) => stream.closed));
    for (const stream of held) assert.equal(stream.rstCode, http2.constants.NGHTTP2_CANCEL);
    assert.equal(pool.stats.inFlight + pool.stats.queued, 0);
    await pool.close();
  });

  test(`the shared listener is removed once every request on the signal has settled (${protocol})`, async (t) => {
    const server = await startH2Server((stream) => {
      stream.respond({ ':status': 200 });
      stream.end('ok');
    });
    t.after(() => server.close());
    const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca } });
    t.after(() => pool.destroy());
    const controller = new AbortController();
    const listeners = countListeners(controller.signal);
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => pool.request({ path: `/${i}`, signal: controller.signal })),
    );
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.equal(listeners.count, 0);
    await pool.close();
  });
}

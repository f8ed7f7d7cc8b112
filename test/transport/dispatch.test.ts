/**
 * `pool.dispatch(request, sink, token)`: `request()` with the answer handed to a sink instead of
 * a promise (the engine's path for APNs and FCM). Exactly one answer per request, never during
 * the call, in the order the answers came, for every pool kind; and `dispatchOn` for a pool
 * that only has `request()`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PushError } from '../../src/errors.js';
import { dispatchOn } from '../../src/transport/dispatch.js';
import { createPool } from '../../src/transport/index.js';
import type { ResponseSink, TransportResponse } from '../../src/transport/types.js';
import { echo, H2_PROTOCOLS, startH2Server, type TestServer } from './helpers.js';

/** A sink that records what it got, and whether it got it during the dispatch call. */
function recorder() {
  const answers: Array<{ token: number; status?: number; body?: string; error?: unknown }> = [];
  let dispatching = false;
  let duringCall = 0;
  const waiters: Array<() => void> = [];
  const sink: ResponseSink<number> = {
    onResponse(response: TransportResponse, token) {
      if (dispatching) duringCall++;
      answers.push({ token, status: response.status, body: response.body.toString() });
      for (const wake of waiters.splice(0)) wake();
    },
    onError(error, token) {
      if (dispatching) duringCall++;
      answers.push({ token, error });
      for (const wake of waiters.splice(0)) wake();
    },
  };
  return {
    answers,
    sink,
    /** Runs `fn` as the dispatch call: an answer handed over while it runs is counted. */
    call(fn: () => void) {
      dispatching = true;
      try {
        fn();
      } finally {
        dispatching = false;
      }
    },
    get duringCall() {
      return duringCall;
    },
    async count(n: number) {
      while (answers.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

// The answers are handed over by the pool base every pool kind shares (base-pool.ts).
for (const protocol of H2_PROTOCOLS) {
  describe(`pool.dispatch (${protocol})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startH2Server(echo);
    });
    after(() => server.close());

    test('each request gets one answer, with its token, never during the dispatch call', async (t) => {
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca } });
      t.after(() => pool.destroy());
      const seen = recorder();
      for (let i = 0; i < 50; i++) {
        seen.call(() => pool.dispatch!({ path: '/', body: `body-${i}` }, seen.sink, i));
      }
      await seen.count(50);
      assert.equal(seen.duringCall, 0);
      assert.deepEqual(
        seen.answers.map((a) => a.token).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i),
      );
      for (const answer of seen.answers) assert.equal(answer.body, `body-${answer.token}`);
    });

    test('a refusal (closed pool, aborted signal, full queue) is an error handed over later, not thrown', async (t) => {
      const pool = createPool({
        origin: server.origin,
        protocol,
        tls: { ca: server.ca },
        concurrency: 1,
        maxQueued: 1,
      });
      t.after(() => pool.destroy());
      await pool.request({ path: '/', body: 'connect' });
      const seen = recorder();
      const aborted = AbortSignal.abort('stop');
      seen.call(() => {
        pool.dispatch!({ path: '/', body: 'a', signal: aborted }, seen.sink, 1);
        // Connected: one in flight, one waiting, and the third finds the queue full.
        pool.dispatch!({ path: '/', body: 'b' }, seen.sink, 2);
        pool.dispatch!({ path: '/', body: 'c' }, seen.sink, 3);
        pool.dispatch!({ path: '/', body: 'd' }, seen.sink, 4);
      });
      await seen.count(4);
      assert.equal(seen.duringCall, 0, 'no answer while dispatch() runs');
      const byToken = new Map(seen.answers.map((a) => [a.token, a]));
      assert.equal((byToken.get(1)!.error as PushError).code, 'aborted');
      assert.equal(byToken.get(2)!.status, 200);
      assert.equal(byToken.get(3)!.status, 200);
      assert.equal((byToken.get(4)!.error as PushError).reason, 'queue-full');
      await pool.close();
      seen.call(() => pool.dispatch!({ path: '/', body: 'e' }, seen.sink, 5));
      await seen.count(5);
      assert.equal((seen.answers[4]!.error as PushError).code, 'closed');
      assert.equal(seen.duringCall, 0);
    });

    test('destroy() fails what is in flight through the sink, once each', async (t) => {
      const slow = await startH2Server(() => {});
      t.after(() => slow.close());
      const pool = createPool({ origin: slow.origin, protocol, tls: { ca: slow.ca } });
      const seen = recorder();
      for (let i = 0; i < 5; i++) pool.dispatch!({ path: '/', body: 'x' }, seen.sink, i);
      await new Promise((resolve) => setTimeout(resolve, 200));
      seen.call(() => void pool.destroy());
      await seen.count(5);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(seen.answers.length, 5, 'one answer each');
      assert.equal(seen.duringCall, 0, 'handed over after destroy() returned');
      for (const answer of seen.answers) assert.equal((answer.error as PushError).code, 'closed');
    });
  });
}

test('dispatchOn: a pool with only request() answers through the sink, its rejection as an error', async () => {
  const seen = recorder();
  const pool = {
    request: (req: { body?: unknown }) =>
      req.body === 'fail'
        ? Promise.reject(new PushError('unavailable', 'down'))
        : Promise.resolve({
            status: 200,
            headers: {},
            body: Buffer.from('ok'),
          } as unknown as TransportResponse),
  };
  const throwing = {
    request: () => {
      throw new Error('synchronous');
    },
  };
  seen.call(() => {
    dispatchOn(pool, { path: '/', body: 'x' }, seen.sink, 1);
    dispatchOn(pool, { path: '/', body: 'fail' }, seen.sink, 2);
    dispatchOn(throwing as never, { path: '/' }, seen.sink, 3);
  });
  await seen.count(3);
  assert.equal(seen.duringCall, 0);
  const byToken = new Map(seen.answers.map((a) => [a.token, a]));
  assert.equal(byToken.get(1)!.status, 200);
  assert.equal((byToken.get(2)!.error as PushError).code, 'unavailable');
  assert.equal((byToken.get(3)!.error as Error).message, 'synchronous');
});

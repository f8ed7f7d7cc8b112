/**
 * The pool's in-flight limit against real HTTP/2 servers: it grows when the server is far (a
 * delayed answer) and backs off when the server refuses streams or answers 429, while every
 * request is answered exactly once; a fixed `concurrency` stays fixed. The limiter's own
 * arithmetic is tested with a fake clock in limiter.test.ts; here nothing asserts a speed.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { describe, type TestContext, test } from 'node:test';
import { createPool, type PoolOptions } from '../../src/transport/index.js';
import type { Pool } from '../../src/transport/types.js';
import { H2_PROTOCOLS, type H2Protocol, startH2Server, type TestServer } from './helpers.js';

/** Counts each body the server processed, and the most it held at once across connections. */
function counting() {
  const processed = new Map<string, number>();
  let holding = 0;
  return {
    processed,
    peak: 0,
    take(body: Buffer) {
      processed.set(body.toString(), (processed.get(body.toString()) ?? 0) + 1);
      holding++;
      if (holding > this.peak) this.peak = holding;
    },
    done() {
      holding--;
    },
  };
}

const limitOf = (pool: Pool) => pool.limit ?? Number.NaN;

type Limits = Pick<PoolOptions, 'concurrency' | 'initialConcurrency' | 'maxConcurrency'>;

/** A pool on `server` with these limits; the pool and the server are closed after the test. */
function poolOn(t: TestContext, server: TestServer, protocol: H2Protocol, limits: Limits): Pool {
  const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, ...limits });
  t.after(async () => {
    await pool.destroy();
    await server.close();
  });
  return pool;
}

for (const protocol of H2_PROTOCOLS) {
  describe(`adaptive in-flight limit (${protocol})`, () => {
    test('grows past its start when every answer takes 100 ms, and stops at maxConcurrency', async (t) => {
      const seen = counting();
      const server = await startH2Server((stream, body) => {
        seen.take(body);
        setTimeout(() => {
          seen.done();
          if (stream.destroyed) return;
          stream.respond({ ':status': 200 });
          stream.end();
        }, 100);
      });
      const pool = poolOn(t, server, protocol, { initialConcurrency: 10, maxConcurrency: 80 });
      assert.equal(limitOf(pool), 10);
      const bodies = Array.from({ length: 1500 }, (_, i) => `r${i}`);
      const statuses = await Promise.all(
        bodies.map((body) => pool.request({ path: '/', body }).then((r) => r.status)),
      );
      assert.deepEqual(new Set(statuses), new Set([200]));
      assert.ok(limitOf(pool) > 10, `the limit grew: ${limitOf(pool)}`);
      assert.ok(limitOf(pool) <= 80, `within maxConcurrency: ${limitOf(pool)}`);
      assert.ok(seen.peak > 10, `the server saw more than the initial limit at once: ${seen.peak}`);
      assert.ok(seen.peak <= 80, `never more than maxConcurrency at once: ${seen.peak}`);
      for (const body of bodies) assert.equal(seen.processed.get(body), 1, body);
    });

    test('backs off on REFUSED_STREAM, re-sending the refused requests: each processed exactly once', async (t) => {
      const seen = counting();
      let refusals = 40;
      const server = await startH2Server((stream, body) => {
        if (refusals > 0) {
          refusals--;
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          return;
        }
        seen.take(body);
        seen.done();
        stream.respond({ ':status': 200 });
        stream.end();
      });
      const pool = poolOn(t, server, protocol, { initialConcurrency: 200 });
      const bodies = Array.from({ length: 100 }, (_, i) => `r${i}`);
      const statuses = await Promise.all(
        bodies.map((body) => pool.request({ path: '/', body }).then((r) => r.status)),
      );
      assert.deepEqual(new Set(statuses), new Set([200]));
      // Halved to 100 (then free to grow back, but 100 requests cannot saturate 150): without the
      // back-off it would be at least 200, the initial limit being its floor on latency alone.
      assert.ok(limitOf(pool) < 200, `backed off: ${limitOf(pool)}`);
      for (const body of bodies) assert.equal(seen.processed.get(body), 1, body);
    });

    test('backs off on 429, which reaches the caller as an answer (the provider decides about it)', async (t) => {
      let answered = 0;
      const server = await startH2Server((stream) => {
        answered++;
        stream.respond({ ':status': answered <= 5 ? 429 : 200 });
        stream.end();
      });
      const pool = poolOn(t, server, protocol, { initialConcurrency: 64 });
      const statuses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          pool.request({ path: '/', body: `r${i}` }).then((r) => r.status),
        ),
      );
      assert.equal(statuses.filter((s) => s === 429).length, 5);
      assert.equal(statuses.filter((s) => s === 200).length, 15);
      assert.ok(limitOf(pool) <= 32, `halved: ${limitOf(pool)}`);
    });

    test('a fixed concurrency stays fixed: never more in flight, never moved by refusals', async (t) => {
      const seen = counting();
      let refusals = 10;
      const server = await startH2Server((stream, body) => {
        if (refusals > 0) {
          refusals--;
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          return;
        }
        seen.take(body);
        setTimeout(() => {
          seen.done();
          if (stream.destroyed) return;
          stream.respond({ ':status': 200 });
          stream.end();
        }, 20);
      });
      const pool = poolOn(t, server, protocol, { concurrency: 5 });
      const bodies = Array.from({ length: 60 }, (_, i) => `r${i}`);
      await Promise.all(bodies.map((body) => pool.request({ path: '/', body })));
      assert.equal(limitOf(pool), 5);
      assert.ok(seen.peak <= 5, `at most 5 at once: ${seen.peak}`);
      assert.equal(seen.peak, 5, 'and it used them');
      for (const body of bodies) assert.equal(seen.processed.get(body), 1, body);
    });
  });
}

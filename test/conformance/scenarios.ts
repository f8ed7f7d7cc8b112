/**
 * The conformance scenarios, run against one kind of server on each of the pool's HTTP/2
 * clients. Every scenario starts its own server (some need their own settings) and asserts
 * on both sides: what the client got back, and what the server counted per path.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, test } from 'node:test';
import { createCertificateAuthority } from '../../src/emulator/tls.js';
import { PushError } from '../../src/errors.js';
import { createPool } from '../../src/transport/index.js';
import type { Pool, PoolOptions, TransportEvent, TransportResponse } from '../../src/transport/types.js';
import { H2_PROTOCOLS, type H2Protocol, rejection, until } from '../transport/helpers.js';
import {
  BINARY_ENV,
  type ConformanceServer,
  findBinary,
  type ServerKind,
  type ServerOptions,
  startServer,
  versionOf,
} from './servers.js';

/** Waits until the server has counted `total` requests under `prefix` (logs are written after the answer). */
async function settledCounts(
  server: ConformanceServer,
  prefix: string,
  total: number,
): Promise<Map<string, number>> {
  const end = Date.now() + 5000;
  for (;;) {
    const counts = new Map([...(await server.counts())].filter(([path]) => path.startsWith(prefix)));
    const sum = [...counts.values()].reduce((a, b) => a + b, 0);
    if (sum >= total || Date.now() > end) return counts;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Asserts the server processed each of `paths` exactly once and nothing else under `prefix`. */
function assertEachOnce(counts: Map<string, number>, paths: string[], prefix: string): void {
  const duplicates = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(duplicates, [], 'the server processed these requests more than once');
  const missing = paths.filter((path) => !counts.has(path));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} requests never reached the server`);
  const unexpected = [...counts.keys()].filter((path) => path.startsWith(prefix) && !paths.includes(path));
  assert.deepEqual(unexpected, []);
}

interface Setup {
  server: ConformanceServer;
  pool: Pool;
  events: TransportEvent[];
}

export function conformanceSuite(kind: ServerKind): void {
  const binary = findBinary(kind);
  const ci = process.env.CI === 'true';
  if (!binary) {
    const why = `no ${kind} binary (set ${BINARY_ENV[kind]} or install it)`;
    if (!ci) {
      console.warn(
        `\n${'!'.repeat(78)}\n!! SKIPPING the HTTP/2 conformance tests against ${kind}: ${why}.\n` +
          '!! Run `bash .ci/conformance-servers.sh` (as root, Debian 12) to install nghttpd, nginx and\n' +
          '!! Go, build the Go server, and print the PUSHLINE_* variables the tests read.\n' +
          `${'!'.repeat(78)}\n`,
      );
    }
    // Under CI a missing server is a failure, not a skip.
    test(`the ${kind} server is installed`, {
      skip: ci ? false : `${why}: conformance tests skipped`,
    }, () => {
      assert.fail(`${why}; CI must run .ci/conformance-servers.sh first`);
    });
    return;
  }
  const version = versionOf(kind, binary);

  for (const protocol of H2_PROTOCOLS) {
    describe(`conformance: ${version} × pool '${protocol}'`, { timeout: 120_000 }, () => {
      let open: Array<() => Promise<void> | void> = [];
      // Each test's servers and pools go when it ends, passed or failed.
      afterEach(async () => {
        const closing = open.reverse();
        open = [];
        for (const close of closing) await close();
      });

      /** A fresh server and a pool on it; both closed after the test even if it fails. */
      async function setup(
        serverOptions: ServerOptions = {},
        poolOptions: Partial<PoolOptions> = {},
      ): Promise<Setup> {
        const server = await startServer(kind, binary!, serverOptions);
        open.push(() => server.close());
        const events: TransportEvent[] = [];
        const pool = createPool({
          origin: server.origin,
          protocol: protocol as H2Protocol,
          tls: { ca: server.ca },
          timeoutMs: 15_000,
          onEvent: (event) => events.push(event),
          ...poolOptions,
        });
        open.push(() => pool.destroy());
        return { server, pool, events };
      }

      test('2,000 concurrent small requests: each answered with its own body, each processed exactly once', async () => {
        const { server, pool } = await setup({}, { connections: 2 });
        const total = 2000;
        const sent = Array.from({ length: total }, (_, i) => server.small(i));
        const responses = await Promise.all(sent.map(({ request }) => pool.request(request)));
        responses.forEach((response, i) => {
          assert.equal(response.status, 200, `request ${i}`);
          assert.deepEqual(response.body, sent[i]!.expect, `request ${i} got another request's answer`);
        });
        const paths = sent.map(({ request }) => request.path);
        assertEachOnce(await settledCounts(server, '/r/', total), paths, '/r/');
        await pool.close();
      });

      test('flow control: 1 MiB bodies up and down, four at once on one connection, byte-exact', async () => {
        const { server, pool } = await setup({}, { connections: 1, maxResponseBodyBytes: 2 * 1024 * 1024 });
        // Both directions exceed the 64 KiB initial stream window many times over, and four
        // streams at once exceed the initial connection window too.
        const bodies = Array.from({ length: 4 }, () => randomBytes(1024 * 1024));
        const back = await Promise.all(bodies.map((body, i) => server.roundTrip(pool, `b${i}`, body)));
        back.forEach((body, i) => {
          assert.equal(body.length, bodies[i]!.length, `body ${i} length`);
          assert.ok(body.equals(bodies[i]!), `body ${i} differs`);
        });
        await pool.close();
      });

      test('a low SETTINGS_MAX_CONCURRENT_STREAMS is honoured: nothing refused, all answered once', async () => {
        const limit = 3;
        const { server, pool, events } = await setup({ maxConcurrentStreams: limit }, { connections: 1 });
        const total = 300;
        const sent = Array.from({ length: total }, (_, i) => server.small(i));
        const settled = await Promise.allSettled(sent.map(({ request }) => pool.request(request)));
        const failed = settled.filter((s) => s.status === 'rejected') as PromiseRejectedResult[];
        assert.deepEqual(
          failed.slice(0, 3).map((f) => String(f.reason)),
          [],
          `${failed.length} requests failed`,
        );
        const settings = events.filter((e) => e.type === 'settings');
        assert.ok(settings.length > 0, 'the pool reported the server SETTINGS');
        for (const e of settings) assert.equal(e.type === 'settings' && e.maxConcurrentStreams, limit);
        // Where the server logs what it refused, it refused nothing: the client waited.
        const refusals = server.refusals();
        if (refusals !== undefined) assert.equal(refusals, 0, 'streams the server refused over its limit');
        assertEachOnce(
          await settledCounts(server, '/r/', total),
          sent.map(({ request }) => request.path),
          '/r/',
        );
        await pool.close();
      });

      const goaway =
        kind === 'nghttpd'
          ? 'nghttpd has no way to send a graceful GOAWAY mid-run (no per-connection limit, no graceful stop)'
          : false;
      test('graceful GOAWAY mid-run: every request answered, none processed twice', {
        skip: goaway,
      }, async () => {
        // nginx: keepalive_requests 50 → GOAWAY after every 50th request on a connection.
        // Go: /_goaway → graceful shutdown of the open connections once 100 answers are in,
        // with the rest of the first half still in flight; the second half is sent once the
        // pool has seen that GOAWAY (so the run cannot finish before it, however slow the box).
        const { server, pool, events } = await setup({ requestsPerConnection: 50 }, { connections: 1 });
        const total = 1000;
        const sent = Array.from({ length: total }, (_, i) => server.small(i));
        const half = total / 2;
        let answered = 0;
        let secondHalf: Promise<TransportResponse[]> | undefined;
        const send = (from: number, to: number) =>
          Promise.all(
            sent.slice(from, to).map(async ({ request }) => {
              const response = await pool.request(request);
              if (++answered === 100) {
                secondHalf = (async () => {
                  if (server.goaway) {
                    await server.goaway();
                    await until(() => events.some((e) => e.type === 'goaway'));
                  }
                  return send(half, total);
                })();
              }
              return response;
            }),
          );
        const first = await send(0, half);
        const responses = [...first, ...(await secondHalf!)];
        responses.forEach((response, i) => {
          assert.equal(response.status, 200);
          assert.deepEqual(response.body, sent[i]!.expect);
        });
        assert.ok(
          events.some((e) => e.type === 'goaway'),
          'the server sent GOAWAY during the run',
        );
        assertEachOnce(
          await settledCounts(server, '/r/', total),
          sent.map(({ request }) => request.path),
          '/r/',
        );
        await pool.close();
      });

      // node:http2 against a SIGKILLed nginx sometimes keeps one session's streams "open" and
      // never emits 'close' (its TLS socket still reads as open). Its requests end by the pool's
      // timeout, each of which probes the connection with a PING (h2-pool.ts cancel()): unanswered
      // within pingTimeoutMs, the session is destroyed, so the retries go elsewhere and close()
      // is not left waiting for it.
      test('server SIGKILLed mid-run and restarted on its port: one outcome per request, none hangs, none twice', async (t) => {
        const timeoutMs = 4000;
        const { server, pool } = await setup(
          {},
          { connections: 2, timeoutMs, pingTimeoutMs: 2000, backoffBaseMs: 50, backoffMaxMs: 300 },
        );
        const total = 600;
        const sent = Array.from({ length: total }, (_, i) => server.small(i));
        let answered = 0;
        let killed: Promise<void> | undefined;
        const hung = Symbol('hung');
        const outcomes = await Promise.all(
          sent.map(async ({ request }) => {
            let timer: NodeJS.Timeout | undefined;
            const guard = new Promise<typeof hung>((resolve) => {
              // Far past the request timeout: a request still pending then is hung.
              timer = setTimeout(() => resolve(hung), timeoutMs + 5000);
            });
            const outcome = pool.request(request).then(
              (response) => {
                if (++answered === 100) {
                  // Restarted at once: requests the pool wrongly re-sent would reach the new
                  // life and show up twice in the counts (nginx and nghttpd count both lives).
                  killed = server.kill().then(() => server.restart());
                }
                return response;
              },
              (error: unknown) => error,
            );
            const result = await Promise.race([outcome, guard]);
            clearTimeout(timer);
            return result;
          }),
        );
        await killed;
        assert.equal(
          outcomes.filter((o) => o === hung).length,
          0,
          'requests with no outcome long after their timeout',
        );
        const errors = outcomes.filter((o) => !(o as TransportResponse).status);
        for (const error of errors) {
          assert.ok(error instanceof PushError, `expected a PushError, got ${String(error)}`);
        }
        const ok = outcomes.filter((o) => (o as TransportResponse).status === 200).length;
        assert.ok(ok >= 100, `answered before the kill: ${ok}`);
        assert.equal(ok + errors.length, total);
        t.diagnostic(
          `${ok} answered, ${errors.length} failed: ${[...new Set(errors.map((e) => (e as PushError).code))]}`,
        );
        // The restarted server answers the same pool (once its reconnect backoff, at most
        // backoffMaxMs, has run out: until then the pool fails fast with the connect error).
        const again = server.small(total);
        const retryUntil = Date.now() + 3000;
        let response: TransportResponse | undefined;
        while (response === undefined) {
          try {
            response = await pool.request(again.request);
          } catch (error) {
            if (Date.now() > retryUntil) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        assert.deepEqual(response.body, again.expect);
        // Nothing was processed twice (nginx and nghttpd count over both lives, Go since its restart).
        const counts = await settledCounts(server, '/r/', 0);
        assert.deepEqual(
          [...counts].filter(([, n]) => n > 1),
          [],
        );
        // Every request has settled: closing has nothing left to wait for but the sessions.
        let closeTimer: NodeJS.Timeout | undefined;
        const closed = await Promise.race([
          pool.close().then(() => true),
          new Promise<false>((resolve) => {
            closeTimer = setTimeout(resolve, timeoutMs + 5000, false);
          }),
        ]);
        clearTimeout(closeTimer);
        assert.ok(closed, `pool.close() still waiting ${timeoutMs + 5000} ms after every request settled`);
      });

      test('TLS: a certificate from an unknown CA and a certificate for another name are config errors', async () => {
        const { server } = await setup();
        const stranger = createCertificateAuthority('not the server CA');
        const wrongCa = createPool({ origin: server.origin, protocol, tls: { ca: stranger.certPem } });
        open.push(() => wrongCa.destroy());
        const untrusted = await rejection(wrongCa.request({ path: '/r/x' }));
        assert.equal(untrusted.code, 'config');
        assert.match(untrusted.reason ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY|ISSUER/);
        const wrongName = createPool({
          origin: server.origin,
          protocol,
          tls: { ca: server.ca, servername: 'push.example.com' },
        });
        open.push(() => wrongName.destroy());
        const mismatch = await rejection(wrongName.request({ path: '/r/x' }));
        assert.equal(mismatch.code, 'config');
        assert.equal(mismatch.reason, 'ERR_TLS_CERT_ALTNAME_INVALID');
        const counts = await server.counts();
        assert.equal(counts.get('/r/x'), undefined, 'no request reached the server');
      });
    });
  }
}

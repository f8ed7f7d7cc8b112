import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createPool, PoolRegistry } from '../../src/transport/index.js';
import {
  delay,
  echo,
  H2_PROTOCOLS,
  type H2Protocol,
  startH2Server,
  type TestServer,
  until,
} from './helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/exit-after-close.ts', import.meta.url));

/** Runs fixtures/exit-after-close.ts: the child must exit on its own after close()/destroy(). */
function runChild(
  mode: 'close' | 'destroy',
  protocol: H2Protocol,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', fixture, mode, protocol],
      { timeout: 20_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

for (const protocol of H2_PROTOCOLS) {
  describe(`pool life cycle (${protocol})`, () => {
    let server: TestServer;
    before(async () => {
      server = await startH2Server(echo);
    });
    after(() => server.close());

    test('the process exits by itself after close()', async () => {
      const started = Date.now();
      const result = await runChild('close', protocol);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), 'done close');
      assert.ok(Date.now() - started < 15_000);
    });

    test('the process exits by itself after destroy()', async () => {
      const result = await runChild('destroy', protocol);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), 'done destroy');
    });

    test('PoolRegistry: one pool per origin, idle pools closed and forgotten', async (t) => {
      const registry = new PoolRegistry({ protocol, tls: { ca: server.ca }, idleCloseMs: 100 });
      t.after(() => registry.destroy());
      const pool = registry.get(server.origin);
      assert.equal(registry.get(`${server.origin}/some/path`), pool, 'keyed by origin');
      const other = registry.get(server.origin.replace('127.0.0.1', 'localhost'));
      assert.notEqual(other, pool);
      assert.equal(registry.size, 2);
      await pool.request({ path: '/', body: 'x' });
      await until(() => registry.size === 0, 3000);
      await until(() => pool.stats.connections === 0, 3000);
      await assert.rejects(pool.request({ path: '/' }), { code: 'closed' });
      const fresh = registry.get(server.origin);
      assert.notEqual(fresh, pool);
      assert.equal((await fresh.request({ path: '/', body: 'again' })).body.toString(), 'again');
      await registry.close();
      assert.equal(registry.size, 0);
      assert.throws(() => registry.get(server.origin), { code: 'closed' });
    });

    test('PoolRegistry keeps a pool with requests in flight', async (t) => {
      const slow = await startH2Server((stream, body) => setTimeout(() => echo(stream, body, {}), 400));
      t.after(() => slow.close());
      const registry = new PoolRegistry({ protocol, tls: { ca: slow.ca }, idleCloseMs: 80 });
      t.after(() => registry.destroy());
      const pool = registry.get(slow.origin);
      const response = await pool.request({ path: '/', body: 'slow' });
      assert.equal(response.body.toString(), 'slow');
      assert.equal(registry.get(slow.origin), pool, 'not closed while busy');
      await registry.destroy();
      assert.equal(registry.size, 0);
    });

    test('PoolRegistry.destroy() resolves once every socket of its pools has closed', async () => {
      // Client sockets (TLS ones connect through net.Socket#connect) and their 'close' events:
      // `socket.closed` turns true at destroy(), before the socket is released.
      let opened = 0;
      let closed = 0;
      const connect = net.Socket.prototype.connect;
      net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
        opened++;
        this.once('close', () => closed++);
        return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
      } as typeof connect;
      const registry = new PoolRegistry({ protocol, tls: { ca: server.ca } });
      try {
        const pools = [
          registry.get(server.origin),
          registry.get(server.origin.replace('127.0.0.1', 'localhost')),
        ];
        await Promise.all(pools.map((pool) => pool.request({ path: '/', body: 'x' })));
      } finally {
        net.Socket.prototype.connect = connect;
      }
      await registry.destroy();
      assert.equal(opened, 2, 'one connection per pool');
      assert.equal(closed, opened, 'every socket closed when destroy() resolves');
      await registry.destroy();
    });

    test('close() on an unused pool resolves at once; destroy() twice is harmless', async () => {
      // A fresh server, so that no other test's connection counts: an unused pool opens none.
      const quiet = await startH2Server(echo);
      let connections = 0;
      quiet.server.on('connection', () => connections++);
      try {
        const pool = createPool({ origin: quiet.origin, protocol, tls: { ca: quiet.ca } });
        const closed = await Promise.race([
          pool.close().then(() => 'closed'),
          delay(500).then(() => 'pending'),
        ]);
        assert.equal(closed, 'closed', 'close() of a pool that never sent must not wait for anything');
        assert.equal(pool.stats.connections, 0);
        pool.destroy();
        pool.destroy();
        await assert.rejects(pool.request({ path: '/', body: 'late' }), { code: 'closed' });
        await delay(20);
        assert.equal(connections, 0, 'an unused, closed pool never connects');
      } finally {
        await quiet.close();
      }
    });
  });
}

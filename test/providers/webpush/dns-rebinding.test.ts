/**
 * The SSRF guard checks the addresses a connection really uses, not only the first DNS
 * answer: a host that resolves to a public address when checked and to a loopback one when
 * connected (DNS rebinding) never gets a connection.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EndpointGuard } from '../../../src/providers/webpush/endpoint-guard.js';
import { generateVapidKeys, webPush } from '../../../src/providers/webpush/index.js';

/** Answers a public address first, then loopback: a rebinding attacker's DNS. */
function rebindingDns() {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    lookup: async (_host: string) => [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1' }],
  };
}

describe('DNS rebinding', () => {
  let server: net.Server;
  let port: number;
  let connections = 0;
  before(async () => {
    server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('connectLookup hands a connection only allowed addresses', async () => {
    const dns = rebindingDns();
    const guard = new EndpointGuard({ lookup: dns.lookup });
    assert.equal(
      await guard.check(new URL(`https://push.rebind.test:${port}/x`)),
      undefined,
      'public at check time',
    );
    const error = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const socket = net.connect({ host: 'push.rebind.test', port, lookup: guard.connectLookup() });
      socket.once('connect', () => reject(new Error('connected to a loopback address')));
      socket.once('error', resolve);
    });
    assert.equal(error.code, 'EREFUSEDADDRESS');
    assert.match(error.message, /resolves to 127\.0\.0\.1, a loopback address/);
    assert.equal(connections, 0);
  });

  it('connectLookup lets allowed hosts through unchanged', async () => {
    const guard = new EndpointGuard({
      lookup: async () => [{ address: '127.0.0.1' }],
      allowHosts: ['local.test'],
    });
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: 'local.test', port, lookup: guard.connectLookup() });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(connections, 1);
    connections = 0;
  });

  it('a send whose host rebinds to loopback fails without ever connecting', async () => {
    const dns = rebindingDns();
    const provider = webPush({
      vapid: { subject: 'mailto:ops@example.com', ...generateVapidKeys() },
      lookup: dns.lookup,
    });
    try {
      const p256dh = Buffer.from(
        (await import('node:crypto')).createECDH('prime256v1').generateKeys(),
      ).toString('base64url');
      const subscription = {
        endpoint: `https://push.rebind.test:${port}/push/abc`,
        keys: { p256dh, auth: Buffer.alloc(16, 7).toString('base64url') },
      };
      const outcome = await provider.prepare({ body: 'x' }, {}).send!(
        { platform: 'web', token: subscription },
        { signal: new AbortController().signal, attempt: 1 },
      );
      assert.equal(outcome.ok, false);
      assert.ok(!outcome.ok);
      assert.equal(outcome.error.reason, 'EREFUSEDADDRESS', outcome.error.message);
      assert.ok(dns.calls >= 2, 'checked at the request and again at the connect');
      assert.equal(connections, 0, 'no connection reached the loopback server');
    } finally {
      await provider.close();
    }
  });
});

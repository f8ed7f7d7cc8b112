/**
 * Through a CONNECT proxy the endpoint guard still decides where the connection goes: pushline
 * resolves the host itself, vets the address and asks the proxy for that IP literal, so a
 * name that rebinds between the check and the connect never reaches a refused address.
 * `proxyResolvesHosts` hands the name to the proxy instead (documented: the proxy must vet).
 */
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startWebPushEmulator, type WebPushEmulator } from '../../../src/emulator/webpush/index.js';
import type { Outcome, Provider } from '../../../src/provider.js';
import { generateVapidKeys, webPush } from '../../../src/providers/webpush/index.js';

/** A CONNECT proxy whose own "DNS" sends every name to 127.0.0.1; it records the targets asked for. */
async function startProxy() {
  const targets: string[] = [];
  const sockets = new Set<Socket>();
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    targets.push(req.url ?? '');
    sockets.add(client);
    const url = req.url ?? '';
    const port = Number(url.slice(url.lastIndexOf(':') + 1));
    const upstream = net.connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    targets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

const ctx = () => ({ signal: new AbortController().signal, attempt: 1 });

function subscriptionAt(endpoint: string) {
  return {
    endpoint,
    keys: {
      p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
      auth: Buffer.alloc(16, 7).toString('base64url'),
    },
  };
}

async function sendOne(provider: Provider, endpoint: string): Promise<Outcome> {
  return provider.prepare({ body: 'x' }, {}).send!(
    { platform: 'web', token: subscriptionAt(endpoint) },
    ctx(),
  );
}

describe('Web Push through a CONNECT proxy (SSRF)', () => {
  let emulator: WebPushEmulator;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let port: number;
  before(async () => {
    emulator = await startWebPushEmulator();
    port = Number(new URL(emulator.origin).port);
    proxy = await startProxy();
  });
  after(async () => {
    await proxy.close();
    await emulator.close();
  });

  it('a host that rebinds to loopback at connect time never gets a CONNECT', async () => {
    let calls = 0;
    const provider = webPush({
      vapid: { subject: 'mailto:ops@example.com', ...generateVapidKeys() },
      ca: emulator.ca,
      proxy: proxy.url,
      encryptionThreads: 0,
      // Public when the guard checks, loopback when the connection is made.
      lookup: async () => [{ address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1' }],
    });
    const before = emulator.stats.requests;
    try {
      const outcome = await sendOne(provider, `https://push.rebind.test:${port}/push/abc`);
      assert.ok(!outcome.ok);
      assert.equal(outcome.error.reason, 'EREFUSEDADDRESS', outcome.error.message);
      assert.match(outcome.error.message, /resolves to 127\.0\.0\.1, a loopback address/);
      assert.ok(calls >= 2, 'looked up again for the connection');
      assert.deepEqual(proxy.targets, [], 'the proxy was never asked to connect');
      assert.equal(emulator.stats.requests, before, 'nothing reached the loopback server');
    } finally {
      await provider.close();
    }
  });

  it('tunnels to the vetted IP literal, while TLS still checks the host name', async () => {
    proxy.targets.length = 0;
    // localhost is allowed here (as for a private push service) and resolves to 127.0.0.1.
    const provider = webPush({
      vapid: emulator.vapid,
      ca: emulator.ca,
      proxy: proxy.url,
      allowHosts: ['localhost'],
      encryptionThreads: 0,
      lookup: async () => [{ address: '127.0.0.1' }],
    });
    try {
      const outcome = await sendOne(provider, `https://localhost:${port}/push/unknown`);
      // The emulator answered (TLS with servername localhost succeeded): 404 for an unknown subscription.
      assert.equal(outcome.httpStatus, 404, JSON.stringify(outcome));
      assert.deepEqual(proxy.targets, [`127.0.0.1:${port}`]);
    } finally {
      await provider.close();
    }
  });

  it('proxyResolvesHosts hands the name to the proxy (which must then vet it)', async () => {
    proxy.targets.length = 0;
    const provider = webPush({
      vapid: emulator.vapid,
      ca: emulator.ca,
      proxy: proxy.url,
      proxyResolvesHosts: true,
      allowHosts: ['localhost'],
      encryptionThreads: 0,
      lookup: async () => [{ address: '127.0.0.1' }],
    });
    try {
      const outcome = await sendOne(provider, `https://localhost:${port}/push/unknown`);
      assert.equal(outcome.httpStatus, 404, JSON.stringify(outcome));
      assert.deepEqual(proxy.targets, [`localhost:${port}`]);
    } finally {
      await provider.close();
    }
  });
});

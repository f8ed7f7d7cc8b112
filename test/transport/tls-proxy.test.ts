import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { issueCertificate, toPkcs12 } from '../../src/emulator/tls.js';
import { PushError } from '../../src/errors.js';
import { createPool } from '../../src/transport/index.js';
import { echo, H2_PROTOCOLS, rejection, serverTls, startH2Server, type TestServer } from './helpers.js';

/** A tiny HTTP CONNECT proxy that records what it was asked; `deny` answers 407 instead. */
async function startProxy(options: { deny?: boolean } = {}) {
  const requests: Array<{ target: string; auth: string | undefined }> = [];
  const sockets = new Set<Socket>();
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    requests.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] });
    sockets.add(client);
    if (options.deny) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n');
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
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
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

for (const protocol of H2_PROTOCOLS) {
  describe(`TLS and proxy (${protocol})`, () => {
    let server: TestServer;
    let mtlsServer: TestServer;
    let peerNames: string[];
    before(async () => {
      server = await startH2Server(echo);
      peerNames = [];
      const tls = serverTls();
      mtlsServer = await startH2Server(
        (stream, body) => {
          const peer = (stream.session?.socket as TLSSocket | undefined)?.getPeerCertificate();
          peerNames.push(String(peer?.subject?.CN ?? ''));
          echo(stream, body, {});
        },
        { requestCert: true, rejectUnauthorized: true, ca: tls.ca.certPem },
      );
    });
    after(async () => {
      await server.close();
      await mtlsServer.close();
    });

    test('an untrusted server certificate is a config error', async () => {
      const pool = createPool({ origin: server.origin, protocol });
      const error = await rejection(pool.request({ path: '/' }));
      assert.equal(error.code, 'config');
      assert.equal(error.retryable, false);
      assert.equal(error.stopsLane, true);
      assert.match(error.reason ?? '', /SELF_SIGNED|UNABLE_TO_VERIFY|ISSUER/);
      pool.destroy();
    });

    test('a certificate for another name is a config error', async () => {
      const pool = createPool({
        origin: server.origin,
        protocol,
        tls: { ca: server.ca, servername: 'push.example.com' },
      });
      const error = await rejection(pool.request({ path: '/' }));
      assert.equal(error.code, 'config');
      assert.equal(error.reason, 'ERR_TLS_CERT_ALTNAME_INVALID');
      pool.destroy();
    });

    test('client certificate (PEM) accepted by a server that requires one', async () => {
      const client = issueCertificate(serverTls().ca, { commonName: 'pem-client', usage: 'client' });
      const pool = createPool({
        origin: mtlsServer.origin,
        protocol,
        tls: { ca: mtlsServer.ca, cert: client.certPem, key: client.keyPem },
      });
      assert.equal((await pool.request({ path: '/', body: 'pem' })).body.toString(), 'pem');
      assert.ok(peerNames.includes('pem-client'));
      await pool.close();
    });

    test('client certificate (PKCS#12 with passphrase) accepted by a server that requires one', async () => {
      const ca = serverTls().ca;
      const client = issueCertificate(ca, { commonName: 'p12-client', usage: 'client' });
      const pfx = toPkcs12(client, 's3cret', ca);
      const pool = createPool({
        origin: mtlsServer.origin,
        protocol,
        tls: { ca: mtlsServer.ca, pfx, passphrase: 's3cret' },
      });
      assert.equal((await pool.request({ path: '/', body: 'p12' })).body.toString(), 'p12');
      assert.ok(peerNames.includes('p12-client'));
      await pool.close();
      assert.throws(
        () => createPool({ origin: mtlsServer.origin, protocol, tls: { pfx, passphrase: 'wrong' } }),
        (error: unknown) => error instanceof PushError && error.code === 'config',
      );
    });

    test('no client certificate where one is required is a config error', async () => {
      const pool = createPool({ origin: mtlsServer.origin, protocol, tls: { ca: mtlsServer.ca } });
      const error = await rejection(pool.request({ path: '/' }));
      assert.equal(error.code, 'config', `${error.reason}: ${error.message}`);
      pool.destroy();
    });

    test('HTTP CONNECT proxy with Basic credentials', async (t) => {
      const proxy = await startProxy();
      t.after(() => proxy.close());
      const url = new URL(proxy.url);
      url.username = 'user';
      url.password = 'p@ss';
      const pool = createPool({
        origin: server.origin,
        protocol,
        tls: { ca: server.ca },
        proxy: url.toString(),
      });
      assert.equal((await pool.request({ path: '/', body: 'via proxy' })).body.toString(), 'via proxy');
      assert.deepEqual(proxy.requests, [
        { target: `127.0.0.1:${server.port}`, auth: `Basic ${Buffer.from('user:p@ss').toString('base64')}` },
      ]);
      await pool.close();
    });

    test('a proxy refusing CONNECT (407) is a config error', async (t) => {
      const proxy = await startProxy({ deny: true });
      t.after(() => proxy.close());
      const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, proxy: proxy.url });
      const error = await rejection(pool.request({ path: '/' }));
      assert.equal(error.code, 'config');
      assert.equal(error.reason, 'proxy-407');
      pool.destroy();
    });
  });
}

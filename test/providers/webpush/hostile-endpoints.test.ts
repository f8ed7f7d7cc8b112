/**
 * Issue #12, "one subscription stops Web Push for everyone": honest subscriptions on the
 * emulator mixed with subscriptions on servers that answer 401/403, present a certificate we
 * don't trust, answer garbage or redirect. Every honest subscriber is sent; each hostile one
 * fails with a code that names its push service, never a lane-stopping one; a hostile origin
 * gets few requests (its circuit opens). Only two independent well-known push services refusing
 * our key stop the lane.
 */
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import net, { type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { PushClient } from '../../../src/client.js';
import type { Device } from '../../../src/device.js';
import { createServerTls } from '../../../src/emulator/tls.js';
import { startWebPushEmulator, type WebPushEmulator } from '../../../src/emulator/webpush/index.js';
import type { Feedback } from '../../../src/feedback.js';
import { webPush } from '../../../src/providers/webpush/index.js';

const trusted = createServerTls('pushline hostile test (trusted)');
const untrusted = createServerTls('pushline hostile test (untrusted)');

interface Hostile {
  origin: string;
  requests: number;
  /** TCP connections accepted (a TLS failure makes connections, never requests). */
  connections: number;
  close(): Promise<void>;
}

/** An HTTPS (h2 + HTTP/1.1) server answering every POST with `status` and `body`. */
async function answering(status: number, body: string, headers: Record<string, string> = {}, ca = trusted) {
  const state = { requests: 0 };
  const server: Http2SecureServer = createSecureServer(
    { cert: ca.server.certPem, key: ca.server.keyPem, allowHTTP1: true },
    (req, res) => {
      state.requests++;
      req.resume();
      req.on('end', () =>
        res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body),
      );
    },
  );
  return listen(server, state);
}

/** A TLS server (certificate trusted, ALPN h2) that answers bytes no HTTP/2 server sends. */
async function garbage() {
  const state = { requests: 0 };
  const server = tls.createServer(
    { cert: trusted.server.certPem, key: trusted.server.keyPem, ALPNProtocols: ['h2'] },
    (socket) => {
      state.requests++;
      socket.on('error', () => undefined);
      socket.end(Buffer.from('garbage garbage garbage garbage\r\n\r\n'));
    },
  );
  return listen(server, state);
}

/** A plain TCP server on an https endpoint: answers in clear text, no TLS. */
async function plaintext() {
  const state = { requests: 0 };
  const server = net.createServer((socket) => {
    state.requests++;
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
  });
  return listen(server, state);
}

async function listen(
  server: net.Server | tls.Server | Http2SecureServer,
  state: { requests: number },
): Promise<Hostile> {
  const sockets = new Set<Socket>();
  let connections = 0;
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return state.requests;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function subscriptionAt(origin: string, i: number) {
  return {
    endpoint: `${origin}/push/hostile-${i}`,
    keys: {
      p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
      auth: Buffer.alloc(16, i % 256).toString('base64url'),
    },
  };
}

type Row = Device & { id: number; kind: string };

async function collect(client: PushClient, devices: Row[]): Promise<Feedback<Row>[]> {
  const feedback: Feedback<Row>[] = [];
  for await (const fb of client.send({ title: 'Hello', body: 'honest and hostile' }, devices))
    feedback.push(fb);
  return feedback;
}

describe('Web Push: hostile endpoints fail themselves, never the lane', () => {
  let emulator: WebPushEmulator;
  const hostiles: Record<string, Hostile> = {};
  before(async () => {
    emulator = await startWebPushEmulator({ origins: 3, maxMessages: 0 });
    hostiles['403'] = await answering(403, '{"reason":"BadJwtToken"}');
    hostiles['401'] = await answering(
      401,
      '{"code":401,"errno":109,"error":"Unauthorized","message":"nope"}',
    );
    hostiles['untrusted-tls'] = await answering(403, '{}', {}, untrusted);
    hostiles['garbage'] = await garbage();
    hostiles['redirect'] = await answering(302, '', { location: 'https://169.254.169.254/' });
    hostiles['plaintext'] = await plaintext();
  });
  after(async () => {
    await Promise.all(Object.values(hostiles).map((hostile) => hostile.close()));
    await emulator.close();
  });

  it('every honest subscriber is sent; each hostile one fails with its own, non-lane-stopping error', async () => {
    const honestCount = 1500;
    const perHostile = 50;
    const devices: Row[] = [];
    let id = 0;
    for (let i = 0; i < honestCount; i++) {
      devices.push({ platform: 'web', token: emulator.subscribe(), id: id++, kind: 'honest' });
      // Interleaved: one hostile subscription after every few honest ones, from the start.
      const kinds = Object.keys(hostiles);
      if (i % 5 === 0 && i / 5 < perHostile * kinds.length) {
        const kind = kinds[(i / 5) % kinds.length]!;
        devices.push({ platform: 'web', token: subscriptionAt(hostiles[kind]!.origin, i), id: id++, kind });
      }
    }
    const client = new PushClient({
      providers: [
        webPush({
          ...emulator.providerOptions,
          ca: [emulator.ca, trusted.ca.certPem],
          concurrency: 16,
          encryptionThreads: 0,
        }),
      ],
      retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
    });
    let feedback: Feedback<Row>[];
    try {
      feedback = await collect(client, devices);
    } finally {
      await client.close();
    }
    assert.equal(feedback.length, devices.length, 'one feedback per device');
    const lineOf = (fb: Feedback<Row>) => `${fb.device.kind} ${fb.status} ${fb.error?.code ?? ''}`;
    const honest = feedback.filter((fb) => fb.device.kind === 'honest');
    assert.equal(honest.length, honestCount);
    assert.deepEqual(
      honest.filter((fb) => fb.status !== 'sent').map(lineOf),
      [],
      'every honest subscriber is sent',
    );
    for (const fb of feedback) {
      assert.equal(fb.error?.stopsLane ?? false, false, `${lineOf(fb)}: ${fb.error?.message}`);
    }
    const byKind = (kind: string) => feedback.filter((fb) => fb.device.kind === kind);
    for (const kind of Object.keys(hostiles)) {
      const failed = byKind(kind);
      assert.equal(failed.length, perHostile, kind);
      assert.ok(
        failed.every((fb) => fb.status === 'failed'),
        `${kind}: ${failed.map(lineOf).join(', ')}`,
      );
      // The circuit opened: the hostile origin saw far fewer requests than it had subscriptions.
      assert.ok(hostiles[kind]!.requests < perHostile, `${kind}: ${hostiles[kind]!.requests} requests`);
      assert.ok(
        hostiles[kind]!.connections < perHostile,
        `${kind}: ${hostiles[kind]!.connections} connections`,
      );
      assert.ok(
        failed.some((fb) => /times in a row/.test(fb.error!.message)),
        `${kind}: the later ones fail fast, naming the origin`,
      );
    }
    const codes = (kind: string) => [...new Set(byKind(kind).map((fb) => fb.error!.code))].sort();
    assert.deepEqual(codes('403'), ['bad-request']);
    assert.deepEqual(codes('401'), ['bad-request']);
    assert.deepEqual(codes('redirect'), ['bad-request']);
    assert.deepEqual(codes('untrusted-tls'), ['unavailable']);
    assert.ok(byKind('untrusted-tls').every((fb) => fb.error!.retryable === false));
    assert.match(
      byKind('untrusted-tls')[0]!.error!.message,
      /TLS certificate of push service .* is not trusted/,
    );
    assert.deepEqual(codes('garbage'), ['unavailable']);
    assert.deepEqual(codes('plaintext'), ['unavailable']);
    assert.ok(hostiles['untrusted-tls']!.connections > 0, 'the untrusted server was tried');
    assert.equal(emulator.stats.byStatus[201], honestCount);
  });

  it('two independent well-known push services refusing our key still stop the lane (auth)', async () => {
    // The emulator's push services reached as https://localhost:<port>: our JWT's audience is
    // then https://localhost:<port>, which they refuse with 403 BadJwtToken — a real refusal.
    const viaLocalhost = emulator.origins
      .slice(0, 2)
      .map((origin) => origin.replace('127.0.0.1', 'localhost'));
    const devices: Row[] = [];
    let id = 0;
    for (let i = 0; i < 400; i++) {
      const origin = i % 2;
      const subscription = emulator.subscribe({ origin });
      devices.push({
        platform: 'web',
        token: { ...subscription, endpoint: subscription.endpoint.replace('127.0.0.1', 'localhost') },
        id: id++,
        kind: 'refused',
      });
    }
    const requestsBefore = emulator.stats.requests;
    const client = new PushClient({
      providers: [
        webPush({
          ...emulator.providerOptions,
          allowHosts: ['127.0.0.1', 'localhost'],
          pushServices: viaLocalhost,
          concurrency: 8,
          encryptionThreads: 0,
        }),
      ],
    });
    let feedback: Feedback<Row>[];
    try {
      feedback = await collect(client, devices);
    } finally {
      await client.close();
    }
    assert.equal(feedback.length, devices.length);
    const auth = feedback.filter((fb) => fb.error?.code === 'auth');
    assert.ok(auth.length > 300, `most devices failed with the lane's auth error (${auth.length})`);
    assert.ok(auth.every((fb) => fb.error!.stopsLane));
    assert.match(auth[0]!.error!.message, /our VAPID key is refused by 2 independent push services/);
    assert.ok(emulator.stats.requests - requestsBefore < 40, 'the lane stopped: no request per device');
  });
});

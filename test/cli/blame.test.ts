/**
 * Issue #12: the exit code and the message name the party at fault. Web Push subscriptions on
 * push services that refuse them (403) or present a certificate we don't trust are a partial
 * failure (1) whose message says the credentials are fine — not 78 "fix your keys" — and every
 * honest subscriber is sent. Exit 78 stays for a lane stopped by our own credentials
 * (errors.test.ts: APNs InvalidProviderToken).
 */
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { partialFailureMessage, providerStopMessage } from '../../src/cli/report.js';
import { createServerTls, type ServerTls } from '../../src/emulator/tls.js';
import { startWebPushEmulator, type WebPushEmulator } from '../../src/emulator/webpush/index.js';
import { PushError } from '../../src/errors.js';
import { ndjson, runCli } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-cli-blame-'));
const trusted = createServerTls('pushline cli blame (trusted)');
const untrusted = createServerTls('pushline cli blame (untrusted)');

async function refusing(tls: ServerTls) {
  const sockets = new Set<Socket>();
  const server: Http2SecureServer = createSecureServer(
    { cert: tls.server.certPem, key: tls.server.keyPem, allowHTTP1: true },
    (req, res) => {
      req.resume();
      req.on('end', () =>
        res.writeHead(403, { 'content-type': 'application/json' }).end('{"reason":"BadJwtToken"}'),
      );
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function subscriptionAt(origin: string, i: number) {
  return {
    endpoint: `${origin}/push/stranger-${i}`,
    keys: {
      p256dh: createECDH('prime256v1').generateKeys().toString('base64url'),
      auth: Buffer.alloc(16, i).toString('base64url'),
    },
  };
}

describe('pushline send: who is blamed', () => {
  let emulator: WebPushEmulator;
  let forbidden: Awaited<ReturnType<typeof refusing>>;
  let badCertificate: Awaited<ReturnType<typeof refusing>>;
  before(async () => {
    emulator = await startWebPushEmulator();
    forbidden = await refusing(trusted);
    badCertificate = await refusing(untrusted);
  });
  after(async () => {
    await forbidden.close();
    await badCertificate.close();
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('push services refusing some subscriptions: exit 1, every honest one sent, the message clears the credentials', async () => {
    writeFileSync(join(dir, 'ca.pem'), `${emulator.ca}\n${trusted.ca.certPem}`);
    writeFileSync(join(dir, 'vapid.txt'), `${emulator.vapid.privateKey}\n`);
    const config = join(dir, 'pushline.json');
    writeFileSync(
      config,
      JSON.stringify({
        providers: {
          webpush: {
            subject: emulator.vapid.subject,
            publicKey: emulator.vapid.publicKey,
            privateKeyFile: 'vapid.txt',
            allowHosts: ['127.0.0.1'],
            caFile: 'ca.pem',
          },
        },
      }),
    );
    const lines: string[] = [];
    let honest = 0;
    for (let id = 1; id <= 60; id++) {
      const kind = id % 4 === 0 ? 'forbidden' : id % 4 === 1 ? 'bad-certificate' : 'honest';
      const token =
        kind === 'honest'
          ? emulator.subscribe()
          : subscriptionAt(kind === 'forbidden' ? forbidden.origin : badCertificate.origin, id);
      if (kind === 'honest') honest++;
      lines.push(JSON.stringify({ id, kind, platform: 'web', token: JSON.stringify(token) }));
    }
    const devices = join(dir, 'devices.ndjson');
    writeFileSync(devices, `${lines.join('\n')}\n`);
    const out = join(dir, 'out.ndjson');
    const run = await runCli([
      'send',
      '--config',
      config,
      '--devices',
      devices,
      '--title',
      'Hello',
      '--out',
      out,
      '--no-progress',
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /\w+ stopped:|check its credentials|pushline: error/);
    assert.match(
      run.stderr,
      /30 devices failed, each for its own reason: no provider was stopped, so your credentials are not at fault/,
    );
    assert.match(run.stderr, /webpush bad-request × \d+/);
    assert.match(run.stderr, /webpush unavailable × \d+ \(e\.g\. the TLS certificate of push service/);
    const feedback = ndjson(readFileSync(out, 'utf8')) as Array<
      ReturnType<typeof ndjson>[number] & { device: { kind?: string } }
    >;
    assert.equal(feedback.length, 60);
    assert.equal(
      feedback.filter((line) => line.device.kind === 'honest' && line.status === 'sent').length,
      honest,
    );
    assert.ok(
      feedback.filter((line) => line.device.kind !== 'honest').every((line) => line.status === 'failed'),
    );
  });

  test('the messages: a stopped lane names credentials or options; a partial failure clears them', () => {
    const auth = new PushError('auth', 'InvalidProviderToken', { provider: 'apns' });
    assert.equal(
      providerStopMessage(auth),
      'apns stopped: InvalidProviderToken (check its credentials in --config or the environment)',
    );
    const config = new PushError('config', 'BadTopic', { provider: 'apns' });
    assert.match(providerStopMessage(config), /check its options in --config/);
    assert.equal(partialFailureMessage([]), undefined);
    const note = partialFailureMessage([
      { provider: 'webpush', code: 'bad-request', count: 3, example: 'x'.repeat(500) },
      { provider: 'webpush', code: 'unavailable', count: 1, example: 'tls' },
      { provider: 'fcm', code: 'bad-request', count: 1, example: 'b' },
      { provider: 'apns', code: 'rate-limited', count: 1, example: 'r' },
    ]);
    assert.match(note ?? '', /^6 devices failed, each for its own reason: no provider was stopped/);
    assert.match(note ?? '', /webpush bad-request × 3 \(e\.g\. x{240}…\)/);
    assert.match(note ?? '', /and 1 more kinds \(see --out\)$/);
  });
});

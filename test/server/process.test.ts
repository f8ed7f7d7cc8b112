/**
 * `pushline serve` as a real process, sending for real (to the emulators): API keys refused
 * and accepted per scope, idempotency (the emulator receives each push once), a 100,000-device
 * NDJSON upload with flat server memory, and a graceful shutdown that loses nothing accepted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { createCertificateAuthority, issueCertificate } from '../../src/emulator/tls.js';
import { hashApiKey } from '../../src/server/auth.js';
import { call, memoryMiB, type ServeProcess, settled, startServe } from './process-support.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-serve-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const iosToken = () => randomBytes(32).toString('hex');
const KEY = {
  shopSender: `pl_${randomBytes(32).toString('base64url')}`,
  shopReader: `pl_${randomBytes(32).toString('base64url')}`,
  newsAll: `pl_${randomBytes(32).toString('base64url')}`,
};

function writeConfig(name: string, config: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** The environment that points the single app `default` at a test-owned APNs emulator. */
function apnsEnv(emulator: Emulator): Record<string, string> {
  const keyFile = join(dir, `apns-${emulator.apns.keyId}.p8`);
  const caFile = join(dir, `apns-ca-${emulator.apns.keyId}.pem`);
  const options = emulator.apns.providerOptions as { key: string; ca: string };
  writeFileSync(keyFile, options.key, { mode: 0o600 });
  writeFileSync(caFile, options.ca);
  return {
    PUSHLINE_APNS_TEAM_ID: emulator.apns.teamId,
    PUSHLINE_APNS_KEY_ID: emulator.apns.keyId,
    PUSHLINE_APNS_KEY_FILE: keyFile,
    PUSHLINE_APNS_TOPIC: emulator.apns.topic,
    PUSHLINE_APNS_ENDPOINT: emulator.apns.origin,
    PUSHLINE_CA_FILE: caFile,
  };
}

/** Reads a send's feedback stream to its end (it follows the send until it ends). */
async function feedbackLines(url: string, key: string, id: string): Promise<Array<Record<string, unknown>>> {
  const response = await fetch(`${url}/v1/sends/${id}/feedback`, {
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(response.status, 200);
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}

describe('pushline serve, a real process', { timeout: 600_000 }, () => {
  test('API keys: refused without one, 403 outside their scope, accepted within it', async (t) => {
    const config = writeConfig('scopes.json', {
      apps: { shop: {}, news: {} },
      apiKeys: {
        shopSender: { hash: hashApiKey(KEY.shopSender), apps: ['shop'], permissions: ['send'] },
        shopReader: { hash: hashApiKey(KEY.shopReader), apps: ['shop'], permissions: ['read'] },
        newsAll: { hash: hashApiKey(KEY.newsAll), apps: ['news'], permissions: ['send', 'read'] },
      },
    });
    const server = await startServe(['--config', config, '--emulator']);
    t.after(() => server.kill());
    const { url } = server;
    const send = (app?: string) => ({
      ...(app ? { app } : {}),
      notification: { title: 'Hello' },
      devices: [{ platform: 'ios', token: iosToken(), id: 1 }],
    });

    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await call(url, undefined, 'POST', '/v1/sends', send())).status, 401);
    assert.equal((await call(url, 'pl_not_a_key', 'POST', '/v1/sends', send())).status, 401);
    assert.equal((await call(url, KEY.shopReader, 'POST', '/v1/sends', send())).status, 403);
    assert.equal((await call(url, KEY.shopSender, 'POST', '/v1/sends', send('news'))).status, 403);

    const accepted = await call(url, KEY.shopSender, 'POST', '/v1/sends', send());
    assert.equal(accepted.status, 202);
    const id = accepted.json['id'] as string;
    const done = await settled(url, KEY.shopReader, id);
    assert.equal(done['app'], 'shop');
    assert.equal((done['counts'] as { sent: number }).sent, 1);
    const lines = await feedbackLines(url, KEY.shopReader, id);
    assert.deepEqual(
      lines.map((line) => [(line['device'] as { id: number }).id, line['status']]),
      [[1, 'sent']],
    );
    // Another app's key does not see it; the sending key may not read.
    assert.equal((await call(url, KEY.newsAll, 'GET', `/v1/sends/${id}`)).status, 404);
    assert.equal((await call(url, KEY.shopSender, 'GET', `/v1/sends/${id}`)).status, 403);
    // No secret in the log: neither a key nor a token.
    for (const key of Object.values(KEY)) assert.ok(!server.stdout().includes(key));
  });

  test('`pushline serve --emulator` alone: the key it prints once sends, gorush’s Quick Start included', async (t) => {
    const server = await startServe(['--emulator']);
    t.after(() => server.kill());
    // The banner (with the key made for this run) follows the 'listening' log line.
    for (let i = 0; i < 200 && !/Stop with Ctrl-C/.test(server.stderr()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const key = /API key\s+(pl_\S+)/.exec(server.stderr())?.[1];
    assert.ok(key, `the banner names the key:\n${server.stderr()}`);
    assert.ok(!server.stdout().includes(key), 'the key is not in the log');
    // The banner's own example, as printed.
    const example = /-d '(\{"notification".*\})'/.exec(server.stderr())?.[1];
    assert.ok(example, server.stderr());
    const created = await call(server.url, key, 'POST', '/v1/sends', JSON.parse(example));
    assert.equal(created.status, 202, JSON.stringify(created.json));
    const done = await settled(server.url, key, created.json['id'] as string);
    assert.equal((done['counts'] as { sent: number }).sent, 1, JSON.stringify(done));
    // gorush's Quick Start request (FCM), sync: delivered to the FCM emulator.
    const quick = await call(server.url, key, 'POST', '/api/push?sync=true', {
      notifications: [
        {
          tokens: ['your_device_token'],
          platform: 2,
          title: 'Hello World',
          message: 'Your first notification!',
        },
      ],
    });
    assert.deepEqual(quick.json, { counts: 1, logs: [], success: 'ok' });
    assert.equal((await call(server.url, undefined, 'POST', '/v1/sends', JSON.parse(example))).status, 401);
  });

  test('apps from the config: one APNs key serves two apps (each send with its topic); Web Push devices inline', async (t) => {
    const emulator = await startEmulator({
      apns: {
        teamId: 'TEAM000001',
        topic: 'com.example.shop',
        // The team owns both apps, as Apple's does for one developer account.
        teams: { TEAM000001: ['com.example.shop', 'com.example.news'] },
      },
      fcm: false,
    });
    t.after(() => emulator.close());
    const env = apnsEnv(emulator);
    const webCa = join(dir, 'webpush-ca.pem');
    const vapidKey = join(dir, 'vapid-private-key.txt');
    writeFileSync(webCa, String(emulator.webpush.providerOptions.ca));
    writeFileSync(vapidKey, emulator.webpush.vapid.privateKey, { mode: 0o600 });
    const apnsFor = (topic: string) => ({
      teamId: env['PUSHLINE_APNS_TEAM_ID'],
      keyId: env['PUSHLINE_APNS_KEY_ID'],
      keyFile: env['PUSHLINE_APNS_KEY_FILE'],
      endpoint: env['PUSHLINE_APNS_ENDPOINT'],
      caFile: env['PUSHLINE_CA_FILE'],
      topic,
    });
    const config = writeConfig('apps.json', {
      apps: {
        shop: { apns: apnsFor('com.example.shop') },
        news: {
          apns: apnsFor('com.example.news'),
          webpush: {
            subject: emulator.webpush.vapid.subject,
            publicKey: emulator.webpush.vapid.publicKey,
            privateKeyFile: vapidKey,
            allowHosts: ['127.0.0.1'],
            caFile: webCa,
          },
        },
      },
      apiKeys: { ops: { hash: hashApiKey(KEY.newsAll), apps: ['*'], permissions: ['send', 'read'] } },
    });
    const server = await startServe(['--config', config]);
    t.after(() => server.kill());
    for (const app of ['shop', 'news']) {
      const created = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', {
        app,
        notification: { title: app },
        devices: [{ platform: 'ios', token: iosToken() }],
      });
      assert.equal(created.status, 202, JSON.stringify(created.json));
      const done = await settled(server.url, KEY.newsAll, created.json['id'] as string);
      assert.equal((done['counts'] as { sent: number }).sent, 1, JSON.stringify(done));
    }
    assert.deepEqual(
      emulator.apns.notifications.map((n) => n.topic),
      ['com.example.shop', 'com.example.news'],
    );
    // Web Push devices go inline like any other: the subscription object is the token.
    const subscription = emulator.webpush.subscribe();
    const web = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', {
      app: 'news',
      notification: { title: 'To the browser', body: 'from the server' },
      devices: [{ platform: 'web', token: subscription, id: 'w1' }],
    });
    assert.equal(web.status, 202, JSON.stringify(web.json));
    const webDone = await settled(server.url, KEY.newsAll, web.json['id'] as string);
    assert.equal((webDone['counts'] as { sent: number }).sent, 1, JSON.stringify(webDone));
    const received = emulator.webpush.messages();
    assert.equal(received.length, 1);
    assert.match(received[0]!.text, /To the browser/);
    // A web device sent to an app without Web Push fails as no-provider, in its feedback.
    const noWeb = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', {
      app: 'shop',
      notification: { title: 'x' },
      devices: [{ platform: 'web', token: emulator.webpush.subscribe() }],
    });
    const [line] = await feedbackLines(server.url, KEY.newsAll, noWeb.json['id'] as string);
    assert.equal((line!['error'] as { code: string }).code, 'no-provider');
    // Naming no app with several apps and no default app is a 400 naming the field.
    const unnamed = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', {
      notification: { title: 'x' },
      devices: [{ platform: 'ios', token: iosToken() }],
    });
    assert.equal(unnamed.status, 400);
    assert.equal(unnamed.json['field'], 'body.app');
  });

  test('Idempotency-Key: a retried request sends nothing twice', async (t) => {
    const emulator = await startEmulator({ fcm: false, webpush: false });
    t.after(() => emulator.close());
    const config = writeConfig('idempotency.json', {
      apiKeys: { ci: { hash: hashApiKey(KEY.newsAll), apps: ['*'], permissions: ['send', 'read'] } },
    });
    const server = await startServe(['--config', config], apnsEnv(emulator));
    t.after(() => server.kill());
    const devices = Array.from({ length: 20 }, (_, id) => ({ platform: 'ios', token: iosToken(), id }));
    const body = { notification: { title: 'Once' }, devices };
    const headers = { 'idempotency-key': 'order-2026-0001' };
    const first = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', body, headers);
    const second = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', body, headers);
    assert.equal(first.status, 202);
    assert.equal(second.status, 200);
    assert.equal(second.json['id'], first.json['id']);
    await settled(server.url, KEY.newsAll, first.json['id'] as string);
    const third = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', body, headers);
    assert.equal(third.json['id'], first.json['id']);
    assert.equal(emulator.apns.notifications.length, 20, 'each device received the push once');
  });

  test('a 100,000-device NDJSON upload is streamed: the server’s memory stays flat', async (t) => {
    const config = writeConfig('stream.json', {
      apiKeys: { ci: { hash: hashApiKey(KEY.newsAll), apps: ['*'], permissions: ['send', 'read'] } },
    });
    // The APNs emulator in this process (in sink mode: it keeps no record of 100,000 pushes),
    // so that the server's memory is the server's own.
    const emulator = await startEmulator({
      apns: { scenarios: { sink: true } },
      fcm: false,
      webpush: false,
      hms: false,
    });
    t.after(() => emulator.close());
    const server = await startServe(['--config', config], apnsEnv(emulator));
    t.after(() => server.kill());
    const pid = server.child.pid!;
    // Warm up (first request compiles schemas, opens connections), then take the baseline.
    const warm = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', {
      notification: { title: 'warm-up' },
      devices: [{ platform: 'ios', token: iosToken() }],
    });
    await settled(server.url, KEY.newsAll, warm.json['id'] as string);
    const before = memoryMiB(pid);

    const DEVICES = 100_000;
    // ~600 bytes a device, 60 MB in all, each sent to the emulator. Measured on 2 shared cores:
    // streamed, the peak grows 8–10 MiB; held whole (the body buffered before parsing), ~300 MiB.
    const padding = 'x'.repeat(500);
    const token = iosToken();
    const body = Readable.from(
      (function* () {
        yield `${JSON.stringify({ notification: { title: 'Streamed' } })}\n`;
        for (let id = 0; id < DEVICES; id += 1000) {
          let chunk = '';
          for (let i = id; i < id + 1000; i++)
            chunk += `{"platform":"ios","token":"${token}","id":${i},"note":"${padding}"}\n`;
          yield chunk;
        }
      })(),
    );
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${server.url}/v1/sends`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY.newsAll}`, 'content-type': 'application/x-ndjson' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      body.pipe(req);
    });
    assert.equal(answer.status, 202, answer.body);
    const { id, accepted } = JSON.parse(answer.body) as { id: string; accepted: number };
    assert.equal(accepted, DEVICES);
    const done = await settled(server.url, KEY.newsAll, id);
    assert.equal((done['counts'] as { sent: number }).sent, DEVICES);
    const afterwards = memoryMiB(pid);
    const growth = afterwards.peak - before.rss;
    t.diagnostic(
      `server RSS ${before.rss.toFixed(0)} MiB before, peak ${afterwards.peak.toFixed(0)} MiB during a ${((DEVICES * 600) / 1e6).toFixed(0)} MB upload (+${growth.toFixed(0)} MiB)`,
    );
    assert.ok(growth < 100, `the server grew by ${growth.toFixed(0)} MiB during the upload`);
  });

  test('server.tls in the config: the listener speaks HTTPS only, with that certificate', async (t) => {
    const ca = createCertificateAuthority('pushline serve test CA');
    const issued = issueCertificate(ca, {
      commonName: '127.0.0.1',
      altNames: ['127.0.0.1'],
      usage: 'server',
    });
    const certFile = join(dir, 'server.pem');
    const keyFile = join(dir, 'server-key.pem');
    writeFileSync(certFile, issued.certPem);
    writeFileSync(keyFile, issued.keyPem, { mode: 0o600 });
    const config = writeConfig('tls.json', {
      server: { tls: { certFile, keyFile } },
      apiKeys: { ci: { hash: hashApiKey(KEY.newsAll), apps: ['*'], permissions: ['send', 'read'] } },
    });
    const server = await startServe(['--config', config, '--emulator']);
    t.after(() => server.kill());
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const { port } = new URL(server.url);
    // A send over HTTPS, trusting only the test CA (the server presents the configured certificate).
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          path: '/v1/sends',
          method: 'POST',
          ca: ca.certPem,
          headers: { authorization: `Bearer ${KEY.newsAll}`, 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(
        JSON.stringify({
          notification: { title: 'Over TLS' },
          devices: [{ platform: 'ios', token: iosToken() }],
          dryRun: true,
        }),
      );
    });
    assert.equal(answer.status, 202, answer.body);
    // Plain HTTP on the same port gets no HTTP answer.
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.status,
      () => 'refused',
    );
    assert.equal(plain, 'refused');
  });

  test("server.sends: the in-process queue's limits (gorush's worker_num / queue_num) from the config", async (t) => {
    const emulator = await startEmulator({
      apns: { scenarios: { latencyMs: 1500 } },
      fcm: false,
      webpush: false,
    });
    t.after(() => emulator.close());
    const config = writeConfig('sends-limits.json', {
      server: { sends: { concurrency: 1, queued: 1, kept: 1 } },
      apiKeys: { ci: { hash: hashApiKey(KEY.newsAll), apps: ['*'], permissions: ['send', 'read'] } },
    });
    const server = await startServe(['--config', config], apnsEnv(emulator));
    t.after(() => server.kill());
    const one = () =>
      call(server.url, KEY.newsAll, 'POST', '/v1/sends', {
        notification: { title: 'Hi' },
        devices: [{ platform: 'ios', token: iosToken() }],
      });
    // One runs, one waits, the next is refused: 503, nothing taken.
    const running = await one();
    const waiting = await one();
    assert.deepEqual([running.status, waiting.status], [202, 202]);
    assert.equal(waiting.json['status'], 'queued');
    const refused = await one();
    assert.equal(refused.status, 503, JSON.stringify(refused.json));
    // gorush's route too: its only send refused, a 503 the client may retry.
    const gorush = await call(server.url, KEY.newsAll, 'POST', '/api/push', {
      notifications: [{ tokens: [iosToken()], platform: 1, message: 'busy' }],
    });
    assert.equal(gorush.status, 503);
    // kept: 1 — once the second has ended, the first is forgotten.
    await settled(server.url, KEY.newsAll, waiting.json['id'] as string);
    assert.equal((await call(server.url, KEY.newsAll, 'GET', `/v1/sends/${running.json['id']}`)).status, 404);
    assert.equal(emulator.apns.notifications.length, 2);
  });

  describe('graceful shutdown (SIGTERM mid-send)', () => {
    async function midSend(
      t: { after(fn: () => Promise<void>): void },
      latencyMs: number,
      shutdownTimeoutMs: number,
    ): Promise<{
      server: ServeProcess;
      emulator: Emulator;
      lines: Array<Record<string, unknown>>;
      accepted: number;
    }> {
      const emulator = await startEmulator({
        apns: { scenarios: { latencyMs } },
        fcm: false,
        webpush: false,
      });
      t.after(() => emulator.close());
      const config = writeConfig(`shutdown-${shutdownTimeoutMs}.json`, {
        server: { shutdownTimeoutMs },
        apiKeys: { ci: { hash: hashApiKey(KEY.newsAll), apps: ['*'], permissions: ['send', 'read'] } },
      });
      const server = await startServe(['--config', config], apnsEnv(emulator));
      t.after(() => server.kill());
      const devices = Array.from({ length: 3000 }, (_, id) => ({ platform: 'ios', token: iosToken(), id }));
      const created = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', {
        notification: { title: 'Hi' },
        devices,
      });
      assert.equal(created.status, 202);
      const id = created.json['id'] as string;
      // Follow the feedback from before the signal to the end of the send.
      const following = feedbackLines(server.url, KEY.newsAll, id);
      await new Promise((resolve) => setTimeout(resolve, 300));
      server.child.kill('SIGTERM');
      // While it finishes, a new request is refused with 503. Wait until the signal has been
      // handled (/healthz says so), not a fixed time: under load that took more than 100 ms.
      for (let i = 0; i < 100; i++) {
        const health = await fetch(`${server.url}/healthz`).catch(() => ({ status: 0 }));
        if (health.status !== 200) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const late = await call(server.url, KEY.newsAll, 'POST', '/v1/sends', {
        notification: { title: 'late' },
        devices: [{ platform: 'ios', token: iosToken() }],
      }).catch(() => ({ status: 0 }));
      assert.ok(late.status === 503 || late.status === 0, `a request after SIGTERM: ${late.status}`);
      const lines = await following;
      const sendEnded = Date.now();
      const { code, signal } = await server.exited;
      assert.equal(signal, null);
      assert.equal(code, 0, server.stderr());
      // Once the send has ended the process goes, without sitting out the rest of its grace
      // period (a connection left open by the feedback stream must not hold it).
      if (shutdownTimeoutMs >= 60_000)
        assert.ok(Date.now() - sendEnded < 30_000, 'the process outlived its work');
      return { server, emulator, lines, accepted: created.json['accepted'] as number };
    }

    test('within the grace period: every accepted device is sent, and has its feedback', async (t) => {
      const { lines, accepted, emulator } = await midSend(t, 200, 60_000);
      assert.equal(accepted, 3000);
      assert.equal(lines.length, 3000);
      assert.equal(new Set(lines.map((line) => (line['device'] as { id: number }).id)).size, 3000);
      assert.ok(lines.every((line) => line['status'] === 'sent'));
      assert.equal(emulator.apns.notifications.length, 3000);
    });

    test('past the grace period: what is left is aborted, and still every device has its feedback', async (t) => {
      const { lines, accepted } = await midSend(t, 3000, 500);
      assert.equal(accepted, 3000);
      assert.equal(lines.length, 3000);
      assert.equal(new Set(lines.map((line) => (line['device'] as { id: number }).id)).size, 3000);
      const aborted = lines.filter(
        (line) => (line['error'] as { code?: string } | undefined)?.code === 'aborted',
      );
      assert.ok(aborted.length > 0, 'some devices were cut short by the grace period');
    });
  });
});

/**
 * What every route shares: JSON logs with request ids and no token or key in them, per-key
 * rate limits, one error shape, no route that shows the config, and the graceful shutdown
 * (new requests 503, the dispatcher given the grace period).
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { createCertificateAuthority, issueCertificate } from '../../src/emulator/tls.js';
import { maskToken } from '../../src/server/mask.js';
import { bearer, FakeDispatcher, IOS_TOKEN, KEYS, testServer } from './support.js';

function logCapture(): {
  stream: PassThrough;
  lines: () => Array<Record<string, unknown>>;
  text: () => string;
} {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    stream,
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line)),
  };
}

describe('logs', () => {
  test('one JSON line per request with its request id and the key id; no token or key anywhere', async (t) => {
    const logs = logCapture();
    const { app } = await testServer({ logger: { stream: logs.stream } });
    t.after(() => app.close());
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: { ...bearer(KEYS.admin), 'x-request-id': 'req-123' },
      payload: { notification: { title: 'Hi' }, devices: [{ platform: 'ios', token: IOS_TOKEN }] },
    });
    assert.equal(answer.statusCode, 202);
    assert.equal(answer.headers['x-request-id'], 'req-123');
    await app.inject({ method: 'GET', url: '/version', headers: bearer('pl_wrong_key_0123456789abcdef') });
    const lines = logs.lines();
    const request = lines.find((line) => line['msg'] === 'request' && line['url'] === '/v1/sends');
    assert.ok(request, logs.text());
    assert.equal(request['reqId'], 'req-123');
    assert.equal(request['key'], 'admin');
    assert.equal(request['statusCode'], 202);
    const accepted = lines.find((line) => line['msg'] === 'send accepted');
    assert.equal(accepted?.['sendId'], answer.json().id);
    for (const secret of [IOS_TOKEN, KEYS.admin, 'pl_wrong_key_0123456789abcdef']) {
      assert.ok(!logs.text().includes(secret), 'a token or key reached the log');
    }
  });

  test('a request id that is not a plain id is replaced by a UUID', async (t) => {
    const { app } = await testServer();
    t.after(() => app.close());
    const answer = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'a b\u0000c' },
    });
    assert.match(String(answer.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('/healthz is left out of the access log', async (t) => {
    const logs = logCapture();
    const { app } = await testServer({ logger: { stream: logs.stream } });
    t.after(() => app.close());
    await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(logs.lines().filter((line) => line['msg'] === 'request').length, 0);
  });

  test("fields a plugin might log by mistake are masked by the server's logger (token, tokens, authorization)", async (t) => {
    const logs = logCapture();
    const { app } = await testServer({ logger: { stream: logs.stream } });
    t.after(() => app.close());
    // A careless route of a plugin: logs a device, a list of tokens and the request's headers.
    app.get('/careless', { config: { permission: 'any' } }, async (request) => {
      request.log.info(
        {
          token: IOS_TOKEN,
          tokens: [IOS_TOKEN, 'short'],
          device: { token: IOS_TOKEN },
          headers: request.headers,
        },
        'careless',
      );
      return {};
    });
    const answer = await app.inject({ method: 'GET', url: '/careless', headers: bearer(KEYS.admin) });
    assert.equal(answer.statusCode, 200);
    const line = logs.lines().find((entry) => entry['msg'] === 'careless');
    assert.ok(line, logs.text());
    assert.ok(!logs.text().includes(IOS_TOKEN), 'a token reached the log');
    assert.ok(!logs.text().includes(KEYS.admin), 'a key reached the log');
    assert.equal(line['token'], maskToken(IOS_TOKEN));
    assert.deepEqual(line['tokens'], [maskToken(IOS_TOKEN), '*****']);
    assert.equal(maskToken(IOS_TOKEN), 'aaaa…aaaa');
  });
});

describe('limits and errors', () => {
  test("per-key rate limit: a key's own budget, 429 in the API's error shape; other keys unaffected", async (t) => {
    const { app } = await testServer({
      apiKeys: {
        tight: {
          hash: (await import('../../src/server/auth.js')).hashApiKey('pl_tight'),
          apps: ['shop'],
          permissions: ['read'],
          rateLimit: { max: 2, timeWindowMs: 60_000 },
        },
        loose: {
          hash: (await import('../../src/server/auth.js')).hashApiKey('pl_loose'),
          apps: ['shop'],
          permissions: ['read'],
        },
      },
    });
    t.after(() => app.close());
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      codes.push(
        (await app.inject({ method: 'GET', url: '/version', headers: bearer('pl_tight') })).statusCode,
      );
    }
    assert.deepEqual(codes, [200, 200, 429]);
    const limited = await app.inject({ method: 'GET', url: '/version', headers: bearer('pl_tight') });
    assert.equal(limited.json().code, 'rate-limited');
    assert.ok(limited.headers['retry-after']);
    assert.equal(
      (await app.inject({ method: 'GET', url: '/version', headers: bearer('pl_loose') })).statusCode,
      200,
    );
  });

  test("gorush's /api/push has the body limit too: 413, nothing sent (gorush has none)", async (t) => {
    const { app, dispatcher } = await testServer({ server: { bodyLimit: 1000 } });
    t.after(() => app.close());
    const push = (tokens: number) =>
      app.inject({
        method: 'POST',
        url: '/api/push',
        headers: bearer(KEYS.admin),
        payload: {
          notifications: [{ platform: 2, message: 'm', tokens: Array(tokens).fill('t'.repeat(40)) }],
        },
      });
    assert.equal((await push(2)).statusCode, 200);
    const big = await push(40);
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().code, 'body-too-large');
    assert.equal(dispatcher.specs.length, 1, 'only the small request was sent');
  });

  test('no route shows the config: /api/config and the like are 404', async (t) => {
    const { app } = await testServer();
    t.after(() => app.close());
    for (const url of ['/api/config', '/config', '/sys/stats']) {
      const answer = await app.inject({ method: 'GET', url, headers: bearer(KEYS.admin) });
      assert.equal(answer.statusCode, 404, url);
      assert.equal(answer.json().code, 'not-found');
    }
  });

  test('an unexpected error is a 500 naming the request id, not the error', async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    dispatcher.refuse = new Error('secret internals: password=hunter2');
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: bearer(KEYS.admin),
      payload: { notification: { title: 'Hi' }, devices: [{ platform: 'ios', token: IOS_TOKEN }] },
    });
    assert.equal(answer.statusCode, 500);
    assert.equal(answer.json().code, 'internal');
    assert.ok(!answer.body.includes('hunter2'));
    assert.ok(answer.body.includes(String(answer.headers['x-request-id'])));
  });
});

describe('shutdown', () => {
  test('new requests get 503 shutting-down, /healthz too; the dispatcher gets the grace period', async (t) => {
    // The dispatcher takes its time to finish the accepted sends: the server must say 503 meanwhile.
    let finishSends!: () => void;
    const sendsFinished = new Promise<void>((resolve) => (finishSends = resolve));
    class Finishing extends FakeDispatcher {
      override async close(graceMs: number): Promise<void> {
        this.closedWith = graceMs;
        await sendsFinished;
        await super.close(graceMs);
      }
    }
    const { app, dispatcher } = await testServer({ dispatcher: new Finishing() });
    t.after(() => app.close());
    dispatcher.hold = true;
    const { id } = (
      await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: bearer(KEYS.admin),
        payload: { notification: { title: 'Hi' }, devices: [{ platform: 'ios', token: IOS_TOKEN }] },
      })
    ).json();
    // A follower of the send's feedback is open when the shutdown starts: it ends with the send.
    const following = app.inject({
      method: 'GET',
      url: `/v1/sends/${id}/feedback`,
      headers: bearer(KEYS.admin),
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopping = app.shutdown(1234);
    const late = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(late.statusCode, 503);
    const lateSend = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: bearer(KEYS.admin),
      payload: { notification: { title: 'Hi' }, devices: [{ platform: 'ios', token: IOS_TOKEN }] },
    });
    assert.equal(lateSend.statusCode, 503);
    assert.equal(lateSend.json().code, 'shutting-down');
    assert.equal(lateSend.headers.connection, 'close');
    finishSends();
    await stopping;
    assert.equal(dispatcher.closedWith, 1234);
    assert.equal((await following).body.trimEnd().split('\n').length, 1);
  });
});

describe('TLS', () => {
  test('with server.tls the listener speaks HTTPS only, with the given certificate', async (t) => {
    const ca = createCertificateAuthority('pushline test CA');
    const issued = issueCertificate(ca, {
      commonName: '127.0.0.1',
      altNames: ['127.0.0.1'],
      usage: 'server',
    });
    const { app } = await testServer({ server: { tls: { cert: issued.certPem, key: issued.keyPem } } });
    t.after(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, path: '/healthz', ca: ca.certPem }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    assert.equal(status, 200);
    // Plain HTTP on the same port gets no HTTP answer.
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.status,
      () => 'refused',
    );
    assert.equal(plain, 'refused');
  });
});

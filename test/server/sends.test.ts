/**
 * The native API on a fake dispatcher: what each way of giving devices becomes in the
 * SendSpec, validation answered as a 400 naming the field, idempotency, status, feedback
 * (filtered, NDJSON), abort, and a dispatcher's refusal.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PushError } from '../../src/errors.js';
import type { SendSpec, SendStatus } from '../../src/queue/dispatch.js';
import { bearer, FakeDispatcher, IOS_TOKEN, KEYS, testServer } from './support.js';

const admin = bearer(KEYS.admin);
const ndjsonHeaders = { ...admin, 'content-type': 'application/x-ndjson' };
const subscription = {
  endpoint: 'https://push.example.net/send/abc',
  keys: {
    p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
    auth: 'tBHItJI5svbpez7KI4CCXg',
  },
};

const body = (more: Record<string, unknown> = {}) => ({
  notification: { title: 'Hi', body: 'there' },
  devices: [
    { platform: 'ios', token: IOS_TOKEN, id: 1 },
    { platform: 'web', token: subscription, id: 2 },
  ],
  ...more,
});

describe('POST /v1/sends', () => {
  test('inline devices: 202 {id, status, accepted}, Location, and the spec handed to the dispatcher', async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: admin,
      payload: body({ app: 'news', dryRun: true, delivery: 'at-most-once' }),
    });
    assert.equal(answer.statusCode, 202);
    const { id, status, accepted } = answer.json();
    assert.equal(status, 'done');
    assert.equal(accepted, 2);
    assert.equal(answer.headers.location, `/v1/sends/${id}`);
    const spec = dispatcher.specs[0]!;
    assert.equal(spec.id, id);
    assert.equal(spec.app, 'news');
    assert.deepEqual(spec.notification, { title: 'Hi', body: 'there' });
    assert.equal(spec.devices.kind, 'inline');
    assert.deepEqual(spec.devices.kind === 'inline' ? spec.devices.devices : [], body().devices);
    assert.equal(spec.dryRun, true);
    assert.equal(spec.delivery, 'at-most-once');
    assert.equal(spec.submittedBy, 'admin');
    assert.ok(!Number.isNaN(Date.parse(spec.createdAt)));
  });

  test('inline devices are all accepted, even by a dispatcher that counts them as it reads them', async (t) => {
    class Lazy extends FakeDispatcher {
      override async submit(spec: SendSpec): Promise<SendStatus> {
        return { ...(await super.submit(spec)), state: 'running', accepted: 0 };
      }
    }
    const { app } = await testServer({ dispatcher: new Lazy() });
    t.after(() => app.close());
    const answer = await app.inject({ method: 'POST', url: '/v1/sends', headers: admin, payload: body() });
    assert.equal(answer.statusCode, 202);
    assert.equal(answer.json().accepted, 2);
  });

  test('expiresAt arrives as ISO text and reaches the library as a Date', async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: admin,
      payload: body({ notification: { title: 'Hi', expiresAt: '2030-01-02T03:04:05Z' } }),
    });
    assert.equal(answer.statusCode, 202);
    const expiresAt = dispatcher.specs[0]!.notification.expiresAt;
    assert.ok(expiresAt instanceof Date);
    assert.equal(expiresAt.toISOString(), '2030-01-02T03:04:05.000Z');
  });

  test('a source names a configured database; an unknown one is a 400', async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    const source = { database: 'main', query: 'SELECT id, platform, token FROM devices', keyColumn: 'id' };
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: admin,
      payload: { notification: { title: 'Hi' }, source },
    });
    assert.equal(answer.statusCode, 202);
    assert.deepEqual(dispatcher.specs[0]!.devices, { kind: 'source', ...source });
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: admin,
      payload: { notification: { title: 'Hi' }, source: { ...source, database: 'other' } },
    });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().code, 'unknown-database');
    assert.equal(unknown.json().field, 'body.source.database');
    assert.equal(dispatcher.specs.length, 1);
  });

  describe('validation: 400 naming the field', () => {
    const cases: Array<[string, unknown, string]> = [
      [
        'an unknown notification field',
        body({ notification: { title: 'x', bodyy: 'y' } }),
        'body.notification.bodyy',
      ],
      ['a wrong type', body({ notification: { badge: 'one' } }), 'body.notification.badge'],
      ['a missing notification', { devices: body().devices }, 'body.notification'],
      [
        'an unknown platform',
        body({ devices: [{ platform: 'iphone', token: IOS_TOKEN }] }),
        'body.devices[0].platform',
      ],
      ['a device without token', body({ devices: [{ platform: 'ios' }] }), 'body.devices[0].token'],
      [
        'a subscription without keys',
        body({ devices: [{ platform: 'web', token: { endpoint: 'https://x' } }] }),
        'body.devices[0].token',
      ],
      ['neither devices nor source', { notification: { title: 'x' } }, 'body'],
      ['both devices and source', body({ source: { database: 'main', query: 'SELECT 1' } }), 'body'],
      ['an unknown top-level field', body({ tokens: [IOS_TOKEN] }), 'body.tokens'],
      ['a bad delivery', body({ delivery: 'twice' }), 'body.delivery'],
      ['no devices', body({ devices: [] }), 'body.devices'],
    ];
    for (const [name, payload, field] of cases) {
      test(name, async (t) => {
        const { app, dispatcher } = await testServer();
        t.after(() => app.close());
        const answer = await app.inject({
          method: 'POST',
          url: '/v1/sends',
          headers: admin,
          payload: payload as object,
        });
        assert.equal(answer.statusCode, 400, answer.body);
        assert.equal(answer.json().code, 'invalid-request');
        assert.equal(answer.json().field, field);
        assert.ok(answer.json().message.includes(field), answer.json().message);
        assert.equal(dispatcher.specs.length, 0);
      });
    }

    test('more inline devices than server.maxInlineDevices: 400 pointing to NDJSON', async (t) => {
      const { app } = await testServer({ server: { maxInlineDevices: 2 } });
      t.after(() => app.close());
      const devices = Array.from({ length: 3 }, () => ({ platform: 'ios', token: IOS_TOKEN }));
      const answer = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: admin,
        payload: body({ devices }),
      });
      assert.equal(answer.statusCode, 400);
      assert.equal(answer.json().field, 'body.devices');
      assert.match(answer.json().message, /NDJSON/);
    });

    test('a body that is not JSON: 400; a body over server.bodyLimit: 413', async (t) => {
      const { app } = await testServer({ server: { bodyLimit: 1000 } });
      t.after(() => app.close());
      const broken = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: { ...admin, 'content-type': 'application/json' },
        payload: '{"notification":',
      });
      assert.equal(broken.statusCode, 400);
      assert.equal(broken.json().field, 'body');
      const devices = Array.from({ length: 20 }, () => ({ platform: 'ios', token: IOS_TOKEN }));
      const big = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: admin,
        payload: body({ devices }),
      });
      assert.equal(big.statusCode, 413);
      assert.equal(big.json().code, 'body-too-large');
    });

    test('another content type: 415', async (t) => {
      const { app } = await testServer();
      t.after(() => app.close());
      const answer = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: { ...admin, 'content-type': 'text/csv' },
        payload: 'platform,token\n',
      });
      assert.equal(answer.statusCode, 415);
      assert.equal(answer.json().code, 'unsupported-media-type');
    });
  });

  describe('NDJSON body', () => {
    test('line 1 is the send, every further line a device; a bad line is a device (it fails on its own)', async (t) => {
      const { app, dispatcher } = await testServer();
      t.after(() => app.close());
      const lines = [
        JSON.stringify({ app: 'news', notification: { title: 'Streamed' }, dryRun: true }),
        JSON.stringify({ platform: 'ios', token: IOS_TOKEN, id: 1 }),
        'not json',
        '',
        JSON.stringify({ platform: 'web', token: subscription, id: 3 }),
      ];
      const answer = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: ndjsonHeaders,
        payload: `${lines.join('\n')}\n`,
      });
      assert.equal(answer.statusCode, 202, answer.body);
      assert.equal(answer.json().accepted, 3);
      const spec = dispatcher.specs[0]!;
      assert.equal(spec.app, 'news');
      assert.equal(spec.dryRun, true);
      assert.deepEqual(spec.notification, { title: 'Streamed' });
      assert.equal(spec.devices.kind, 'stream');
      const records = dispatcher.records.get(spec.id)!;
      assert.deepEqual(records[0]!.device, { platform: 'ios', token: IOS_TOKEN, id: 1 });
      assert.equal((records[1]!.device as { line?: number }).line, 3);
      assert.deepEqual(records[2]!.device, { platform: 'web', token: subscription, id: 3 });
    });

    test('an empty body, a first line that is not JSON or not a send: 400 naming line 1', async (t) => {
      const { app, dispatcher } = await testServer();
      t.after(() => app.close());
      const empty = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: ndjsonHeaders,
        payload: '',
      });
      assert.equal(empty.statusCode, 400);
      assert.match(empty.json().message, /empty/);
      const garbage = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: ndjsonHeaders,
        payload: 'garbage\n{"platform":"ios","token":"x"}\n',
      });
      assert.equal(garbage.statusCode, 400);
      assert.equal(garbage.json().field, 'body.line1');
      const device = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: ndjsonHeaders,
        payload: `${JSON.stringify({ platform: 'ios', token: IOS_TOKEN })}\n`,
      });
      assert.equal(device.statusCode, 400);
      assert.equal(device.json().field, 'body.line1');
      assert.match(device.json().message, /line 1 is a device/);
      const typo = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: ndjsonHeaders,
        payload: `${JSON.stringify({ notification: { titel: 'x' } })}\n`,
      });
      assert.equal(typo.statusCode, 400);
      assert.equal(typo.json().field, 'body.line1.notification.titel');
      assert.equal(dispatcher.specs.length, 0);
    });

    test('refused or replayed over a real connection: the answer arrives while the client still uploads', {
      timeout: 30_000,
    }, async (t) => {
      const { app, dispatcher } = await testServer();
      t.after(() => app.close());
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as { port: number };
      // ~1.4 MB of devices after the first line: more than the socket buffers hold.
      const devices = Array.from({ length: 20_000 }, (_, id) =>
        JSON.stringify({ platform: 'ios', token: IOS_TOKEN, id }),
      );
      const post = (head: unknown) =>
        fetch(`http://127.0.0.1:${port}/v1/sends`, {
          method: 'POST',
          headers: { ...ndjsonHeaders, 'idempotency-key': 'upload-1' },
          body: `${JSON.stringify(head)}\n${devices.join('\n')}\n`,
        }).then(async (response) => ({ status: response.status, body: await response.text() }));
      const refused = await post({ app: 'nope', notification: { title: 'x' } });
      assert.equal(refused.status, 404);
      const first = await post({ notification: { title: 'x' } });
      assert.equal(first.status, 202);
      const replayed = await post({ notification: { title: 'x' } });
      assert.equal(replayed.status, 200);
      assert.equal(JSON.parse(replayed.body).id, JSON.parse(first.body).id);
      assert.equal(dispatcher.specs.length, 1);
    });

    test('the body limit does not apply to a stream (it is never held whole)', async (t) => {
      const { app, dispatcher } = await testServer({ server: { bodyLimit: 1000 } });
      t.after(() => app.close());
      const devices = Array.from({ length: 500 }, (_, i) =>
        JSON.stringify({ platform: 'ios', token: IOS_TOKEN, id: i }),
      );
      const answer = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: ndjsonHeaders,
        payload: `${JSON.stringify({ notification: { title: 'x' } })}\n${devices.join('\n')}\n`,
      });
      assert.equal(answer.statusCode, 202);
      assert.equal(answer.json().accepted, 500);
      assert.equal(dispatcher.streamed.get(answer.json().id), 500);
    });
  });

  describe('Idempotency-Key', () => {
    test('the same key twice sends once: the second answer is 200 with the first send', async (t) => {
      const { app, dispatcher } = await testServer();
      t.after(() => app.close());
      const headers = { ...admin, 'idempotency-key': 'order-42' };
      const first = await app.inject({ method: 'POST', url: '/v1/sends', headers, payload: body() });
      const second = await app.inject({ method: 'POST', url: '/v1/sends', headers, payload: body() });
      assert.equal(first.statusCode, 202);
      assert.equal(second.statusCode, 200);
      assert.equal(second.headers['idempotent-replayed'], 'true');
      assert.equal(second.json().id, first.json().id);
      assert.equal(dispatcher.specs.length, 1);
      assert.equal(dispatcher.specs[0]!.idempotencyKey, 'order-42');
      // Another key (or another API key with the same Idempotency-Key) is another send.
      const other = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: { ...admin, 'idempotency-key': 'order-43' },
        payload: body(),
      });
      assert.equal(other.statusCode, 202);
      const otherKey = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: { ...bearer(KEYS.shopSender), 'idempotency-key': 'order-42' },
        payload: body(),
      });
      assert.equal(otherKey.statusCode, 202);
      assert.equal(dispatcher.specs.length, 3);
    });

    test('the same key with a different body: 422, nothing sent', async (t) => {
      const { app, dispatcher } = await testServer();
      t.after(() => app.close());
      const headers = { ...admin, 'idempotency-key': 'k1' };
      await app.inject({ method: 'POST', url: '/v1/sends', headers, payload: body() });
      const changed = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers,
        payload: body({ notification: { title: 'Other' } }),
      });
      assert.equal(changed.statusCode, 422);
      assert.equal(changed.json().code, 'idempotency-key-reused');
      assert.equal(dispatcher.specs.length, 1);
    });

    test('while the first is being accepted, the second gets 409; a refused first frees the key', async (t) => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      class SlowDispatcher extends FakeDispatcher {
        override async submit(spec: SendSpec): Promise<SendStatus> {
          await gate;
          return super.submit(spec);
        }
      }
      const { app, dispatcher } = await testServer({ dispatcher: new SlowDispatcher() });
      t.after(() => app.close());
      const headers = { ...admin, 'idempotency-key': 'slow' };
      const first = app.inject({ method: 'POST', url: '/v1/sends', headers, payload: body() });
      // Let the first reach the dispatcher.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = await app.inject({ method: 'POST', url: '/v1/sends', headers, payload: body() });
      assert.equal(second.statusCode, 409);
      assert.equal(second.json().code, 'idempotency-key-in-use');
      release();
      assert.equal((await first).statusCode, 202);
      assert.equal(dispatcher.specs.length, 1);

      dispatcher.refuse = new PushError('unavailable', 'redis is down');
      const refusedHeaders = { ...admin, 'idempotency-key': 'refused' };
      const refused = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: refusedHeaders,
        payload: body(),
      });
      assert.equal(refused.statusCode, 503);
      dispatcher.refuse = undefined;
      const retried = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: refusedHeaders,
        payload: body(),
      });
      assert.equal(retried.statusCode, 202);
      assert.equal(dispatcher.specs.length, 2);
    });

    test('a malformed key: 400 naming the header', async (t) => {
      const { app } = await testServer();
      t.after(() => app.close());
      const answer = await app.inject({
        method: 'POST',
        url: '/v1/sends',
        headers: { ...admin, 'idempotency-key': 'has spaces' },
        payload: body(),
      });
      assert.equal(answer.statusCode, 400);
      assert.equal(answer.json().field, 'headers.idempotency-key');
    });
  });

  test("a dispatcher's refusal: unavailable → 503, config → 400, and nothing accepted", async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    dispatcher.refuse = new PushError('unavailable', 'redis is down');
    const down = await app.inject({ method: 'POST', url: '/v1/sends', headers: admin, payload: body() });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().code, 'unavailable');
    dispatcher.refuse = new PushError('config', "the app 'shop' has no provider");
    const config = await app.inject({ method: 'POST', url: '/v1/sends', headers: admin, payload: body() });
    assert.equal(config.statusCode, 400);
    assert.match(config.json().message, /no provider/);
  });
});

describe('reading and aborting a send', () => {
  test('GET /v1/sends/:id is the dispatcher’s status; an unknown id is a 404', async (t) => {
    const { app } = await testServer();
    t.after(() => app.close());
    const { id } = (
      await app.inject({ method: 'POST', url: '/v1/sends', headers: admin, payload: body() })
    ).json();
    const status = await app.inject({ method: 'GET', url: `/v1/sends/${id}`, headers: admin });
    assert.equal(status.statusCode, 200);
    assert.equal(status.json().id, id);
    assert.equal(status.json().state, 'done');
    assert.equal(status.json().counts.sent, 2);
    const unknown = await app.inject({ method: 'GET', url: '/v1/sends/nope', headers: admin });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'not-found');
  });

  test('feedback is NDJSON, one record per line, filtered by ?status=', async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    const { id } = (
      await app.inject({ method: 'POST', url: '/v1/sends', headers: admin, payload: body() })
    ).json();
    dispatcher.records.get(id)![1]!.status = 'invalid-token';
    const all = await app.inject({ method: 'GET', url: `/v1/sends/${id}/feedback`, headers: admin });
    assert.equal(all.statusCode, 200);
    assert.match(String(all.headers['content-type']), /^application\/x-ndjson/);
    const lines = all.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((line) => [line.device.id, line.status]),
      [
        [1, 'sent'],
        [2, 'invalid-token'],
      ],
    );
    const dead = await app.inject({
      method: 'GET',
      url: `/v1/sends/${id}/feedback?status=invalid-token,failed`,
      headers: admin,
    });
    assert.deepEqual(
      dead.body
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line).device.id),
      [2],
    );
    const bad = await app.inject({
      method: 'GET',
      url: `/v1/sends/${id}/feedback?status=dead`,
      headers: admin,
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().field, 'querystring.status');
  });

  test('feedback follows a running send until it ends; follow=false answers what is recorded now', async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    dispatcher.hold = true;
    const { id } = (
      await app.inject({ method: 'POST', url: '/v1/sends', headers: admin, payload: body() })
    ).json();
    const now = await app.inject({
      method: 'GET',
      url: `/v1/sends/${id}/feedback?follow=false`,
      headers: admin,
    });
    assert.equal(now.body.trimEnd().split('\n').length, 2);
    let ended = false;
    const following = app
      .inject({ method: 'GET', url: `/v1/sends/${id}/feedback`, headers: admin })
      .then((answer) => {
        ended = true;
        return answer;
      });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(ended, false, 'the stream stays open while the send runs');
    dispatcher.finish(id);
    const answer = await following;
    assert.equal(answer.body.trimEnd().split('\n').length, 2);
  });

  test('DELETE aborts a running send; a finished one is a 409', async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    dispatcher.hold = true;
    const { id } = (
      await app.inject({ method: 'POST', url: '/v1/sends', headers: admin, payload: body() })
    ).json();
    const aborted = await app.inject({ method: 'DELETE', url: `/v1/sends/${id}`, headers: admin });
    assert.equal(aborted.statusCode, 200);
    assert.deepEqual(aborted.json(), { id, aborted: true });
    const again = await app.inject({ method: 'DELETE', url: `/v1/sends/${id}`, headers: admin });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'send-finished');
  });
});

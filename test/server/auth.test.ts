/**
 * API keys: every route but /healthz needs one (unless the operator lists it in server.public);
 * 401 without a valid key, 403 with a key that lacks the permission or the app; a key reads
 * only its apps' sends. The config holds hashes only.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ApiKeyring,
  apiKeyProblem,
  authorizeApps,
  generateApiKey,
  hashApiKey,
} from '../../src/server/auth.js';
import { API_KEYS, bearer, IOS_TOKEN, KEYS, testServer } from './support.js';

const send = (app?: string) => ({
  ...(app === undefined ? {} : { app }),
  notification: { title: 'Hi' },
  devices: [{ platform: 'ios', token: IOS_TOKEN }],
});

describe('keys', () => {
  test('a made key is random, prefixed, and its hash is sha256:<hex> of it', () => {
    const one = generateApiKey();
    const two = generateApiKey();
    assert.notEqual(one.key, two.key);
    assert.match(one.key, /^pl_[A-Za-z0-9_-]{43}$/);
    assert.match(one.hash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(hashApiKey(one.key), one.hash);
  });

  test('the keyring recognises each key by its hash, and nothing else', () => {
    const ring = new ApiKeyring(API_KEYS, ['shop', 'news']);
    assert.equal(ring.identify(KEYS.shopSender)?.id, 'shopSender');
    assert.equal(ring.identify(KEYS.admin)?.id, 'admin');
    assert.equal(ring.identify(`${KEYS.admin}x`), undefined);
    assert.equal(ring.identify(API_KEYS.admin.hash), undefined, 'the hash itself is not a key');
    assert.equal(ring.identify(''), undefined);
  });

  test('a key with one app gets it as its default app', () => {
    const ring = new ApiKeyring(API_KEYS, ['shop', 'news']);
    assert.equal(ring.identify(KEYS.shopSender)?.defaultApp, 'shop');
    assert.equal(ring.identify(KEYS.admin)?.defaultApp, 'shop');
  });

  test('a malformed entry is refused naming the field, never echoing the value', () => {
    const apps = ['shop'];
    const plainKey = 'pl_this_is_a_key_pasted_where_its_hash_belongs_0123';
    const problem = apiKeyProblem('ci', { hash: plainKey, apps: ['shop'], permissions: ['send'] }, apps);
    assert.match(problem ?? '', /apiKeys\.ci\.hash/);
    assert.ok(!problem?.includes(plainKey));
    assert.match(
      apiKeyProblem('ci', { hash: hashApiKey('k'), apps: ['nope'], permissions: ['send'] }, apps) ?? '',
      /apiKeys\.ci\.apps names the app 'nope'/,
    );
    assert.match(
      apiKeyProblem(
        'ci',
        { hash: hashApiKey('k'), apps: ['shop'], permissions: ['admin' as 'send'] },
        apps,
      ) ?? '',
      /apiKeys\.ci\.permissions/,
    );
    assert.match(
      apiKeyProblem('ci', { hash: hashApiKey('k'), apps: ['shop'], permissions: [] }, apps) ?? '',
      /permissions must list/,
    );
    assert.throws(
      () => new ApiKeyring({ ci: { hash: 'sha256:xyz', apps: ['shop'], permissions: ['send'] } }, apps),
      { name: 'PushError', code: 'config', message: /^apiKeys\.ci\.hash must be/ },
    );
  });
});

test('authorizeApps refuses a request acting on any app its key lacks (gorush’s /api/push)', () => {
  const ring = new ApiKeyring(API_KEYS, ['shop', 'news']);
  const as = (key: string) => ({ apiKey: ring.identify(key) ?? null }) as Parameters<typeof authorizeApps>[0];
  assert.doesNotThrow(() => authorizeApps(as(KEYS.shopSender), ['shop']));
  assert.throws(() => authorizeApps(as(KEYS.shopSender), ['shop', 'news']), {
    statusCode: 403,
    code: 'forbidden',
  });
  assert.doesNotThrow(() => authorizeApps(as(KEYS.admin), ['shop', 'news']));
});

describe('routes need a key', () => {
  test('/healthz answers without a key, with an empty body', async (t) => {
    const { app } = await testServer();
    t.after(() => app.close());
    const answer = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.body, '');
  });

  test('no key: 401 missing-key with WWW-Authenticate; a wrong key: 401 invalid-key', async (t) => {
    const { app } = await testServer();
    t.after(() => app.close());
    for (const url of ['/version', '/openapi.json', '/v1/sends/x']) {
      const none = await app.inject({ method: 'GET', url });
      assert.equal(none.statusCode, 401, url);
      assert.equal(none.json().code, 'missing-key');
      assert.equal(none.headers['www-authenticate'], 'Bearer');
    }
    const wrong = await app.inject({ method: 'GET', url: '/version', headers: bearer('pl_nope') });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().code, 'invalid-key');
    const basic = await app.inject({
      method: 'GET',
      url: '/version',
      headers: { authorization: `Basic ${KEYS.admin}` },
    });
    assert.equal(basic.statusCode, 401);
    const post = await app.inject({ method: 'POST', url: '/v1/sends', payload: send() });
    assert.equal(post.statusCode, 401);
  });

  test('a valid key of any permission reads /version', async (t) => {
    const { app } = await testServer();
    t.after(() => app.close());
    const answer = await app.inject({ method: 'GET', url: '/version', headers: bearer(KEYS.shopSender) });
    assert.equal(answer.statusCode, 200);
    assert.deepEqual(answer.json(), { source: 'pushline', version: '0.0.0-test' });
  });

  test('server.public opts a route out explicitly, and only that route', async (t) => {
    const { app } = await testServer({ server: { public: ['/version'] } });
    t.after(() => app.close());
    assert.equal((await app.inject({ method: 'GET', url: '/version' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/openapi.json' })).statusCode, 401);
  });
});

test("gorush's /api/push listed in server.public: an unchanged gorush client (no key) is served", async (t) => {
  const { app, dispatcher } = await testServer({
    apps: { shop: { platforms: ['ios', 'android'], apnsTopics: ['com.example.shop'] } },
    apiKeys: {},
    server: { public: ['/api/push'] },
  });
  t.after(() => app.close());
  const answer = await app.inject({
    method: 'POST',
    url: '/api/push',
    payload: { notifications: [{ tokens: ['token_a'], platform: 2, message: 'Hello' }] },
  });
  assert.equal(answer.statusCode, 200);
  assert.equal(answer.body, '{"counts":1,"logs":[],"success":"ok"}');
  assert.equal(dispatcher.specs[0]?.app, 'shop');
  // Only that route: the rest still needs a key.
  assert.equal((await app.inject({ method: 'GET', url: '/api/stat/app' })).statusCode, 401);
});

describe('scopes', () => {
  test('send needs the send permission: a read-only key gets 403', async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: bearer(KEYS.shopReader),
      payload: send('shop'),
    });
    assert.equal(answer.statusCode, 403);
    assert.equal(answer.json().code, 'forbidden');
    assert.match(answer.json().message, /'send' permission/);
    assert.equal(dispatcher.specs.length, 0);
  });

  test("a key may not send to another app's: 403 naming the app", async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: bearer(KEYS.shopSender),
      payload: send('news'),
    });
    assert.equal(answer.statusCode, 403);
    assert.equal(answer.json().field, 'body.app');
    assert.match(answer.json().message, /'news'/);
    assert.equal(dispatcher.specs.length, 0);
  });

  test("a request naming no app gets the key's default app; an unknown app is a 404", async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    const accepted = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: bearer(KEYS.shopSender),
      payload: send(),
    });
    assert.equal(accepted.statusCode, 202);
    assert.equal(dispatcher.specs[0]?.app, 'shop');
    assert.equal(dispatcher.specs[0]?.submittedBy, 'shopSender');
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: bearer(KEYS.admin),
      payload: send('nope'),
    });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'unknown-app');
  });

  test("a key reads its apps' sends and no other's (404, as if it did not exist)", async (t) => {
    const { app } = await testServer();
    t.after(() => app.close());
    const created = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: bearer(KEYS.admin),
      payload: send('shop'),
    });
    const id = created.json().id as string;
    const reader = await app.inject({
      method: 'GET',
      url: `/v1/sends/${id}`,
      headers: bearer(KEYS.shopReader),
    });
    assert.equal(reader.statusCode, 200);
    assert.equal(reader.json().app, 'shop');
    const feedback = await app.inject({
      method: 'GET',
      url: `/v1/sends/${id}/feedback`,
      headers: bearer(KEYS.shopReader),
    });
    assert.equal(feedback.statusCode, 200);
    const other = await app.inject({
      method: 'GET',
      url: `/v1/sends/${id}`,
      headers: bearer(KEYS.newsSender),
    });
    assert.equal(other.statusCode, 404);
    const otherFeedback = await app.inject({
      method: 'GET',
      url: `/v1/sends/${id}/feedback`,
      headers: bearer(KEYS.newsSender),
    });
    assert.equal(otherFeedback.statusCode, 404);
    // Reading needs `read`: a send-only key of the right app is refused.
    const sender = await app.inject({
      method: 'GET',
      url: `/v1/sends/${id}`,
      headers: bearer(KEYS.shopSender),
    });
    assert.equal(sender.statusCode, 403);
  });

  test('aborting needs send on the send’s app', async (t) => {
    const { app, dispatcher } = await testServer();
    t.after(() => app.close());
    dispatcher.hold = true;
    const created = await app.inject({
      method: 'POST',
      url: '/v1/sends',
      headers: bearer(KEYS.admin),
      payload: send('shop'),
    });
    const id = created.json().id as string;
    const reader = await app.inject({
      method: 'DELETE',
      url: `/v1/sends/${id}`,
      headers: bearer(KEYS.shopReader),
    });
    assert.equal(reader.statusCode, 403);
    const otherApp = await app.inject({
      method: 'DELETE',
      url: `/v1/sends/${id}`,
      headers: bearer(KEYS.newsSender),
    });
    assert.equal(otherApp.statusCode, 404);
    assert.deepEqual(dispatcher.aborted, []);
    const owner = await app.inject({
      method: 'DELETE',
      url: `/v1/sends/${id}`,
      headers: bearer(KEYS.shopSender),
    });
    assert.equal(owner.statusCode, 200);
    assert.deepEqual(dispatcher.aborted, [id]);
  });
});

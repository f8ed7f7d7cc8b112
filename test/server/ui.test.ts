/**
 * The dashboard (`/ui`) without a browser: the login (the key checked once, only a session
 * cookie kept), every page and stream behind it, a key's apps only, a stranger's text shown as
 * text, tokens masked, the feedback search, abort with its CSRF token, the event stream's
 * format, and bounded memory. The browser tests (test/browser/) drive the same pages in Chromium.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createServerTls } from '../../src/emulator/tls.js';
import { SendDirectory } from '../../src/server/ui/directory.js';
import { SessionStore } from '../../src/server/ui/sessions.js';
import { bearer, FakeDispatcher, IOS_TOKEN, KEYS, testServer } from './support.js';

const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

/** Logs in through the form; returns the Cookie header to send. */
async function login(app: FastifyInstance, key: string): Promise<string> {
  const answer = await app.inject({ method: 'POST', url: '/ui/login', ...form({ key }) });
  assert.equal(answer.statusCode, 303, answer.body);
  const cookie = String(answer.headers['set-cookie']);
  return cookie.split(';')[0]!;
}

async function csrfOf(app: FastifyInstance, cookie: string): Promise<string> {
  const page = await app.inject({ method: 'GET', url: '/ui', headers: { cookie } });
  const match = /name="csrf" value="([^"]+)"/.exec(page.body);
  assert.ok(match, 'the page carries the CSRF token');
  return match[1]!;
}

async function startSend(app: FastifyInstance, body: Record<string, unknown>, key: string = KEYS.admin) {
  const answer = await app.inject({ method: 'POST', url: '/v1/sends', headers: bearer(key), payload: body });
  assert.equal(answer.statusCode, 202, answer.body);
  return (answer.json() as { id: string }).id;
}

test('every page, stream and form needs a session; the login keeps only a cookie', async (t) => {
  const { app } = await testServer();
  t.after(() => app.close());

  const page = await app.inject({ method: 'GET', url: '/ui' });
  assert.equal(page.statusCode, 303);
  assert.equal(page.headers.location, '/ui/login?next=%2Fui');
  for (const url of ['/ui/events', '/ui/sends/x/events']) {
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 401, url);
  }
  const abort = await app.inject({ method: 'POST', url: '/ui/sends/x/abort', ...form({ csrf: 'x' }) });
  assert.equal(abort.statusCode, 401);
  // A bearer key is not a session: the pages are for browsers.
  assert.equal(
    (await app.inject({ method: 'GET', url: '/ui', headers: bearer(KEYS.admin) })).statusCode,
    303,
  );

  const loginPage = await app.inject({ method: 'GET', url: '/ui/login?next=/ui' });
  assert.equal(loginPage.statusCode, 200);
  assert.match(loginPage.body, /<input id="key" name="key" type="password"/);
  assert.match(String(loginPage.headers['content-security-policy']), /script-src 'self'/);

  const wrong = await app.inject({ method: 'POST', url: '/ui/login', ...form({ key: 'pl_nope' }) });
  assert.equal(wrong.statusCode, 401);
  assert.match(wrong.body, /not valid for this server/);
  assert.equal(wrong.headers['set-cookie'], undefined);
  // A key without `read` cannot use the dashboard.
  const sendOnly = await app.inject({ method: 'POST', url: '/ui/login', ...form({ key: KEYS.shopSender }) });
  assert.equal(sendOnly.statusCode, 401);
  assert.match(sendOnly.body, /lacks the &#39;read&#39; permission/);

  const ok = await app.inject({
    method: 'POST',
    url: '/ui/login',
    ...form({ key: KEYS.admin, next: '/ui' }),
  });
  assert.equal(ok.statusCode, 303);
  assert.equal(ok.headers.location, '/ui');
  const setCookie = String(ok.headers['set-cookie']);
  assert.match(setCookie, /^pushline_session=[A-Za-z0-9_-]{40,};/);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.doesNotMatch(setCookie, /Secure/, 'plain http: no Secure flag (the browser would drop it)');
  assert.ok(!setCookie.includes(KEYS.admin), 'the key is not in the cookie');
  // Another site cannot send the login elsewhere.
  const offsite = await app.inject({
    method: 'POST',
    url: '/ui/login',
    ...form({ key: KEYS.admin, next: '//evil.example/ui' }),
  });
  assert.equal(offsite.headers.location, '/ui');

  const cookie = setCookie.split(';')[0]!;
  const list = await app.inject({ method: 'GET', url: '/ui', headers: { cookie } });
  assert.equal(list.statusCode, 200);
  assert.match(list.body, /<h1>Sends<\/h1>/);
  assert.ok(!list.body.includes(KEYS.admin), 'the key is never shown');
  assert.match(list.body, /key <code>admin<\/code>/);

  // Log out: needs the CSRF token; then the cookie is worth nothing.
  const csrf = await csrfOf(app, cookie);
  const stale = await app.inject({
    method: 'POST',
    url: '/ui/logout',
    ...form({ csrf: 'no' }),
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(stale.statusCode, 403);
  const out = await app.inject({
    method: 'POST',
    url: '/ui/logout',
    ...form({ csrf }),
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(out.statusCode, 303);
  assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
  assert.equal((await app.inject({ method: 'GET', url: '/ui', headers: { cookie } })).statusCode, 303);
});

test('over https the session cookie is Secure', async (t) => {
  const tls = createServerTls('ui test');
  const { app } = await testServer({ server: { tls: { cert: tls.server.certPem, key: tls.server.keyPem } } });
  t.after(() => app.close());
  const answer = await app.inject({ method: 'POST', url: '/ui/login', ...form({ key: KEYS.admin }) });
  assert.equal(answer.statusCode, 303);
  assert.match(String(answer.headers['set-cookie']), /; Secure$/);
});

test('sessions expire and are bounded', () => {
  let now = 0;
  const store = new SessionStore({ ttlMs: 1000, max: 2, now: () => now });
  const identity = { id: 'k', apps: '*', permissions: new Set(['read']) } as never;
  const a = store.create(identity);
  assert.equal(store.get(a.id), a);
  now = 1000;
  assert.equal(store.get(a.id), undefined, 'expired');
  const b = store.create(identity);
  const c = store.create(identity);
  const d = store.create(identity);
  assert.equal(store.size, 2);
  assert.equal(store.get(b.id), undefined, 'the oldest went first');
  assert.ok(store.get(c.id) && store.get(d.id));
});

test("a send's page: a stranger's text as text, tokens masked, the feedback search, a key's apps only", async (t) => {
  const { app } = await testServer();
  t.after(() => app.close());
  const evil = '<script>alert("x")</script><img src=x onerror=alert(1)>';
  const webEndpoint = 'https://push.example.net/wpush/v2/' + 'q'.repeat(60);
  const id = await startSend(app, {
    notification: { title: evil, body: 'b' },
    devices: [
      { platform: 'ios', token: IOS_TOKEN },
      { platform: 'ios', token: 'b'.repeat(64) },
      {
        platform: 'web',
        token: { endpoint: webEndpoint, keys: { p256dh: 'p'.repeat(87), auth: 'a'.repeat(22) } },
      },
    ],
  });
  const cookie = await login(app, KEYS.admin);

  const list = await app.inject({ method: 'GET', url: '/ui', headers: { cookie } });
  assert.ok(list.body.includes(id.slice(0, 8)), 'the send is listed');
  assert.ok(!list.body.includes('<script>alert'), 'no markup from the title');
  assert.ok(list.body.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));

  const page = await app.inject({ method: 'GET', url: `/ui/sends/${id}`, headers: { cookie } });
  assert.equal(page.statusCode, 200);
  assert.ok(!page.body.includes('<script>alert') && !page.body.includes('<img src=x'));
  assert.ok(!page.body.includes(IOS_TOKEN), 'no whole token');
  assert.ok(!page.body.includes(webEndpoint), 'no whole endpoint');
  assert.ok(page.body.includes('aaaa…aaaa'), 'the token by its ends');
  assert.match(page.body, /<b id="count-sent">3<\/b>/);

  const byToken = await app.inject({
    method: 'GET',
    url: `/ui/sends/${id}?token=bbbbbbbb`,
    headers: { cookie },
  });
  assert.equal((byToken.body.match(/<tr><td><code title="masked">/g) ?? []).length, 1);
  assert.ok(byToken.body.includes('bbbb…bbbb'));
  const byEndpoint = await app.inject({
    method: 'GET',
    url: `/ui/sends/${id}?token=wpush`,
    headers: { cookie },
  });
  assert.equal((byEndpoint.body.match(/<tr><td><code title="masked">/g) ?? []).length, 1);
  const failed = await app.inject({
    method: 'GET',
    url: `/ui/sends/${id}?status=failed`,
    headers: { cookie },
  });
  assert.equal((failed.body.match(/<tr><td><code title="masked">/g) ?? []).length, 0);
  assert.match(failed.body, /<option value="failed" selected>/);

  // Another app's key: as if the send did not exist.
  const news = await login(app, KEYS.newsSender);
  assert.equal(
    (await app.inject({ method: 'GET', url: `/ui/sends/${id}`, headers: { cookie: news } })).statusCode,
    404,
  );
  const newsList = await app.inject({ method: 'GET', url: '/ui', headers: { cookie: news } });
  assert.ok(!newsList.body.includes(id.slice(0, 8)));
  // Open by id: a redirect to the send's page.
  const opened = await app.inject({ method: 'GET', url: `/ui/open?id=${id}`, headers: { cookie } });
  assert.equal(opened.headers.location, `/ui/sends/${id}`);
});

test('abort from the dashboard: the CSRF token, the send permission, then the dispatcher aborts', async (t) => {
  const dispatcher = new FakeDispatcher();
  dispatcher.hold = true;
  const { app } = await testServer({ dispatcher });
  t.after(() => app.close());
  const id = await startSend(app, {
    notification: { title: 'Hi' },
    devices: [{ platform: 'ios', token: IOS_TOKEN }],
  });

  const reader = await login(app, KEYS.shopReader);
  const readerPage = await app.inject({ method: 'GET', url: `/ui/sends/${id}`, headers: { cookie: reader } });
  assert.ok(!readerPage.body.includes('Abort send'), 'no abort button without the send permission');
  const readerCsrf = /name="csrf" value="([^"]+)"/.exec(readerPage.body)![1]!;
  const refused = await app.inject({
    method: 'POST',
    url: `/ui/sends/${id}/abort`,
    ...form({ csrf: readerCsrf }),
    headers: { cookie: reader, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(refused.statusCode, 403);

  const admin = await login(app, KEYS.admin);
  const page = await app.inject({ method: 'GET', url: `/ui/sends/${id}`, headers: { cookie: admin } });
  assert.match(page.body, /Abort send/);
  const noToken = await app.inject({
    method: 'POST',
    url: `/ui/sends/${id}/abort`,
    ...form({}),
    headers: { cookie: admin, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(noToken.statusCode, 403, 'a form without the token (another site) is refused');
  assert.deepEqual(dispatcher.aborted, []);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const done = await app.inject({
    method: 'POST',
    url: `/ui/sends/${id}/abort`,
    ...form({ csrf }),
    headers: { cookie: admin, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(done.statusCode, 303);
  assert.equal(done.headers.location, `/ui/sends/${id}`);
  assert.deepEqual(dispatcher.aborted, [id]);
  const after = await app.inject({ method: 'GET', url: `/ui/sends/${id}`, headers: { cookie: admin } });
  assert.match(after.body, /state-aborted/);
  assert.ok(!after.body.includes('Abort send'));
});

/** Reads a server-sent event stream until `enough` says so. */
function readEvents(
  url: string,
  cookie: string,
  enough: (text: string) => boolean,
): Promise<{ type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { cookie } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (enough(text)) {
          resolve({ type: String(res.headers['content-type']), text });
          req.destroy();
        }
      });
      res.on('end', () => reject(new Error(`the stream ended: ${text}`)));
    });
    req.on('error', reject);
    req.end();
  });
}

test('live updates are server-sent events carrying escaped page patches', { timeout: 15_000 }, async (t) => {
  const dispatcher = new FakeDispatcher();
  dispatcher.hold = true;
  const { app } = await testServer({ dispatcher, ui: { intervalMs: 20 } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const cookie = await login(app, KEYS.admin);
  const id = await startSend(app, {
    notification: { title: '<b>bold</b>' },
    devices: [{ platform: 'ios', token: IOS_TOKEN }],
  });

  const list = await readEvents(`${base}/ui/events`, cookie, (text) =>
    text.includes('\n\n' + 'event: patch'),
  );
  assert.match(list.type, /^text\/event-stream/);
  const event = /event: patch\ndata: (.*)\n\n/.exec(list.text);
  assert.ok(event, list.text);
  const patches = JSON.parse(event[1]!) as Array<{
    op: string;
    target: string;
    html: string;
    parent?: string;
  }>;
  const row = patches.find((patch) => patch.target === `send-${id}`);
  assert.ok(row, 'the send row is in the patch');
  assert.equal(row.op, 'replace');
  assert.equal(row.parent, 'sends-body');
  assert.ok(row.html.includes('&lt;b&gt;bold&lt;/b&gt;') && !row.html.includes('<b>bold'));
  assert.ok(patches.some((patch) => patch.target === 'totals'));

  // A send's stream: its live section, then again as its progress moves.
  const status = dispatcher.statuses.get(id)!;
  const updates = readEvents(`${base}/ui/sends/${id}/events`, cookie, (text) =>
    /count-sent\\">1</.test(text),
  );
  setTimeout(() => {
    status.counts.total = 1;
    status.counts.sent = 1;
  }, 50);
  const send = await updates;
  assert.match(send.text, /"target":"live"/);
});

test('the directory: bounded sends and bounded history', async () => {
  const dispatcher = new FakeDispatcher();
  dispatcher.hold = true;
  let now = 0;
  const directory = new SendDirectory(dispatcher, {
    maxSends: 3,
    maxSamples: 8,
    intervalMs: 60_000,
    now: () => now,
  });
  try {
    const tracking = directory.track();
    const spec = (id: string) => ({
      id,
      app: 'shop',
      notification: { title: id },
      devices: { kind: 'inline' as const, devices: [{ platform: 'ios' as const, token: IOS_TOKEN }] },
      createdAt: new Date(0).toISOString(),
    });
    for (const id of ['s1', 's2', 's3', 's4']) await tracking.submit(spec(id));
    assert.deepEqual(
      directory.list().map((send) => send.id),
      ['s4', 's3', 's2'],
      'at most maxSends, the oldest forgotten',
    );
    const status = dispatcher.statuses.get('s4')!;
    for (let i = 0; i < 100; i++) {
      now += 100;
      status.counts.total = i;
      await directory.tick();
    }
    const history = directory.get('s4')!.history;
    assert.ok(history.length <= 8, `history bounded: ${history.length}`);
    assert.equal(history.at(-1)!.total, 99, 'the newest point is kept');
    assert.ok(history[0]!.t <= 200, 'the whole run is still covered');
    assert.ok(directory.rate(directory.get('s4')!).total > 0, 'a rate while it runs');
  } finally {
    directory.close();
  }
});

/**
 * The emulator inbox without a browser: what the four emulators accepted, drawn per platform
 * (iOS card, Android and Huawei notification, browser notification) with the raw request one
 * click away; a stranger's text shown as text; tokens masked; filters; live updates as
 * server-sent events; at most `max` notifications kept.
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { test } from 'node:test';
import { Inbox, startInboxServer } from '../../src/emulator/inbox/index.js';
import { inboxPages } from '../../src/emulator/inbox/pages.js';
import { startEmulator } from '../../src/emulator/index.js';
import { apns, type Device, fcm, hms, PushClient, webPush } from '../../src/index.js';

const IOS = 'ab'.repeat(32);
const ANDROID = 'fcm-token-'.padEnd(40, 'x');
const HUAWEI = 'hms-token-'.padEnd(40, 'y');
const EVIL = '<script>window.pwned=1</script>';

async function fetchText(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    }).on('error', reject);
  });
}

test('every platform drawn as its device shows it, escaped, masked, filterable, with the raw request', async (t) => {
  const emulator = await startEmulator();
  t.after(() => emulator.close());
  const inbox = new Inbox(emulator, { intervalMs: 60_000 });
  t.after(() => inbox.close());
  const client = new PushClient({
    providers: [
      apns({ ...emulator.apns.providerOptions, production: false }),
      fcm(emulator.fcm.providerOptions),
      webPush(emulator.webpush.providerOptions),
      hms(emulator.hms.providerOptions),
    ],
  });
  t.after(() => client.close());
  const subscription = emulator.webpush.subscribe();
  const devices: Device[] = [
    { platform: 'ios', token: IOS },
    { platform: 'android', token: ANDROID },
    { platform: 'web', token: subscription },
    { platform: 'huawei', token: HUAWEI },
  ];
  const notification = {
    title: `Sale ${EVIL}`,
    subtitle: 'Today only',
    body: 'Everything <b>half</b> price',
    badge: 3,
    threadId: 'promo',
    image: 'https://cdn.example.com/sale.png',
    webpush: { icon: 'https://example.com/icon.png', actions: [{ action: 'open', title: 'Open the shop' }] },
  };
  const statuses: string[] = [];
  for await (const feedback of client.send(notification, devices)) statuses.push(feedback.status);
  assert.deepEqual(statuses, ['sent', 'sent', 'sent', 'sent']);

  const added = inbox.collect();
  assert.deepEqual(added.map((item) => item.provider).sort(), ['apns', 'fcm', 'hms', 'webpush']);
  const by = Object.fromEntries(added.map((item) => [item.provider, item]));
  assert.equal(by['apns']!.look, 'ios');
  assert.deepEqual(
    { ...by['apns']!.view },
    {
      appName: emulator.apns.topic,
      title: `Sale ${EVIL}`,
      subtitle: 'Today only',
      body: 'Everything <b>half</b> price',
      badge: '3',
      thread: 'promo',
    },
  );
  assert.equal(by['fcm']!.view.title, `Sale ${EVIL}`);
  assert.equal(by['fcm']!.view.image, 'https://cdn.example.com/sale.png');
  assert.match(by['fcm']!.view.channel!, /fcm_fallback/);
  assert.equal(by['hms']!.view.body, 'Everything <b>half</b> price');
  assert.equal(by['webpush']!.view.icon, 'https://example.com/icon.png');
  assert.deepEqual(by['webpush']!.view.actions, ['Open the shop']);
  assert.match(by['webpush']!.raw.body, /"title": "Sale <script>/, 'the decrypted body');
  assert.equal(inbox.collect().length, 0, 'nothing twice');

  const pages = inboxPages(inbox);
  const server = await startInboxServer(inbox);
  t.after(() => server.close());
  assert.equal(pages.prefix, '/inbox');
  const page = await fetchText(server.url);
  assert.equal(page.status, 200);
  assert.match(page.type, /^text\/html/);
  assert.ok(!page.body.includes('<script>window.pwned'), 'no markup from a notification');
  assert.ok(page.body.includes('&lt;script&gt;window.pwned=1&lt;/script&gt;'));
  assert.ok(!page.body.includes('<b>half</b>'));
  for (const token of [IOS, ANDROID, HUAWEI, subscription.endpoint]) {
    assert.ok(!page.body.includes(token), `no whole token (${token.slice(0, 8)}…)`);
  }
  assert.ok(page.body.includes('abab…abab'), 'tokens by their ends');
  assert.equal((page.body.match(/<details class="raw"><summary>Raw request<\/summary>/g) ?? []).length, 4);
  assert.match(page.body, /class="screen ios"/);
  assert.match(page.body, /class="screen android"/);
  assert.match(page.body, /class="screen web"/);
  assert.match(page.body, /apns-push-type: alert/, 'APNs request headers');
  assert.ok(!/authorization: bearer/i.test(page.body), 'no credential');

  const ios = await fetchText(`${server.url}?provider=apns`);
  assert.equal((ios.body.match(/<li class="item"/g) ?? []).length, 1);
  const byToken = await fetchText(`${server.url}?token=${ANDROID.slice(0, 12)}`);
  assert.equal((byToken.body.match(/<li class="item"/g) ?? []).length, 1);
  assert.match(byToken.body, /data-provider="fcm"/);
  const byApp = await fetchText(`${server.url}?app=${encodeURIComponent(emulator.apns.topic)}`);
  assert.equal((byApp.body.match(/<li class="item"/g) ?? []).length, 1);
  assert.equal((await fetchText(`${server.url}/assets/ui.js`)).status, 200);
  assert.equal((await fetchText(`${server.url}/nope`)).status, 404);
});

test('live updates: a new notification is pushed to the page as an escaped card', {
  timeout: 15_000,
}, async (t) => {
  const emulator = await startEmulator({ fcm: false, webpush: false, hms: false });
  t.after(() => emulator.close());
  const inbox = new Inbox(emulator, { intervalMs: 20 });
  t.after(() => inbox.close());
  const server = await startInboxServer(inbox);
  t.after(() => server.close());
  const client = new PushClient({
    providers: [apns({ ...emulator.apns.providerOptions, production: false })],
  });
  t.after(() => client.close());

  // The content type is checked once the event came, not in the callback: an assertion thrown
  // there would leave `event` pending forever.
  let contentType = '';
  const event = new Promise<string>((resolve, reject) => {
    const req = get(`${server.url}/events?provider=apns`, (res) => {
      contentType = String(res.headers['content-type']);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('event: patch\n') && text.endsWith('\n\n')) {
          resolve(text);
          req.destroy();
        }
      });
    });
    req.on('error', reject);
    t.after(() => req.destroy());
  });
  // Once the stream is open, send.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const statuses: string[] = [];
  for await (const feedback of client.send({ title: EVIL, body: 'live' }, [
    { platform: 'ios', token: IOS },
  ])) {
    statuses.push(feedback.status);
  }
  assert.deepEqual(statuses, ['sent']);
  const text = await event;
  assert.match(contentType, /^text\/event-stream/);
  const data = JSON.parse(/event: patch\ndata: (.*)\n/.exec(text)![1]!) as Array<{
    op: string;
    target: string;
    html: string;
  }>;
  const card = data.find((patch) => patch.target === 'inbox-list')!;
  assert.equal(card.op, 'prepend');
  assert.ok(card.html.includes('&lt;script&gt;window.pwned=1&lt;/script&gt;'));
  assert.ok(!card.html.includes('<script>'));
});

test('at most max notifications are kept, the newest', async (t) => {
  const records: Array<
    { token: string; bundleId: string; payload: Record<string, unknown> } & Record<string, unknown>
  > = [];
  const inbox = new Inbox({ apns: { notifications: records as never } }, { max: 5, intervalMs: 60_000 });
  t.after(() => inbox.close());
  const add = (n: number) =>
    records.push({
      token: IOS,
      topic: 'com.example.app',
      bundleId: 'com.example.app',
      pushType: 'alert',
      priority: 10,
      apnsId: `id-${n}`,
      expiration: undefined,
      collapseId: undefined,
      headers: {},
      payload: { aps: { alert: { title: `n${n}` } } },
      connectionId: 1,
      receivedAt: n,
    });
  for (let n = 1; n <= 12; n++) add(n);
  inbox.collect();
  for (let n = 13; n <= 30; n++) {
    add(n);
    inbox.collect();
  }
  assert.equal(inbox.size, 5);
  assert.deepEqual(
    inbox.list({}, 100).map((item) => item.view.title),
    ['n30', 'n29', 'n28', 'n27', 'n26'],
  );
});

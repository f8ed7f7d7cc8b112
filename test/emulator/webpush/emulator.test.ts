import assert from 'node:assert/strict';
import { createECDH, createPrivateKey } from 'node:crypto';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import webpush from 'web-push';
import type { WebPushSubscription } from '../../../src/device.js';
import { startWebPushEmulator, type WebPushEmulator } from '../../../src/emulator/webpush/index.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Posts over HTTPS/1.1 with the emulator's CA: a client that is not pushline's. */
function post(
  emulator: WebPushEmulator,
  endpoint: string,
  headers: Record<string, string | number>,
  body?: Buffer | null,
) {
  return new Promise<Reply>((resolve, reject) => {
    const req = https.request(endpoint, { method: 'POST', headers, ca: emulator.ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** A valid request made by the web-push package, to alter one thing at a time. */
function requestFrom(emulator: WebPushEmulator, subscription: WebPushSubscription, payload = 'hello') {
  const details = webpush.generateRequestDetails(subscription, payload, {
    vapidDetails: emulator.vapid,
    TTL: 60,
  });
  return { headers: { ...(details.headers as Record<string, string | number>) }, body: details.body };
}

function signingKey(keys: { publicKey: string; privateKey: string }) {
  const pub = Buffer.from(keys.publicKey, 'base64url');
  return createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33).toString('base64url'),
      d: keys.privateKey,
    },
  });
}

async function vapidHeader(
  keys: { publicKey: string; privateKey: string },
  claims: { aud?: string; exp?: number; sub?: string },
  kKey = keys.publicKey,
) {
  const jwt = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .sign(signingKey(keys));
  return `vapid t=${jwt}, k=${kKey}`;
}

describe('Web Push emulator', () => {
  let emulator: WebPushEmulator;
  before(async () => {
    emulator = await startWebPushEmulator({ origins: 3 });
  });
  after(() => emulator.close());

  it('serves several push-service origins on 127.0.0.1 with ready provider options', () => {
    assert.equal(emulator.origins.length, 3);
    assert.equal(new Set(emulator.origins).size, 3);
    for (const origin of emulator.origins) assert.match(origin, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(emulator.origin, emulator.origins[0]);
    assert.deepEqual(emulator.providerOptions, {
      vapid: emulator.vapid,
      allowHosts: ['127.0.0.1'],
      ca: emulator.ca,
    });
    const subs = [
      emulator.subscribe(),
      emulator.subscribe(),
      emulator.subscribe(),
      emulator.subscribe({ origin: 2 }),
    ];
    assert.deepEqual(
      subs.map((s) => new URL(s.endpoint).origin),
      [emulator.origins[0], emulator.origins[1], emulator.origins[2], emulator.origins[2]],
    );
    const keys = subs[0]!.keys;
    assert.equal(Buffer.from(keys.p256dh, 'base64url').length, 65);
    assert.equal(Buffer.from(keys.auth, 'base64url').length, 16);
  });

  it('takes messages from the web-push package on every origin and decrypts them', async () => {
    emulator.reset();
    const agent = new https.Agent({ ca: emulator.ca });
    try {
      for (let origin = 0; origin < 3; origin++) {
        const subscription = emulator.subscribe({ origin });
        const payload = JSON.stringify({ title: `hello from web-push to #${origin}`, n: origin });
        const result = await webpush.sendNotification(subscription, payload, {
          vapidDetails: emulator.vapid,
          TTL: 120,
          urgency: 'high',
          topic: 'greeting',
          agent,
        });
        assert.equal(result.statusCode, 201);
        assert.match(String(result.headers['location']), new RegExp(`^${emulator.origins[origin]}/message/`));
        const [message] = emulator.messagesFor(subscription);
        assert.ok(message);
        assert.equal(message.text, payload);
        assert.equal(message.ttl, 120);
        assert.equal(message.urgency, 'high');
        assert.equal(message.topic, 'greeting');
        assert.equal(message.httpVersion, '1.1');
        assert.equal(message.vapidSubject, emulator.vapid.subject);
        assert.equal(message.originIndex, origin);
      }
      assert.equal(emulator.stats.byStatus[201], 3);
    } finally {
      agent.destroy();
    }
  });

  it('answers 401 without VAPID and 403 for invalid VAPID', async () => {
    const subscription = emulator.subscribe({ origin: 0 });
    const aud = emulator.origins[0]!;
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const other = webpush.generateVAPIDKeys();
    const cases: Array<[string, string | undefined, number, RegExp]> = [
      ['no authorization', undefined, 401, /required/],
      ['not the vapid scheme', 'Bearer abc', 401, /vapid t=/],
      [
        'aud of another push service',
        await vapidHeader(emulator.vapid, {
          aud: emulator.origins[1],
          exp: inAnHour,
          sub: 'mailto:a@example.com',
        }),
        403,
        /aud/,
      ],
      [
        'expired',
        await vapidHeader(emulator.vapid, { aud, exp: inAnHour - 7200, sub: 'mailto:a@example.com' }),
        403,
        /exp/,
      ],
      [
        'exp more than 24 h ahead',
        await vapidHeader(emulator.vapid, { aud, exp: inAnHour + 24 * 3600, sub: 'mailto:a@example.com' }),
        403,
        /24 hours/,
      ],
      ['no exp', await vapidHeader(emulator.vapid, { aud, sub: 'mailto:a@example.com' }), 403, /exp/],
      ['no sub', await vapidHeader(emulator.vapid, { aud, exp: inAnHour }), 403, /sub/],
      [
        'sub not mailto/https',
        await vapidHeader(emulator.vapid, { aud, exp: inAnHour, sub: 'ops@example.com' }),
        403,
        /sub/,
      ],
      [
        'k is not the signing key',
        await vapidHeader(
          emulator.vapid,
          { aud, exp: inAnHour, sub: 'mailto:a@example.com' },
          other.publicKey,
        ),
        403,
        /signature/,
      ],
      [
        'k is not a key',
        await vapidHeader(emulator.vapid, { aud, exp: inAnHour, sub: 'mailto:a@example.com' }, 'AAAA'),
        403,
        /k is not/,
      ],
    ];
    for (const [what, authorization, status, message] of cases) {
      const { headers, body } = requestFrom(emulator, subscription);
      if (authorization === undefined) delete headers['Authorization'];
      else headers['Authorization'] = authorization;
      const reply = await post(emulator, subscription.endpoint, headers, body);
      assert.equal(reply.status, status, what);
      assert.match(JSON.parse(reply.body).message, message, what);
    }
    assert.equal(emulator.messagesFor(subscription).length, 0);
  });

  it('refuses a restricted subscription messages signed with another key (403, key mismatch)', async () => {
    const restricted = emulator.subscribe({ applicationServerKey: webpush.generateVAPIDKeys().publicKey });
    const { headers, body } = requestFrom(emulator, restricted);
    const reply = await post(emulator, restricted.endpoint, headers, body);
    assert.equal(reply.status, 403);
    assert.match(reply.body, /mismatch/);
  });

  it('requires TTL and aes128gcm, checks Urgency and Topic, and decrypts every body', async () => {
    const subscription = emulator.subscribe();
    const alter: Array<[string, (r: ReturnType<typeof requestFrom>) => void, number]> = [
      ['no TTL', (r) => delete r.headers['TTL'], 400],
      ['TTL not a number', (r) => (r.headers['TTL'] = 'soon'), 400],
      ['aesgcm encoding', (r) => (r.headers['Content-Encoding'] = 'aesgcm'), 400],
      ['bad urgency', (r) => (r.headers['Urgency'] = 'urgent'), 400],
      ['bad topic', (r) => (r.headers['Topic'] = 'not:base64url'), 400],
      ['body that does not decrypt', (r) => (r.body = Buffer.alloc(r.body!.length, 7)), 400],
      ['body for another browser', (r) => (r.body = requestFrom(emulator, emulator.subscribe()).body), 400],
      ['body over 4096 bytes', (r) => (r.body = Buffer.alloc(4097, 1)), 413],
    ];
    for (const [what, change, status] of alter) {
      const request = requestFrom(emulator, subscription);
      change(request);
      if (request.body) request.headers['Content-Length'] = request.body.length;
      const reply = await post(emulator, subscription.endpoint, request.headers, request.body);
      assert.equal(reply.status, status, `${what}: ${reply.body}`);
    }
    const ok = requestFrom(emulator, subscription, 'finally');
    const reply = await post(emulator, subscription.endpoint, ok.headers, ok.body);
    assert.equal(reply.status, 201);
    assert.equal(reply.headers['ttl'], '60');
    assert.deepEqual(
      emulator.messagesFor(subscription).map((m) => m.text),
      ['finally'],
    );
  });

  it('answers 404 for unknown subscriptions and for a subscription asked on another origin', async () => {
    const subscription = emulator.subscribe({ origin: 0 });
    const request = requestFrom(emulator, subscription);
    const wrongOrigin = subscription.endpoint.replace(emulator.origins[0]!, emulator.origins[1]!);
    request.headers['Authorization'] = (
      webpush.getVapidHeaders(
        emulator.origins[1]!,
        emulator.vapid.subject,
        emulator.vapid.publicKey,
        emulator.vapid.privateKey,
        'aes128gcm',
      ) as { Authorization: string }
    ).Authorization;
    assert.equal((await post(emulator, wrongOrigin, request.headers, request.body)).status, 404);
    const unknown = `${emulator.origins[0]}/push/nosuchsubscription`;
    const again = requestFrom(emulator, subscription);
    assert.equal((await post(emulator, unknown, again.headers, again.body)).status, 404);
  });

  it('plays scenarios per subscription: gone, not found, 429 for the first K attempts, 413, 5xx', async () => {
    emulator.reset();
    const send = async (subscription: WebPushSubscription) => {
      const { headers, body } = requestFrom(emulator, subscription);
      return post(emulator, subscription.endpoint, headers, body);
    };
    const gone = emulator.subscribe();
    emulator.setScenario(gone, { kind: 'gone' });
    assert.equal((await send(gone)).status, 410);
    const unsubscribed = emulator.subscribe();
    emulator.unsubscribe(unsubscribed);
    assert.equal((await send(unsubscribed)).status, 410);
    const notFound = emulator.subscribe();
    emulator.setScenario(notFound, { kind: 'not-found' });
    assert.equal((await send(notFound)).status, 404);
    const tooLarge = emulator.subscribe();
    emulator.setScenario(tooLarge, { kind: 'too-large' });
    assert.equal((await send(tooLarge)).status, 413);

    const limited = emulator.subscribe();
    emulator.setScenario(limited, { kind: 'rate-limited', times: 2, retryAfterSeconds: 7 });
    const first = await send(limited);
    assert.equal(first.status, 429);
    assert.equal(first.headers['retry-after'], '7');
    assert.equal((await send(limited)).status, 429);
    assert.equal((await send(limited)).status, 201);
    assert.deepEqual(emulator.subscriptionStats(limited), {
      attempts: 3,
      accepted: 1,
      byStatus: { 429: 2, 201: 1 },
    });

    const failing = emulator.subscribe();
    emulator.setScenario(failing, { kind: 'server-error', times: 1, status: 502, retryAfterSeconds: 3 });
    const failed = await send(failing);
    assert.equal(failed.status, 502);
    assert.equal(failed.headers['retry-after'], '3');
    assert.equal((await send(failing)).status, 201);

    assert.deepEqual(emulator.stats.byStatus, { 410: 2, 404: 1, 413: 1, 429: 2, 201: 2, 502: 1 });
    emulator.reset();
    assert.equal((await send(gone)).status, 201, 'reset clears scenarios');
    assert.equal((await send(unsubscribed)).status, 201, 'reset clears unsubscriptions');
    assert.deepEqual(emulator.stats, { requests: 2, byStatus: { 201: 2 } });
  });

  it('keeps a bounded number of messages, and none in sink mode', async () => {
    const small = await startWebPushEmulator({ maxMessages: 2 });
    try {
      const subscription = small.subscribe();
      for (const text of ['a', 'b', 'c']) {
        const { headers, body } = requestFrom(small, subscription, text);
        assert.equal((await post(small, subscription.endpoint, headers, body)).status, 201);
      }
      assert.deepEqual(
        small.messages().map((m) => m.text),
        ['b', 'c'],
      );
      small.sink = true;
      const { headers } = requestFrom(small, subscription, 'd');
      const reply = await post(
        small,
        subscription.endpoint,
        { ...headers, 'Content-Length': 5 },
        Buffer.from('junk!'),
      );
      assert.equal(reply.status, 201, 'sink mode does not decrypt');
      assert.equal(small.messages().length, 2);
      small.sink = false;
      small.latencyMs = 60;
      const slow = requestFrom(small, subscription, 'e');
      const started = performance.now();
      assert.equal((await post(small, subscription.endpoint, slow.headers, slow.body)).status, 201);
      assert.ok(performance.now() - started >= 50, 'latency is applied');
    } finally {
      await small.close();
    }
  });

  it('issues plain WebPushSubscriptions whose p256dh is a real P-256 point (the private half stays inside)', () => {
    const subscription = emulator.subscribe();
    assert.deepEqual(Object.keys(subscription).sort(), ['endpoint', 'keys']);
    assert.deepEqual(Object.keys(subscription.keys).sort(), ['auth', 'p256dh']);
    const someone = createECDH('prime256v1');
    someone.generateKeys();
    assert.equal(someone.computeSecret(Buffer.from(subscription.keys.p256dh, 'base64url')).length, 32);
  });
});

/** The fcm() provider against the FCM emulator (and, for what the emulator cannot stage, a fake pool). */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Device } from '../../../src/device.js';
import { type FcmEmulator, startFcmEmulator } from '../../../src/emulator/fcm/index.js';
import { PushError } from '../../../src/errors.js';
import type { Notification } from '../../../src/notification.js';
import type { Outcome, PreparedSend, SendContext } from '../../../src/provider.js';
import { fcm } from '../../../src/providers/fcm/index.js';
import { resolveFcmOptions } from '../../../src/providers/fcm/options.js';
import { createFcmProvider, type FcmProvider } from '../../../src/providers/fcm/provider.js';
import type { TransportRequest, TransportResponse } from '../../../src/transport/types.js';

let emu: FcmEmulator;
let provider: FcmProvider;

const ctx = (attempt = 1): SendContext => ({ signal: new AbortController().signal, attempt });
const android = (token: unknown): Device => ({ platform: 'android', token: token as string });

async function sendAll(prepared: PreparedSend, devices: Device[], attempt = 1): Promise<Outcome[]> {
  return Promise.all(devices.map((d) => prepared.send!(d, ctx(attempt))));
}

function failed(outcome: Outcome) {
  assert.equal(outcome.ok, false, JSON.stringify(outcome));
  if (outcome.ok) throw new Error('unreachable');
  return outcome.error;
}

before(async () => {
  emu = await startFcmEmulator({ projectId: 'e2e' });
  provider = fcm(emu.providerOptions);
});
after(async () => {
  await provider.close();
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  emu.setScenarios({ unregisteredTokens: [], quota: null, flaky: null, tokenLifetimeSeconds: 3600 });
});

describe('fcm provider through the emulator', () => {
  it('sends the message built once, with stringified data, and reports the message name', async () => {
    const n: Notification = {
      title: 'Hello',
      body: 'World',
      data: { id: 42, nested: { a: true }, s: 'plain' },
      priority: 'high',
      ttl: 60,
      fcm: { android: { notification: { channel_id: 'news', color: '#00ff00' } } },
    };
    const outcome = await provider.prepare(n, {}).send!(android('tok-1'), ctx());
    assert.equal(outcome.ok, true);
    assert.ok(outcome.ok && outcome.messageId?.startsWith('projects/e2e/messages/'));
    const [got] = emu.messages;
    assert.deepEqual(got!.message, {
      data: { id: '42', nested: '{"a":true}', s: 'plain' },
      notification: { title: 'Hello', body: 'World' },
      android: { priority: 'HIGH', ttl: '60s', notification: { channel_id: 'news', color: '#00ff00' } },
      token: 'tok-1',
    });
    assert.equal(got!.validateOnly, false);
  });

  it('asks for one access token however many sends start together', async () => {
    const fresh = fcm(emu.providerOptions);
    try {
      const prepared = fresh.prepare({ title: 't' }, {});
      const outcomes = await sendAll(
        prepared,
        Array.from({ length: 200 }, (_, i) => android(`tok-${i}`)),
      );
      assert.ok(outcomes.every((o) => o.ok));
      assert.equal(emu.stats.tokenRequests, 1);
      assert.equal(fresh.tokenRequests, 1);
    } finally {
      await fresh.close();
    }
  });

  it('on 401 UNAUTHENTICATED refreshes the token once and re-sends', async () => {
    const prepared = provider.prepare({ title: 't' }, {});
    assert.equal((await prepared.send!(android('warm'), ctx())).ok, true);
    const before = emu.stats.tokenRequests;
    emu.revokeAccessTokens();
    const outcomes = await sendAll(
      prepared,
      Array.from({ length: 50 }, (_, i) => android(`tok-${i}`)),
    );
    assert.ok(outcomes.every((o) => o.ok));
    assert.equal(emu.stats.tokenRequests - before, 1, 'one refresh for the whole burst');
    assert.equal(emu.stats.byStatus[401], 50);
    assert.equal(emu.stats.accepted, 51);
    // The re-sent bodies are each device's own (the body is made again for the re-send).
    const resent = emu.messages.slice(-50).map((m) => m.message['token']);
    assert.deepEqual(resent.sort(), Array.from({ length: 50 }, (_, i) => `tok-${i}`).sort());
  });

  it('refreshes when the token expires, not before', async () => {
    emu.setScenarios({ tokenLifetimeSeconds: 1 });
    const p = fcm(emu.providerOptions);
    try {
      const prepared = p.prepare({ title: 't' }, {});
      await sendAll(prepared, [android('a'), android('b')]);
      assert.equal(emu.stats.tokenRequests, 1);
      await new Promise((r) => setTimeout(r, 1100));
      await sendAll(prepared, [android('c'), android('d')]);
      assert.equal(emu.stats.tokenRequests, 2);
      assert.equal(emu.stats.byStatus[401] ?? 0, 0, 'refreshed before FCM had to refuse it');
    } finally {
      await p.close();
    }
  });

  it('maps dead, throttled and flaky tokens', async () => {
    emu.setScenarios({
      unregisteredTokens: ['dead'],
      senderMismatchTokens: ['foreign'],
      quota: { tokens: ['busy'], retryAfterSeconds: 1 },
      flaky: { tokens: ['shaky'], retryAfterSeconds: 2 },
    });
    const prepared = provider.prepare({ title: 't' }, {});
    const [dead, foreign, busy, shaky, bad] = await sendAll(prepared, [
      android('dead'),
      android('foreign'),
      android('busy'),
      android('shaky'),
      android('bad token!'),
    ]);
    assert.deepEqual(
      [failed(dead!).code, failed(dead!).reason, dead!.httpStatus],
      ['invalid-token', 'UNREGISTERED', 404],
    );
    assert.equal(failed(foreign!).code, 'invalid-token');
    assert.deepEqual(
      [failed(busy!).code, failed(busy!).retryable, failed(busy!).retryAfterMs],
      ['rate-limited', true, 1000],
    );
    assert.deepEqual([failed(shaky!).code, failed(shaky!).retryAfterMs], ['unavailable', 2000]);
    assert.equal(
      failed(bad!).code,
      'invalid-token',
      'malformed token: INVALID_ARGUMENT about the registration token',
    );
    const [busy2, shaky2] = await sendAll(prepared, [android('busy'), android('shaky')], 2);
    assert.ok(busy2!.ok && shaky2!.ok, 'the retry goes through');
  });

  it('refuses empty and non-string tokens, and topics given as tokens, without a request', async () => {
    const prepared = provider.prepare({ title: 't' }, {});
    for (const token of ['', '  ', undefined, 42, { endpoint: 'x' }]) {
      assert.equal(failed(await prepared.send!(android(token), ctx())).code, 'invalid-token');
    }
    const topic = failed(await prepared.send!(android('/topics/news'), ctx()));
    assert.equal(topic.code, 'bad-request');
    assert.match(topic.message, /fcm: \{ topic \}/);
    assert.equal(emu.stats.sendRequests, 0);
  });

  it('checks size and reserved data keys at prepare', () => {
    assert.throws(() => provider.prepare({ data: { blob: 'x'.repeat(5000) } }, {}), {
      code: 'payload-too-large',
    });
    assert.throws(() => provider.prepare({ data: { 'google.sent_time': 1 } }, {}), { code: 'bad-request' });
    assert.throws(() => provider.prepare({ data: { blob: 'x'.repeat(3000) }, fcm: { topic: 'news' } }, {}), {
      code: 'payload-too-large',
    });
  });

  it('a dry run sends validate_only: FCM checks each message, delivers none, and the outcome says validated', async () => {
    assert.equal(provider.dryRun.mode, 'remote');
    const dry = await provider.dryRun.prepare({ title: 't' }).send!(android('x'), ctx());
    assert.ok(dry.ok && dry.messageId === 'projects/e2e/messages/fake_message_id');
    assert.equal(dry.validated, true);
    const validating = fcm({ ...emu.providerOptions, validateOnly: true });
    try {
      const outcome = await validating.prepare({ title: 't' }, {}).send!(android('y'), ctx());
      assert.ok(outcome.ok && outcome.validated === true, 'the validateOnly option is not "sent" either');
    } finally {
      await validating.close();
    }
    assert.deepEqual(
      emu.messages.map((m) => m.validateOnly),
      [true, true],
    );
    assert.equal(emu.stats.accepted, 2);
    assert.equal(emu.stats.delivered, 0);
  });

  it('a dry run reports the real error for a dead token (FCM checks it under validate_only too)', async () => {
    emu.setScenarios({ unregisteredTokens: ['dead'] });
    const outcome = await provider.dryRun.prepare({ title: 't' }).send!(android('dead'), ctx());
    assert.equal(failed(outcome).code, 'invalid-token');
    assert.equal(emu.stats.delivered, 0);
  });

  it('a token refused without a request says requested: false', async () => {
    const outcomes = await sendAll(provider.prepare({ title: 't' }, {}), [android(''), android('/topics/x')]);
    assert.deepEqual(
      outcomes.map((o) => [failed(o).code, o.requested]),
      [
        ['invalid-token', false],
        ['bad-request', false],
      ],
    );
    assert.equal(emu.stats.sendRequests, 0);
  });

  it('sends ONE message per attempt for a topic send, shared by every device of the send', async () => {
    const prepared = provider.prepare({ title: 'News', fcm: { topic: 'news' } }, {});
    const outcomes = await sendAll(prepared, [android('topic:news'), android('ignored'), android('')]);
    assert.ok(outcomes.every((o) => o.ok));
    assert.equal(emu.stats.sendRequests, 1);
    assert.deepEqual(emu.messages[0]!.target, { kind: 'topic', value: 'news' });
    await provider.prepare({ fcm: { condition: "'a' in topics || 'b' in topics" } }, {}).send!(
      android('x'),
      ctx(),
    );
    assert.deepEqual(emu.messages[1]!.target, { kind: 'condition', value: "'a' in topics || 'b' in topics" });
  });

  it('serves ios and web devices with apns and webpush blocks FCM accepts', async () => {
    const multi = fcm({ ...emu.providerOptions, platforms: ['android', 'ios', 'web'], app: 'main' });
    try {
      assert.deepEqual(multi.platforms, ['android', 'ios', 'web']);
      assert.equal(multi.app, 'main');
      const n: Notification = {
        title: 'T',
        subtitle: 'S',
        badge: 2,
        priority: 'high',
        ttl: 30,
        silent: false,
      };
      const outcome = await multi.prepare(n, {}).send!({ platform: 'ios', token: 'ios-token' }, ctx());
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      assert.deepEqual((emu.messages[0]!.message['apns'] as { payload: unknown }).payload, {
        aps: { alert: { subtitle: 'S' }, badge: 2 },
      });
    } finally {
      await multi.close();
    }
  });

  it('a wrong service-account key fails with auth and Google’s reason, sending nothing', async () => {
    const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    const wrong = fcm({
      ...emu.providerOptions,
      serviceAccount: { ...emu.serviceAccount, private_key: wrongKey.toString() },
    });
    try {
      const prepared = wrong.prepare({ title: 't' }, {});
      const outcomes = await sendAll(prepared, [android('a'), android('b'), android('c')]);
      for (const o of outcomes) {
        const e = failed(o);
        assert.equal(e.code, 'auth');
        assert.equal(e.stopsLane, true);
        assert.match(e.message, /Invalid JWT Signature/);
      }
      assert.equal(emu.stats.tokenRequests, 1, 'the waiting sends shared one token request');
      assert.equal(emu.stats.sendRequests, 0);
    } finally {
      await wrong.close();
    }
  });
});

describe('fcm provider with a scripted transport', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const resolved = resolveFcmOptions(
    {
      serviceAccount: {
        project_id: 'p',
        private_key: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        client_email: 'sa@p.iam.gserviceaccount.com',
      },
    },
    {},
  );
  const json = (status: number, body: unknown, headers = {}): TransportResponse => ({
    status,
    headers,
    body: Buffer.from(JSON.stringify(body)),
    retireConnection() {},
  });
  const unauthenticated = json(401, {
    error: {
      code: 401,
      message: 'Request had invalid authentication credentials.',
      status: 'UNAUTHENTICATED',
    },
  });

  function scripted(
    answer: (req: TransportRequest, origin: string) => TransportResponse | Promise<TransportResponse>,
  ) {
    const seen: Array<{ origin: string; req: TransportRequest }> = [];
    let tokens = 0;
    const provider = createFcmProvider(resolved, {
      get: (origin) => ({
        async request(req) {
          seen.push({ origin, req });
          if (origin === 'https://oauth2.googleapis.com')
            return json(200, { access_token: `tok-${++tokens}`, expires_in: 3600 });
          return answer(req, origin);
        },
      }),
      close: async () => {},
      destroy: () => {},
    });
    return { provider, seen, tokenCount: () => tokens };
  }

  it('a second 401 after the refresh is auth (stops the lane)', async () => {
    const { provider, seen, tokenCount } = scripted(() => unauthenticated);
    const e = failed(await provider.prepare({ title: 't' }, {}).send!(android('a'), ctx()));
    assert.equal(e.code, 'auth');
    assert.equal(e.reason, 'UNAUTHENTICATED');
    assert.equal(tokenCount(), 2);
    const sends = seen.filter((s) => s.origin === 'https://fcm.googleapis.com');
    assert.equal(sends.length, 2);
    assert.equal(sends[0]!.req.headers?.['authorization'], 'Bearer tok-1');
    assert.equal(sends[1]!.req.headers?.['authorization'], 'Bearer tok-2');
    assert.equal(sends[0]!.req.path, '/v1/projects/p/messages:send');
  });

  it('turns a transport failure into a retryable outcome, never a rejection', async () => {
    const { provider } = scripted(() => {
      throw new PushError('unavailable', 'connect ECONNREFUSED 127.0.0.1:443', { reason: 'ECONNREFUSED' });
    });
    const e = failed(await provider.prepare({ title: 't' }, {}).send!(android('a'), ctx()));
    assert.deepEqual(
      [e.code, e.retryable, e.reason, e.provider],
      ['unavailable', true, 'ECONNREFUSED', 'fcm'],
    );
    const { provider: buggy } = scripted(() => {
      throw new TypeError('boom');
    });
    const b = failed(await buggy.prepare({ title: 't' }, {}).send!(android('a'), ctx()));
    assert.deepEqual([b.code, b.provider], ['internal', 'fcm']);
  });
});

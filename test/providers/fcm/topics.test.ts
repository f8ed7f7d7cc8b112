/**
 * FCM topic management: client.subscribe / client.unsubscribe through the engine, fcm() and
 * the emulator's Instance ID API — batching (≤ 1,000 tokens a request), per-token errors,
 * retries, token refresh, devices of other providers, bounded reading — and the answer table.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type FcmEmulator, startFcmEmulator } from '../../../src/emulator/fcm/index.js';
import { type Device, type Feedback, PushClient, PushError } from '../../../src/index.js';
import type { Provider } from '../../../src/provider.js';
import { fcm } from '../../../src/providers/fcm/index.js';
import { TOPIC_ERRORS, topicOutcomes } from '../../../src/providers/fcm/responses.js';
import { normalizeTopic, topicBody } from '../../../src/providers/fcm/topics.js';

let emu: FcmEmulator;
let client: PushClient;

const android = (token: string): Device => ({ platform: 'android', token });
const tokens = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function collect(delivery: AsyncIterable<Feedback>): Promise<Feedback[]> {
  const out: Feedback[] = [];
  for await (const feedback of delivery) out.push(feedback);
  return out;
}

before(async () => {
  emu = await startFcmEmulator({ projectId: 'topics' });
  client = new PushClient({
    providers: [fcm(emu.providerOptions)],
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
  });
});
after(async () => {
  await client.close();
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  emu.setScenarios({
    unregisteredTokens: [],
    invalidTokens: [],
    flaky: null,
    quota: null,
    unavailableBurst: 0,
  });
});

describe('client.subscribe / unsubscribe through the FCM emulator', () => {
  it('subscribes 2,500 tokens in requests of at most 1,000, one `sent` feedback each', async () => {
    const all = tokens('sub', 2500);
    const feedback = await collect(client.subscribe('news', all.map(android)));
    assert.equal(feedback.length, 2500);
    assert.ok(feedback.every((f) => f.status === 'sent' && f.provider === 'fcm' && f.attempts === 1));
    assert.deepEqual(new Set(feedback.map((f) => f.device.token)), new Set(all));
    assert.deepEqual(new Set(emu.subscribers('news')), new Set(all));
    assert.deepEqual(emu.subscribers('/topics/news').length, 2500);
    assert.equal(emu.stats.topicRequests, 3);
    assert.deepEqual(emu.topicsOf('sub-7'), ['news']);
  });

  it('unsubscribes: the emulator keeps only the others', async () => {
    await client.subscribe('/topics/sport', tokens('u', 10).map(android)).done;
    const summary = await client.unsubscribe('sport', tokens('u', 4).map(android)).done;
    assert.equal(summary.sent, 4);
    assert.deepEqual(emu.subscribers('sport'), ['u-4', 'u-5', 'u-6', 'u-7', 'u-8', 'u-9']);
  });

  it('per-token errors: NOT_FOUND and INVALID_ARGUMENT are invalid-token, the rest of the request is subscribed', async () => {
    emu.setScenarios({ unregisteredTokens: ['dead-1'], invalidTokens: ['bad-1'] });
    const feedback = await collect(
      client.subscribe('news', ['ok-1', 'dead-1', 'ok-2', 'bad-1'].map(android)),
    );
    const by = new Map(feedback.map((f) => [f.device.token, f]));
    assert.equal(by.get('ok-1')!.status, 'sent');
    assert.equal(by.get('ok-2')!.status, 'sent');
    assert.equal(by.get('dead-1')!.status, 'invalid-token');
    assert.equal(by.get('dead-1')!.error!.reason, 'NOT_FOUND');
    assert.equal(by.get('bad-1')!.status, 'invalid-token');
    assert.equal(by.get('bad-1')!.error!.reason, 'INVALID_ARGUMENT');
    assert.equal(emu.stats.topicRequests, 1);
    assert.deepEqual(emu.subscribers('news').sort(), ['ok-1', 'ok-2']);
  });

  it('retries a token answered INTERNAL alone, and a whole request answered 503', async () => {
    emu.setScenarios({ flaky: { tokens: ['flaky-1'], failFirst: 1 }, unavailableBurst: 1 });
    const feedback = await collect(client.subscribe('news', ['flaky-1', 'steady-1'].map(android)));
    const by = new Map(feedback.map((f) => [f.device.token, f]));
    // Request 1: 503 for both. Request 2: INTERNAL for flaky-1, done for steady-1. Request 3: flaky-1 done.
    assert.equal(by.get('steady-1')!.status, 'sent');
    assert.equal(by.get('steady-1')!.attempts, 2);
    assert.equal(by.get('flaky-1')!.status, 'sent');
    assert.equal(by.get('flaky-1')!.attempts, 3);
    assert.equal(emu.stats.topicRequests, 3);
  });

  it('a token still failing after the retry budget ends failed and retryable', async () => {
    emu.setScenarios({ flaky: { tokens: ['flaky-2'], failFirst: 100 } });
    const [f] = await collect(client.subscribe('news', [android('flaky-2')], { retry: { maxAttempts: 2 } }));
    assert.equal(f!.status, 'failed');
    assert.equal(f!.error!.code, 'unavailable');
    assert.equal(f!.error!.retryable, true);
    assert.equal(f!.attempts, 2);
  });

  it('gets a new access token once after a 401 and goes on', async () => {
    await client.subscribe('news', [android('warm')]).done;
    const before = emu.stats.tokensIssued;
    emu.revokeAccessTokens();
    const summary = await client.subscribe('news', tokens('r', 5).map(android)).done;
    assert.equal(summary.sent, 5);
    assert.equal(emu.stats.tokensIssued, before + 1);
  });

  it('refuses a bad topic name at once, before reading a device or making a request', () => {
    let read = 0;
    function* devices() {
      read++;
      yield android('x');
    }
    for (const topic of ['', 'has space', '/topics/', 'a/b', '/topics/ok/no']) {
      assert.throws(
        () => client.subscribe(topic, devices()),
        (err: unknown) =>
          err instanceof PushError && err.code === 'bad-request' && /topic name/.test(err.message),
      );
    }
    assert.equal(read, 0);
    assert.equal(emu.stats.topicRequests, 0);
  });

  it('fails devices of a provider without topics one by one, and subscribes the FCM ones', async () => {
    const ios: Provider = {
      name: 'apns',
      platforms: ['ios'],
      prepare: () => ({ send: () => Promise.reject(new Error('no send expected')) }),
      close: () => Promise.resolve(),
      destroy: () => Promise.resolve(),
    };
    const mixed = new PushClient({ providers: [fcm(emu.providerOptions), ios] });
    try {
      const feedback = await collect(
        mixed.subscribe('news', [android('a-1'), { platform: 'ios', token: 'ab12' }, android('a-2')]),
      );
      const iosFeedback = feedback.find((f) => f.device.platform === 'ios')!;
      assert.equal(iosFeedback.status, 'failed');
      assert.equal(iosFeedback.error!.code, 'bad-request');
      assert.match(iosFeedback.error!.message, /apns has no topics/);
      assert.equal(iosFeedback.attempts, 0);
      assert.deepEqual(emu.subscribers('news').sort(), ['a-1', 'a-2']);
    } finally {
      await mixed.close();
    }
  });

  it('throws config when no provider manages topics', async () => {
    const ios: Provider = {
      name: 'apns',
      platforms: ['ios'],
      prepare: () => ({ send: () => Promise.resolve({ ok: true }) }),
      close: () => Promise.resolve(),
      destroy: () => Promise.resolve(),
    };
    const apnsOnly = new PushClient({ providers: [ios] });
    try {
      assert.throws(
        () => apnsOnly.subscribe('news', []),
        (err: unknown) => err instanceof PushError && err.code === 'config',
      );
    } finally {
      await apnsOnly.close();
    }
  });

  it('reads devices only as fast as feedback comes back (bounded, not buffered)', async () => {
    const total = 20_000;
    let read = 0;
    let answered = 0;
    let maxAhead = 0;
    async function* devices() {
      for (let i = 0; i < total; i++) {
        read++;
        maxAhead = Math.max(maxAhead, read - answered);
        yield android(`s-${i}`);
      }
    }
    for await (const f of client.subscribe('big', devices())) {
      assert.equal(f.status, 'sent');
      answered++;
    }
    assert.equal(answered, total);
    // The lane holds two requests' worth (2,000) plus what the source and channel hold.
    assert.ok(maxAhead <= 3000, `read ${maxAhead} devices ahead of their feedback`);
    assert.equal(emu.subscribers('big').length, total);
  });

  it('a topic send reaches the tokens subscribed to it (the emulator records them)', async () => {
    await client.subscribe('deals', tokens('d', 3).map(android)).done;
    await client.unsubscribe('deals', [android('d-1')]).done;
    const summary = await client.send({ title: 'Sale', fcm: { topic: 'deals' } }, [android('any')]).done;
    assert.equal(summary.sent, 1);
    const message = emu.messages.at(-1)!;
    assert.deepEqual(message.target, { kind: 'topic', value: 'deals' });
    assert.deepEqual(message.recipients, ['d-0', 'd-2']);
  });

  it('fails an empty token alone, without sending it', async () => {
    const feedback = await collect(client.subscribe('news', [android(''), android('fine')]));
    const empty = feedback.find((f) => f.device.token === '')!;
    assert.equal(empty.status, 'invalid-token');
    assert.equal(empty.attempts, 0);
    assert.deepEqual(emu.subscribers('news'), ['fine']);
  });
});

describe('topic answers → outcomes', () => {
  const ok = Buffer.from('{}');
  it('maps per-token words in order, firebase-admin style', () => {
    const body = Buffer.from(
      JSON.stringify({
        results: [
          {},
          { error: 'NOT_FOUND' },
          { error: 'TOO_MANY_TOPICS' },
          { error: 'RESOURCE_EXHAUSTED' },
          { error: 'WHAT' },
        ],
      }),
    );
    const [a, b, c, d, e] = topicOutcomes(200, {}, body, 5);
    assert.equal(a!.ok, true);
    assert.ok(!b!.ok && b!.error.code === 'invalid-token' && !b!.error.retryable);
    assert.ok(!c!.ok && c!.error.code === 'bad-request' && !c!.error.retryable);
    assert.ok(!d!.ok && d!.error.code === 'rate-limited' && d!.error.retryable);
    assert.ok(!e!.ok && e!.error.code === 'internal' && e!.error.reason === 'WHAT');
    assert.equal(TOPIC_ERRORS['PERMISSION_DENIED']!.code, 'auth');
  });

  it('a whole-request failure applies to every token, by status', () => {
    const limited = topicOutcomes(429, { 'retry-after': '3' }, Buffer.from('{"error":"QuotaExceeded"}'), 2);
    assert.equal(limited.length, 2);
    assert.ok(
      !limited[0]!.ok && limited[0]!.error.code === 'rate-limited' && limited[0]!.error.retryAfterMs === 3000,
    );
    assert.match(!limited[0]!.ok ? limited[0]!.error.message : '', /QuotaExceeded/);
    const server = topicOutcomes(500, {}, Buffer.from('<html>'), 1);
    assert.ok(!server[0]!.ok && server[0]!.error.code === 'unavailable' && server[0]!.error.retryable);
    const bad = topicOutcomes(
      400,
      {},
      Buffer.from('{"error":{"status":"INVALID_ARGUMENT","message":"nope"}}'),
      1,
    );
    assert.ok(
      !bad[0]!.ok &&
        bad[0]!.error.code === 'bad-request' &&
        /INVALID_ARGUMENT: nope/.test(bad[0]!.error.message),
    );
    const denied = topicOutcomes(403, {}, ok, 1);
    assert.ok(!denied[0]!.ok && denied[0]!.error.stopsLane);
  });

  it('a 200 whose results do not match the tokens fails them all (internal), never `done`', () => {
    const short = topicOutcomes(200, {}, Buffer.from('{"results":[{}]}'), 2);
    assert.ok(short.every((o) => !o.ok && o.error.code === 'internal'));
    const none = topicOutcomes(200, {}, ok, 1);
    assert.ok(!none[0]!.ok);
  });

  it('normalizes topic names and builds the body firebase-admin sends', () => {
    assert.equal(normalizeTopic('news', 'fcm'), '/topics/news');
    assert.equal(normalizeTopic('/topics/a-b_c.d~e%2F', 'fcm'), '/topics/a-b_c.d~e%2F');
    assert.deepEqual(JSON.parse(topicBody('/topics/n', ['a', 'b"c'])), {
      to: '/topics/n',
      registration_tokens: ['a', 'b"c'],
    });
  });
});

/**
 * One APNs key, many apps (issue #18): providers of the same token-auth key share one HTTP/2
 * pool and one provider token whatever their topic; each sends its own `apns-topic`, devices go
 * by `app`, and feedback and summaries name each provider. Against the APNs emulator, whose
 * team owns both bundle ids (a topic outside the team is `TopicDisallowed`).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ApnsEmulator } from '../../../src/emulator/apns/index.js';
import { startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { type Feedback, PushClient, PushError } from '../../../src/index.js';
import type { ApnsOptions } from '../../../src/providers/apns/index.js';
import { apns, apnsBroadcast } from '../../../src/providers/apns/index.js';
import { resolveApnsOptions } from '../../../src/providers/apns/options.js';
import { sharedCounts, sharedPool } from '../../../src/providers/apns/shared.js';

const CONSUMER = 'com.example.app';
const PRO = 'com.example.pro';
const TEAM = 'TEAMSHARE1';

function token(i: number): string {
  return (0x5a000 + i).toString(16).padStart(64, '0');
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('one APNs key, many apps', () => {
  let emulator: ApnsEmulator;
  let key: ApnsOptions;

  before(async () => {
    emulator = await startApnsEmulator({ teamId: TEAM, topic: CONSUMER, teams: { [TEAM]: [CONSUMER, PRO] } });
    // The key and the host, without a topic: what the apps of the team have in common.
    const { topic: _topic, ...common } = emulator.providerOptions as ApnsOptions;
    key = { ...common, connections: 1 };
  });
  after(async () => {
    await emulator.close();
  });
  beforeEach(() => emulator.reset());

  it('sends both apps over one connection with one provider token, each with its own apns-topic', async () => {
    const consumer = apns({ ...key, topic: CONSUMER });
    const pro = apns({ ...key, topic: PRO, app: 'pro' });
    const client = new PushClient({ providers: [consumer, pro] });
    try {
      const devices = [
        { platform: 'ios' as const, token: token(1) },
        { platform: 'ios' as const, token: token(2), app: 'pro' },
        { platform: 'ios' as const, token: token(3) },
        { platform: 'ios' as const, token: token(4), app: 'pro' },
      ];
      const delivery = client.send({ title: 'hi' }, devices);
      const feedback = await collect<Feedback>(delivery);
      for (const fb of feedback) assert.equal(fb.status, 'sent', JSON.stringify(fb.error?.message));

      // Routing by app, named per provider: `apns` and `apns:<app>` by default.
      const names = new Map(feedback.map((fb) => [fb.device.token, fb.provider]));
      assert.deepEqual(
        [1, 2, 3, 4].map((i) => names.get(token(i))),
        ['apns', 'apns:pro', 'apns', 'apns:pro'],
      );
      const summary = await delivery.done;
      assert.deepEqual(Object.keys(summary.providers).sort(), ['apns', 'apns:pro']);
      assert.equal(summary.providers.apns!.sent, 2);
      assert.equal(summary.providers['apns:pro']!.sent, 2);

      // The topic of each app on the wire.
      const topics = new Map(emulator.notifications.map((n) => [n.token, n.topic]));
      assert.deepEqual(
        [1, 2, 3, 4].map((i) => topics.get(token(i))),
        [CONSUMER, PRO, CONSUMER, PRO],
      );
      // One pool (connections: 1 each, so two pools would be two connections) and one JWT.
      const stats = emulator.stats();
      assert.equal(stats.connections, 1);
      assert.equal(stats.providerTokens, 1);
      assert.equal(new Set(emulator.notifications.map((n) => n.connectionId)).size, 1);
    } finally {
      await client.close();
    }
    assert.deepEqual(
      sharedCounts(),
      { pools: 0, tokenCaches: 0 },
      'the last close releases the pool and token',
    );
  });

  it('takes a name, shown in feedback, summaries and the errors of that provider', async () => {
    const consumer = apns({ ...key, topic: CONSUMER, name: 'apns-consumer' });
    // A bundle id outside the team: Apple answers TopicDisallowed, an auth error that stops the lane.
    const other = apns({ ...key, topic: 'com.other.app', app: 'other', name: 'apns-other' });
    const client = new PushClient({ providers: [consumer, other] });
    try {
      const delivery = client.send({ title: 'hi' }, [
        { platform: 'ios' as const, token: token(5) },
        { platform: 'ios' as const, token: token(6), app: 'other' },
      ]);
      const feedback = await collect<Feedback>(delivery);
      const byToken = new Map(feedback.map((fb) => [fb.device.token, fb]));
      assert.equal(byToken.get(token(5))!.provider, 'apns-consumer');
      assert.equal(byToken.get(token(5))!.status, 'sent');
      const refused = byToken.get(token(6))!;
      assert.equal(refused.provider, 'apns-other');
      assert.equal(refused.status, 'failed');
      assert.equal(refused.error?.reason, 'TopicDisallowed');
      assert.equal(refused.error?.provider, 'apns-other');
      const summary = await delivery.done;
      assert.deepEqual(Object.keys(summary.providers).sort(), ['apns-consumer', 'apns-other']);
    } finally {
      await client.close();
    }
  });

  it('closing one app’s provider leaves the other sending on the same connection', async () => {
    const consumer = apns({ ...key, topic: CONSUMER });
    const pro = apns({ ...key, topic: PRO, app: 'pro' });
    try {
      const first = await pro.prepare({ title: 'a' }, {}).send!(
        { platform: 'ios', token: token(7) },
        { signal: new AbortController().signal, attempt: 1 },
      );
      assert.equal(first.ok, true);
      await consumer.destroy();
      const outcome = await pro.prepare({ title: 'b' }, {}).send!(
        { platform: 'ios', token: token(8) },
        { signal: new AbortController().signal, attempt: 1 },
      );
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      assert.equal(emulator.stats().connections, 1, 'the shared connection was kept open');
      // The closed provider's own sends fail `closed`, as before sharing.
      const late = await consumer.prepare({ title: 'c' }, {}).send!(
        { platform: 'ios', token: token(9) },
        { signal: new AbortController().signal, attempt: 1 },
      );
      assert.equal(late.ok, false);
      assert.equal(!late.ok && late.error.code, 'closed');
    } finally {
      await consumer.close();
      await pro.close();
    }
    assert.deepEqual(sharedCounts(), { pools: 0, tokenCaches: 0 });
  });

  it('keeps separate pools for different transport settings', async () => {
    const one = apns({ ...key, topic: CONSUMER });
    const two = apns({ ...key, topic: PRO, app: 'pro', connections: 2 });
    try {
      assert.equal(sharedCounts().pools, 2);
      assert.equal(sharedCounts().tokenCaches, 1, 'still one JWT for the key');
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('keeps separate pools for different in-flight caps, and each lease shows its pool’s limit', async () => {
    const adaptive = resolveApnsOptions({ ...key, topic: CONSUMER });
    const capped = resolveApnsOptions({ ...key, topic: PRO, maxConcurrency: 2000 });
    const fixed = resolveApnsOptions({ ...key, topic: PRO, concurrency: 7 });
    const leases = [adaptive, capped, fixed].map((options) => sharedPool(options, emulator.origin, 1));
    try {
      assert.equal(sharedCounts().pools, 3, 'limits are part of what makes a pool');
      // The provider's concurrency (and so the engine's window) reads the limit through the lease.
      assert.equal(leases[0]?.limit, 1000, 'the adaptive limit starts at 1,000');
      assert.equal(leases[2]?.limit, 7, 'a fixed concurrency is the limit');
    } finally {
      for (const lease of leases) await lease.close();
    }
    assert.deepEqual(sharedCounts(), { pools: 0, tokenCaches: 0 });
  });

  it('shares the pool and token with the broadcast client of the same key', async () => {
    const provider = apns({ ...key, topic: CONSUMER });
    const live = apnsBroadcast({ ...key, topic: PRO, manageEndpoint: emulator.manageOrigin });
    try {
      assert.deepEqual(
        sharedCounts(),
        { pools: 2, tokenCaches: 1 },
        'the push pool shared, plus the manage pool',
      );
    } finally {
      await live.close();
      await provider.close();
    }
    assert.deepEqual(sharedCounts(), { pools: 0, tokenCaches: 0 });
  });

  it('refuses two providers of one name in a client, naming both', () => {
    const a = apns({ ...key, topic: CONSUMER, name: 'ios' });
    const b = apns({ ...key, topic: PRO, app: 'pro', name: 'ios' });
    try {
      assert.throws(
        () => new PushClient({ providers: [a, b] }),
        (error: unknown) =>
          error instanceof PushError &&
          error.code === 'config' &&
          error.message.includes("two providers are named 'ios'") &&
          error.message.includes("app 'pro'") &&
          error.message.includes('give each its own `name`'),
      );
    } finally {
      void a.destroy();
      void b.destroy();
    }
  });

  it('refuses an empty or unprintable name', () => {
    for (const name of ['', '   ', 'a\nb', 'x'.repeat(65), 42]) {
      assert.throws(
        () => apns({ ...key, topic: CONSUMER, name: name as string }),
        (error: unknown) =>
          error instanceof PushError && error.code === 'config' && /name must be/.test(error.message),
      );
    }
  });
});

describe('one APNs certificate, shared; another certificate, its own pool', () => {
  let emulator: ApnsEmulator;
  before(async () => {
    emulator = await startApnsEmulator({ auth: 'certificate', topic: CONSUMER });
  });
  after(async () => {
    await emulator.close();
  });

  it('shares the TLS connection of one certificate, and keeps a certificate for another app apart', async () => {
    const options = { ...(emulator.providerOptions as ApnsOptions), connections: 1 };
    // The same certificate for two routes (its topic is its app's: a certificate is per app).
    const ios = apns({ ...options });
    const watch = apns({ ...options, platforms: ['ios'], app: 'watch' });
    const proCertificate = emulator.issueClientCertificate({ topic: PRO });
    const pro = apns({
      ...options,
      cert: proCertificate.certPem,
      key: proCertificate.keyPem,
      topic: PRO,
      app: 'pro',
    });
    const client = new PushClient({ providers: [ios, watch, pro] });
    try {
      const feedback = await collect<Feedback>(
        client.send({ title: 'hi' }, [
          { platform: 'ios' as const, token: token(20) },
          { platform: 'ios' as const, token: token(21), app: 'watch' },
          { platform: 'ios' as const, token: token(22), app: 'pro' },
        ]),
      );
      for (const fb of feedback) assert.equal(fb.status, 'sent', fb.error?.message);
      const byToken = new Map(emulator.notifications.map((n) => [n.token, n]));
      assert.equal(byToken.get(token(20))!.connectionId, byToken.get(token(21))!.connectionId);
      assert.notEqual(byToken.get(token(20))!.connectionId, byToken.get(token(22))!.connectionId);
      assert.equal(byToken.get(token(22))!.topic, PRO);
      assert.equal(emulator.stats().connections, 2);
    } finally {
      await client.close();
    }
  });
});

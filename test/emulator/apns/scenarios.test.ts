import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { describe, it } from 'node:test';
import { type ApnsEmulator, startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { close, open, providerToken, push, TOKEN_A, TOKEN_B } from './helpers.js';

async function withEmulator(
  options: Parameters<typeof startApnsEmulator>[0],
  body: (emulator: ApnsEmulator, session: ClientHttp2Session, jwt: string) => Promise<void>,
): Promise<void> {
  const emulator = await startApnsEmulator(options);
  const session = await open(emulator);
  try {
    await body(emulator, session, await providerToken(emulator));
  } finally {
    await close(session);
    await emulator.close();
  }
}

const token = (i: number) => i.toString(16).padStart(64, '0');

describe('APNs emulator: scenarios', () => {
  it('410 Unregistered with the invalidation timestamp for listed tokens', async () => {
    const clock = 1_700_000_000_000;
    await withEmulator({ now: () => clock, scenarios: { unregistered: [TOKEN_B] } }, async (_e, session) => {
      const jwt = await providerToken(_e, { iat: Math.floor(clock / 1000) });
      assert.equal((await push(session, { jwt, token: TOKEN_A })).status, 200);
      const dead = await push(session, { jwt, token: TOKEN_B });
      assert.equal(dead.status, 410);
      assert.deepEqual(dead.body, { reason: 'Unregistered', timestamp: clock });
    });
  });

  it('unregisteredAt sets the timestamp; a predicate selects the tokens', async () => {
    const scenarios = {
      unregistered: (t: string) => t.startsWith('b2'),
      unregisteredAt: (t: string) => t.length,
    };
    await withEmulator({ scenarios }, async (_e, session, jwt) => {
      const dead = await push(session, { jwt, token: TOKEN_B });
      assert.deepEqual(dead.body, { reason: 'Unregistered', timestamp: 64 });
    });
  });

  it('a rate picks tokens deterministically by hash; classify() says which', async () => {
    await withEmulator(
      { scenarios: { unregistered: { rate: 0.2 }, badTokens: { rate: 0.1 } } },
      async (emulator, session, jwt) => {
        const counts = { unregistered: 0, 'bad-token': 0, ok: 0 } as Record<string, number>;
        for (let i = 0; i < 200; i++) {
          const kind = emulator.classify(token(i));
          counts[kind] = (counts[kind] ?? 0) + 1;
          const res = await push(session, { jwt, token: token(i) });
          const expected = { unregistered: 410, 'bad-token': 400, ok: 200 }[kind as 'ok'];
          assert.equal(res.status, expected, `token ${i} classified ${kind}`);
        }
        // Stable: a second emulator classifies alike; and the rates are roughly honoured.
        const again = await startApnsEmulator({
          scenarios: { unregistered: { rate: 0.2 }, badTokens: { rate: 0.1 } },
        });
        try {
          for (let i = 0; i < 200; i++) assert.equal(again.classify(token(i)), emulator.classify(token(i)));
        } finally {
          await again.close();
        }
        assert.ok(counts['unregistered']! > 15 && counts['unregistered']! < 70, JSON.stringify(counts));
        assert.ok(counts['bad-token']! > 5 && counts['bad-token']! < 40, JSON.stringify(counts));
      },
    );
  });

  it('400 BadDeviceToken, 400 DeviceTokenNotForTopic and 429 TooManyRequests by scenario', async () => {
    const scenarios = {
      badTokens: [TOKEN_A],
      tokenTopics: { [TOKEN_B]: 'com.example.other' },
      tooManyRequests: [token(7)],
    };
    await withEmulator({ scenarios }, async (_e, session, jwt) => {
      assert.deepEqual((await push(session, { jwt, token: TOKEN_A })).body, { reason: 'BadDeviceToken' });
      assert.deepEqual((await push(session, { jwt, token: TOKEN_B })).body, {
        reason: 'DeviceTokenNotForTopic',
      });
      const throttled = await push(session, { jwt, token: token(7) });
      assert.equal(throttled.status, 429);
      assert.deepEqual(throttled.body, { reason: 'TooManyRequests' });
    });
  });

  it('flaky tokens fail their first K attempts with 5xx, then are accepted', async () => {
    const scenarios = { flaky: { tokens: [TOKEN_A], failures: 2 } };
    await withEmulator({ scenarios }, async (emulator, session, jwt) => {
      assert.deepEqual((await push(session, { jwt })).body, { reason: 'ServiceUnavailable' });
      assert.equal((await push(session, { jwt })).status, 503);
      assert.equal((await push(session, { jwt })).status, 200);
      assert.equal((await push(session, { jwt })).status, 200);
      assert.equal(emulator.attempts(TOKEN_A), 4);
      assert.equal(emulator.classify(TOKEN_A), 'flaky');
      emulator.setScenarios({ flaky: { tokens: [TOKEN_A], failures: 1, reason: 'InternalServerError' } });
      emulator.reset();
      const res = await push(session, { jwt });
      assert.equal(res.status, 500);
      assert.deepEqual(res.body, { reason: 'InternalServerError' });
      assert.equal((await push(session, { jwt })).status, 200);
    });
  });

  it('scenarios change at run time, and go away when set to undefined', async () => {
    await withEmulator({}, async (emulator, session, jwt) => {
      assert.equal((await push(session, { jwt })).status, 200);
      emulator.setScenarios({ unregistered: [TOKEN_A] });
      assert.equal((await push(session, { jwt })).status, 410);
      emulator.setScenarios({ unregistered: undefined });
      assert.deepEqual(emulator.scenarios, {});
      assert.equal((await push(session, { jwt })).status, 200);
    });
  });

  it('GOAWAY after N streams: JSON reason, last-stream-id honoured, later streams unprocessed', async () => {
    await withEmulator({ scenarios: { goAway: { streams: 3 } } }, async (emulator, session, jwt) => {
      const goaway = new Promise<{ lastStreamId: number; data: string }>((resolve) =>
        session.once('goaway', (_code, lastStreamId, data) =>
          resolve({ lastStreamId, data: data?.toString() ?? '' }),
        ),
      );
      assert.equal((await push(session, { jwt })).status, 200); // stream 1, authenticates
      await new Promise((resolve) => setImmediate(resolve));
      const results = await Promise.allSettled(
        [1, 2, 3, 4, 5].map((i) => push(session, { jwt, token: token(i) })), // streams 3..11
      );
      const { lastStreamId, data } = await goaway;
      assert.equal(lastStreamId, 5); // the third stream
      assert.deepEqual(JSON.parse(data), { reason: 'Shutdown' });
      const answered = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(answered.length, 2);
      assert.equal(refused.length, 3);
      for (const r of refused)
        assert.match(String((r as PromiseRejectedResult).reason), /REFUSED_STREAM|GOAWAY/);
      // Only streams up to the cut were processed.
      assert.deepEqual(
        emulator.notifications.map((n) => n.token),
        [TOKEN_A, token(1), token(2)],
      );
      assert.equal(emulator.stats().goAways, 1);
      // A new connection works.
      const fresh = await open(emulator);
      try {
        assert.equal((await push(fresh, { jwt, token: token(4) })).status, 200);
      } finally {
        await close(fresh);
      }
    });
  });

  it('GOAWAY reason is configurable', async () => {
    await withEmulator(
      { scenarios: { goAway: { streams: 1, reason: 'IdleTimeout' } } },
      async (_e, session, jwt) => {
        const goaway = new Promise<string>((resolve) =>
          session.once('goaway', (_c, _l, data) => resolve(String(data))),
        );
        assert.equal((await push(session, { jwt })).status, 200);
        assert.deepEqual(JSON.parse(await goaway), { reason: 'IdleTimeout' });
      },
    );
  });

  it('adds latency, fixed or in a range', async () => {
    await withEmulator({ scenarios: { latencyMs: 120 } }, async (emulator, session, jwt) => {
      let started = performance.now();
      assert.equal((await push(session, { jwt })).status, 200);
      assert.ok(performance.now() - started >= 100);
      emulator.setScenarios({ latencyMs: [60, 80] });
      started = performance.now();
      assert.equal((await push(session, { jwt })).status, 200);
      assert.ok(performance.now() - started >= 50);
    });
  });

  it('sink mode answers 200 to anything, records nothing, still counts', async () => {
    await withEmulator({ scenarios: { sink: true } }, async (emulator, session) => {
      assert.equal(
        (await push(session, { jwt: null, method: 'GET', path: '/nowhere', body: null })).status,
        200,
      );
      const apnsId = '123e4567-e89b-12d3-a456-4266554400a0';
      const res = await push(session, { jwt: null, token: 'zz', headers: { 'apns-id': apnsId } });
      assert.equal(res.status, 200);
      assert.equal(res.headers['apns-id'], apnsId);
      assert.equal(emulator.notifications.length, 0);
      assert.equal(emulator.stats().requests, 2);
      assert.equal(session.remoteSettings.maxConcurrentStreams, 1000);
      emulator.setScenarios({ sink: false });
      assert.equal((await push(session, { jwt: null })).status, 403);
    });
  });

  it('record bounds the kept notifications (most recent kept); false keeps none', async () => {
    await withEmulator({ record: 2 }, async (emulator, session, jwt) => {
      for (let i = 1; i <= 5; i++) await push(session, { jwt, token: token(i) });
      assert.deepEqual(
        emulator.notifications.map((n) => n.token),
        [token(4), token(5)],
      );
      assert.equal(emulator.stats().accepted, 5);
    });
    await withEmulator({ record: false }, async (emulator, session, jwt) => {
      await push(session, { jwt });
      assert.equal(emulator.notifications.length, 0);
      assert.equal(emulator.stats().accepted, 1);
    });
  });

  it('reset clears notifications, counters and attempts; connections are counted', async () => {
    await withEmulator({}, async (emulator, session, jwt) => {
      await push(session, { jwt });
      assert.equal(emulator.stats().connections, 1);
      emulator.reset();
      const stats = emulator.stats();
      assert.equal(stats.requests, 0);
      assert.equal(stats.connections, 0);
      assert.equal(emulator.attempts(TOKEN_A), 0);
      assert.equal(emulator.notifications.length, 0);
    });
  });

  it('close() ends open connections', async (t) => {
    const emulator = await startApnsEmulator();
    const session = await open(emulator);
    // If close() left the connection open, awaiting it would hang the file: fail instead, and
    // let the client go so the server can close.
    t.after(() => {
      session.destroy();
      return emulator.close();
    });
    const closed = new Promise((resolve) => session.once('close', resolve));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.all([emulator.close(), closed]).then(() => 'closed'),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 5000, 'still open');
      }),
    ]);
    clearTimeout(timer);
    assert.equal(outcome, 'closed', 'the client connection was still open 5 s after close()');
  });
});

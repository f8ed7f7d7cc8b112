/**
 * The provider against pushline's APNs emulator (src/emulator/apns): the strict stand-in for
 * Apple that validates headers, payloads and provider tokens the way Apple does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Device } from '../../../src/device.js';
import type { ApnsEmulator } from '../../../src/emulator/apns/index.js';
import { startApnsEmulator } from '../../../src/emulator/apns/index.js';
import type { Outcome, PreparedSend, SendContext } from '../../../src/provider.js';
import type { ApnsOptions } from '../../../src/providers/apns/index.js';
import { apns } from '../../../src/providers/apns/index.js';

const MIN = 60_000;

function ctx(): SendContext {
  return { signal: new AbortController().signal, attempt: 1 };
}

function token(i: number): string {
  return (0xabc000 + i).toString(16).padStart(64, '0');
}

function sendAll(prepared: PreparedSend, tokens: string[]): Promise<Outcome[]> {
  return Promise.all(
    tokens.map((t) => prepared.send?.({ platform: 'ios', token: t } as Device, ctx()) as Promise<Outcome>),
  );
}

describe('apns provider against the APNs emulator (token auth)', () => {
  let emulator: ApnsEmulator;
  // Apple's clock; the provider's clock may lag behind it (see the refresh test).
  const clock = { now: Date.now(), providerLagMs: 0 };

  before(async () => {
    emulator = await startApnsEmulator({ now: () => clock.now });
  });
  after(async () => {
    await emulator.close();
  });

  function provider() {
    return apns({
      ...(emulator.providerOptions as ApnsOptions),
      clock: () => clock.now - clock.providerLagMs,
    });
  }

  it('delivers to good tokens and reports dead ones as invalid-token with the invalidation time', async () => {
    const dead = token(99);
    emulator.setScenarios({ unregistered: [dead], unregisteredAt: 1_700_000_000_000 });
    const p = provider();
    try {
      const good = Array.from({ length: 10 }, (_, i) => token(i));
      const prepared = p.prepare(
        { title: 'Hello', body: 'World', data: { ref: 1 }, badge: 2, apns: { interruptionLevel: 'active' } },
        {},
      );
      const outcomes = await sendAll(prepared, [...good, dead]);
      for (const outcome of outcomes.slice(0, 10)) assert.equal(outcome.ok, true, JSON.stringify(outcome));
      const last = outcomes[10];
      assert.ok(last && !last.ok);
      assert.equal(last.error.code, 'invalid-token');
      assert.equal(last.error.reason, 'Unregistered');
      assert.deepEqual(last.error.invalidatedAt, new Date(1_700_000_000_000));

      const accepted = emulator.notifications.filter((n) => good.includes(n.token));
      assert.equal(accepted.length, 10);
      const first = accepted[0];
      assert.ok(first);
      assert.equal(first.pushType, 'alert');
      assert.equal(first.priority, 10);
      assert.deepEqual(first.payload, {
        aps: { alert: { title: 'Hello', body: 'World' }, badge: 2, 'interruption-level': 'active' },
        ref: 1,
      });
      const ids = outcomes.slice(0, 10).map((o) => (o.ok ? o.messageId : undefined));
      assert.ok(
        ids.every((id) => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id)),
        'apns-id as messageId',
      );
      assert.deepEqual(new Set(ids).size, 10);
    } finally {
      emulator.setScenarios({ unregistered: undefined, unregisteredAt: undefined });
      await p.close();
    }
  });

  it('sends silent and Live Activity pushes the emulator accepts', async () => {
    emulator.reset();
    const p = provider();
    try {
      const silent = await sendAll(p.prepare({ silent: true, data: { sync: true } }, {}), [token(1)]);
      assert.equal(silent[0]?.ok, true, JSON.stringify(silent[0]));
      const live = await sendAll(
        p.prepare({ apns: { liveActivity: { event: 'update', contentState: { score: '1-0' } } } }, {}),
        [token(2)],
      );
      assert.equal(live[0]?.ok, true, JSON.stringify(live[0]));
      const [s, l] = emulator.notifications;
      assert.equal(s?.pushType, 'background');
      assert.equal(s?.priority, 5);
      assert.equal(l?.pushType, 'liveactivity');
      assert.equal(l?.topic, `${emulator.topic}.push-type.liveactivity`);
    } finally {
      await p.close();
    }
  });

  it('keeps sending through GOAWAY frames (Shutdown) on the connections', async () => {
    emulator.reset();
    emulator.setScenarios({ goAway: { streams: 5, reason: 'Shutdown' } });
    const p = provider();
    try {
      const tokens = Array.from({ length: 30 }, (_, i) => token(200 + i));
      const outcomes = await sendAll(p.prepare({ body: 'x' }, {}), tokens);
      // Streams past a GOAWAY's last-stream-id were not processed: the transport re-sends them on
      // a new connection, so every device is sent, each exactly once, across several connections.
      assert.equal(outcomes.length, tokens.length);
      const failures = outcomes.filter((o) => !o.ok).map((o) => (o.ok ? '' : o.error.message));
      assert.deepEqual(failures, []);
      assert.equal(emulator.stats().accepted, tokens.length);
      // Each device itself, not just the right count: none sent twice in place of another.
      assert.deepEqual(emulator.notifications.map((n) => n.token).sort(), [...tokens].sort());
      assert.ok(
        emulator.stats().goAways >= 5,
        `30 streams at 5 per connection: ${emulator.stats().goAways} GOAWAYs`,
      );
    } finally {
      emulator.setScenarios({ goAway: undefined });
      await p.close();
    }
  });

  it('refreshes an expired provider token once and re-sends', async () => {
    emulator.reset();
    clock.providerLagMs = 0;
    const p = provider();
    try {
      const prepared = p.prepare({ body: 'x' }, {});
      assert.equal((await sendAll(prepared, [token(1)]))[0]?.ok, true);
      // 25 minutes later by the provider's clock, but its clock lags Apple's by 40 minutes:
      // Apple finds the token 65 minutes old.
      clock.now += 65 * MIN;
      clock.providerLagMs = 40 * MIN;
      const outcomes = await sendAll(
        prepared,
        Array.from({ length: 8 }, (_, i) => token(10 + i)),
      );
      assert.ok(
        outcomes.every((o) => o.ok),
        JSON.stringify(outcomes.find((o) => !o.ok)),
      );
      const stats = emulator.stats();
      // Each of the 8 was refused once with the old token and re-sent once with the new one.
      assert.equal(stats.byReason.ExpiredProviderToken, 8);
      assert.equal(stats.requests, 1 + 8 + 8);
      assert.equal(stats.accepted, 9);
      // Refreshing more than once per 20 minutes would have earned this.
      assert.equal(stats.byReason.TooManyProviderTokenUpdates, undefined);
    } finally {
      clock.providerLagMs = 0;
      await p.close();
    }
  });
});

describe('apns provider against the APNs emulator (certificate auth)', () => {
  let emulator: ApnsEmulator;
  before(async () => {
    emulator = await startApnsEmulator({ auth: 'certificate' });
  });
  after(async () => {
    await emulator.close();
  });

  it('sends with the emulator-issued client certificate', async () => {
    const p = apns(emulator.providerOptions as ApnsOptions);
    try {
      assert.ok(p.certificateExpiresAt instanceof Date);
      const outcomes = await sendAll(p.prepare({ body: 'x' }, {}), [token(1), token(2)]);
      assert.ok(
        outcomes.every((o) => o.ok),
        JSON.stringify(outcomes),
      );
      assert.equal(emulator.stats().accepted, 2);
    } finally {
      await p.close();
    }
  });

  it('sends with a .p12 from the emulator', async () => {
    const issued = emulator.issueClientCertificate();
    const p = apns({
      endpoint: emulator.origin,
      ca: emulator.ca,
      pfx: issued.pkcs12,
      passphrase: issued.passphrase,
    });
    try {
      const outcomes = await sendAll(p.prepare({ body: 'x' }, {}), [token(3)]);
      assert.equal(outcomes[0]?.ok, true, JSON.stringify(outcomes[0]));
    } finally {
      await p.close();
    }
  });
});

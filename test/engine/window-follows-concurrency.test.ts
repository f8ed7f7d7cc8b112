/**
 * Issue #19, point 3: the engine's window follows the provider's concurrency. A provider may
 * keep more requests in flight than the send's `window` without the caller raising both, and
 * a concurrency that moves while the send runs (an adaptive transport's limit) is followed:
 * more requests in flight when it grows, fewer when it shrinks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Device, PushClient } from '../../src/index.js';
import type { Outcome, PreparedSend, Provider } from '../../src/provider.js';

/** Holds every request until released; counts what is in flight. */
class HeldProvider implements Provider {
  readonly name = 'held';
  readonly platforms = ['ios' as const];
  concurrency = 1;
  inFlight = 0;
  peak = 0;
  private readonly held: (() => void)[] = [];

  prepare(): PreparedSend {
    return {
      send: () =>
        new Promise<Outcome>((resolve) => {
          this.inFlight++;
          if (this.inFlight > this.peak) this.peak = this.inFlight;
          this.held.push(() => {
            this.inFlight--;
            resolve({ ok: true });
          });
        }),
    };
  }

  /** Answers the `n` oldest requests held. */
  release(n = Number.POSITIVE_INFINITY): void {
    for (const answer of this.held.splice(0, n)) answer();
  }

  async close(): Promise<void> {}
  async destroy(): Promise<void> {}
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function runUntil(provider: HeldProvider, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await settle();
  assert.ok(condition(), `in flight ${provider.inFlight}, peak ${provider.peak}`);
}

test('a provider concurrency above the default window is used in full', async () => {
  const provider = new HeldProvider();
  provider.concurrency = 1500; // above the default window of 1,000
  const client = new PushClient({ providers: [provider] });
  const devices: Device[] = Array.from({ length: 2000 }, (_, i) => ({ platform: 'ios', token: `t${i}` }));
  const delivery = client.send({ title: 'hi' }, devices);
  let feedback = 0;
  const reading = (async () => {
    for await (const _ of delivery) feedback++;
  })();
  await runUntil(provider, () => provider.inFlight === 1500);
  while (feedback < devices.length) {
    provider.release();
    await settle();
  }
  await reading;
  assert.equal(feedback, devices.length);
  assert.equal(provider.peak, 1500, 'never more than the provider allows');
  await client.close();
});

test('a window the caller sets is a memory bound it chose: kept, whatever the concurrency', async () => {
  for (const where of ['send', 'client'] as const) {
    const provider = new HeldProvider();
    provider.concurrency = 50;
    const client = new PushClient({ providers: [provider], ...(where === 'client' ? { window: 10 } : {}) });
    const devices: Device[] = Array.from({ length: 200 }, (_, i) => ({ platform: 'ios', token: `t${i}` }));
    const delivery = client.send({ title: 'hi' }, devices, where === 'send' ? { window: 10 } : {});
    let feedback = 0;
    const reading = (async () => {
      for await (const _ of delivery) feedback++;
    })();
    await runUntil(provider, () => provider.inFlight === 10);
    while (feedback < devices.length) {
      provider.release();
      await settle();
    }
    await reading;
    assert.equal(feedback, devices.length);
    assert.equal(provider.peak, 10, `window 10 set on the ${where}`);
    await client.close();
  }
});

test('a concurrency that moves during the send is followed, up and down', async () => {
  const provider = new HeldProvider();
  provider.concurrency = 5;
  const client = new PushClient({ providers: [provider] });
  const devices: Device[] = Array.from({ length: 300 }, (_, i) => ({ platform: 'ios', token: `t${i}` }));
  const delivery = client.send({ title: 'hi' }, devices);
  let feedback = 0;
  const reading = (async () => {
    for await (const _ of delivery) feedback++;
  })();
  await runUntil(provider, () => provider.inFlight === 5);
  provider.concurrency = 40;
  provider.release(1);
  await runUntil(provider, () => provider.inFlight === 40);
  provider.concurrency = 3;
  provider.release();
  await runUntil(provider, () => provider.inFlight === 3);
  for (let i = 0; i < 5; i++) {
    provider.release(1);
    await settle();
    assert.ok(provider.inFlight <= 3, `in flight ${provider.inFlight} after the limit fell to 3`);
  }
  while (feedback < devices.length) {
    provider.release();
    await settle();
  }
  await reading;
  assert.equal(feedback, devices.length);
  await client.close();
});

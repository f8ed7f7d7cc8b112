/**
 * End to end: PushClient → apns() → the pool on `protocol: 'h2-wire'` → pushline's APNs
 * emulator (node:http2 server, strict header/JWT validation). The emulator checks every
 * header our HPACK encoder sends; its GOAWAY scenario exercises re-sends through the pool.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Device } from '../../../src/device.js';
import type { ApnsEmulator } from '../../../src/emulator/apns/index.js';
import { startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { PushClient } from '../../../src/index.js';
import type { ApnsOptions } from '../../../src/providers/apns/index.js';
import { apns } from '../../../src/providers/apns/index.js';
import { createPool } from '../../../src/transport/index.js';
import type { TransportEvent } from '../../../src/transport/types.js';

function token(i: number): string {
  return (0xfeed000 + i).toString(16).padStart(64, '0');
}

describe('apns() over the h2-wire transport against the APNs emulator', () => {
  let emulator: ApnsEmulator;
  before(async () => {
    emulator = await startApnsEmulator({ maxConcurrentStreams: 50 });
  });
  after(() => emulator.close());

  async function run(count: number, events: TransportEvent[] = []) {
    const options = emulator.providerOptions as ApnsOptions;
    const pool = createPool({
      origin: emulator.origin,
      protocol: 'h2-wire',
      connections: 2,
      tls: { ca: emulator.ca },
      onEvent: (e) => events.push(e),
    });
    const client = new PushClient({ providers: [apns({ ...options, pool })] });
    const devices: Device[] = Array.from({ length: count }, (_, i) => ({ platform: 'ios', token: token(i) }));
    const statuses = new Map<string, string>();
    for await (const feedback of client.send(
      { title: 'Hello', body: 'from the wire', data: { n: '1' } },
      devices,
    )) {
      statuses.set(
        String(feedback.device.token),
        feedback.status === 'sent' ? 'sent' : (feedback.error?.reason ?? feedback.status),
      );
    }
    await client.close();
    await pool.close();
    return statuses;
  }

  it('delivers every push with the headers and payload the emulator validates', async () => {
    emulator.reset();
    emulator.setScenarios({ unregistered: [token(7)], goAway: undefined });
    const statuses = await run(500);
    assert.equal(statuses.size, 500);
    assert.equal(statuses.get(token(7)), 'Unregistered');
    assert.equal([...statuses.values()].filter((s) => s === 'sent').length, 499);
    const accepted = emulator.notifications;
    assert.equal(accepted.length, 499);
    const first = accepted[0]!;
    assert.equal(first.topic, emulator.topic);
    assert.equal(first.pushType, 'alert');
    assert.deepEqual((first.payload.aps as { alert: unknown }).alert, {
      title: 'Hello',
      body: 'from the wire',
    });
    assert.equal(first.payload.n, '1');
  });

  it('re-sends what a GOAWAY cut off (emulator goAway scenario), losing nothing', async () => {
    emulator.reset();
    emulator.setScenarios({ unregistered: undefined, goAway: { streams: 120, reason: 'Shutdown' } });
    const events: TransportEvent[] = [];
    const statuses = await run(1000, events);
    emulator.setScenarios({ goAway: undefined });
    assert.equal([...statuses.values()].filter((s) => s === 'sent').length, 1000);
    assert.ok(events.some((e) => e.type === 'goaway' && e.reason === 'Shutdown'));
    assert.ok(events.filter((e) => e.type === 'connect').length > 2);
    assert.equal(new Set(emulator.notifications.map((n) => n.token)).size, 1000);
  });
});

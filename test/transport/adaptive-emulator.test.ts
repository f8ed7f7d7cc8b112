/**
 * The adaptive in-flight limit end to end: PushClient → apns() with default options → the
 * APNs emulator answering 5–40 ms late, sending GOAWAY every 300 streams and 429 for some
 * tokens. Whatever the limit does meanwhile (grow with the round trip, back off on 429 and
 * GOAWAY), every device gets exactly one feedback and every delivered push reached the
 * emulator exactly once (design contract 1; refused and above-GOAWAY streams are re-sent,
 * never lost and never doubled).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApnsEmulator } from '../../src/emulator/apns/index.js';
import { type Device, PushClient } from '../../src/index.js';
import { type ApnsOptions, apns } from '../../src/providers/apns/index.js';

const token = (i: number) => (0xfeed0000 + i).toString(16).padStart(64, '0');

test('adaptive defaults against a late, GOAWAYing, rate-limiting APNs: nothing lost, nothing doubled', async (t) => {
  const DEVICES = 2000;
  const limited = new Set(Array.from({ length: 20 }, (_, i) => token(i * 97)));
  const emulator = await startApnsEmulator({ record: DEVICES * 2 });
  emulator.setScenarios({ latencyMs: [5, 40], goAway: { streams: 300 }, tooManyRequests: limited });
  const provider = apns({ ...(emulator.providerOptions as ApnsOptions) });
  const client = new PushClient({
    providers: [provider],
    retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 2 },
  });
  t.after(async () => {
    await client.close();
    await emulator.close();
  });

  type IdDevice = Device & { id: number; token: string };
  const devices: IdDevice[] = Array.from({ length: DEVICES }, (_, id) => ({
    platform: 'ios',
    token: token(id),
    id,
  }));
  const feedback = new Map<number, number>();
  const statuses = new Map<string, number>();
  for await (const fb of client.send({ title: 'hi' }, devices)) {
    feedback.set(fb.device.id, (feedback.get(fb.device.id) ?? 0) + 1);
    statuses.set(fb.status, (statuses.get(fb.status) ?? 0) + 1);
    if (fb.status === 'sent') assert.ok(!limited.has(fb.device.token), 'a rate-limited token was not sent');
    else assert.ok(limited.has(fb.device.token), `${fb.device.token}: ${fb.status} ${fb.error?.message}`);
  }
  assert.equal(feedback.size, DEVICES, 'every device has a feedback');
  for (const [id, count] of feedback) assert.equal(count, 1, `device ${id}: ${count} feedbacks`);
  assert.equal(statuses.get('sent'), DEVICES - limited.size);

  const delivered = new Map<string, number>();
  for (const n of emulator.notifications) delivered.set(n.token, (delivered.get(n.token) ?? 0) + 1);
  assert.equal(delivered.size, DEVICES - limited.size);
  for (const [tok, count] of delivered) assert.equal(count, 1, `${tok} delivered ${count} times`);
  assert.ok(emulator.stats().goAways >= 3, `GOAWAYs on the way: ${emulator.stats().goAways}`);
});

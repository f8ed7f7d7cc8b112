/**
 * The "done when": 100,000 `huawei` devices against the emulator with 2% dead tokens
 * and 1% of the send requests throttled (HTTP 503) give exactly one feedback per device, the
 * exact dead set, and no re-send to a token that succeeded — counted per token at the emulator,
 * which counts any request carrying an already-delivered token, whatever it answers.
 *
 * Batches of 100 tokens, so that 1% of requests is ten throttled batches (at 1,000 a request,
 * 100 requests would give one); the path is the same at any batch size.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type HmsEmulator, isDeadToken, startHmsEmulator } from '../../../src/emulator/hms/index.js';
import { PushClient } from '../../../src/index.js';
import { hms } from '../../../src/providers/hms/index.js';
import { hmsToken } from './support.js';

const COUNT = 100_000;
const DEAD_RATE = 0.02;
const THROTTLE_RATE = 0.01;
const BATCH = 100;

let emu: HmsEmulator;
before(async () => {
  emu = await startHmsEmulator({ deadRate: DEAD_RATE, throttleRate: THROTTLE_RATE, maxRecorded: 0 });
});
after(async () => {
  await emu.close();
});

describe('hms: 100,000 devices, 2% dead, 1% of batches throttled', () => {
  it('one feedback per device, exactly the dead set, and no token re-sent after it was delivered', async () => {
    const client = new PushClient({
      providers: [hms({ ...emu.providerOptions, batchSize: BATCH })],
      retry: { baseDelayMs: 20, maxDelayMs: 200, maxAttempts: 5 },
    });
    function* devices() {
      for (let id = 0; id < COUNT; id++)
        yield { platform: 'huawei' as const, token: hmsToken(id, 'done-when'), id };
    }
    const seen = new Uint8Array(COUNT);
    const dead = new Set<number>();
    const statuses: Record<string, number> = {};
    let duplicates = 0;
    const wrong: string[] = [];
    try {
      for await (const fb of client.send({ title: 'Hello', body: 'World' }, devices())) {
        if (seen[fb.device.id]! > 0) duplicates++;
        seen[fb.device.id]!++;
        statuses[fb.status] = (statuses[fb.status] ?? 0) + 1;
        if (fb.status === 'invalid-token') dead.add(fb.device.id);
        else if (fb.status !== 'sent' && wrong.length < 5)
          wrong.push(`${fb.device.id}: ${fb.status} ${fb.error?.message}`);
      }
    } finally {
      await client.close();
    }
    assert.equal(duplicates, 0, 'a device got two feedbacks');
    assert.equal(seen.filter((n) => n === 1).length, COUNT, 'a device got no feedback');
    assert.deepEqual(wrong, []);

    // The dead set, recomputed from the scenario's hash rule, independently of the emulator's answers.
    const expectedDead = new Set<number>();
    for (let id = 0; id < COUNT; id++)
      if (isDeadToken(hmsToken(id, 'done-when'), DEAD_RATE)) expectedDead.add(id);
    assert.ok(expectedDead.size > 1500 && expectedDead.size < 2500, `${expectedDead.size} dead of ${COUNT}`);
    assert.deepEqual(
      [...dead].filter((id) => !expectedDead.has(id)),
      [],
      'reported dead but alive',
    );
    assert.deepEqual(
      [...expectedDead].filter((id) => !dead.has(id)),
      [],
      'dead but not reported',
    );
    assert.equal(statuses['sent'], COUNT - expectedDead.size);

    // At the emulator: no request — delivered, throttled or refused — carried a token that had
    // already been delivered; every token was in exactly one request it accepted (throttled
    // requests are not counted: none of their tokens was delivered).
    const stats = emu.stats;
    assert.equal(stats.tokensResentAfterDelivery, 0, 'tokens sent again after they were delivered');
    let attemptedOnce = 0;
    for (let id = 0; id < COUNT; id++) if (emu.attempts(hmsToken(id, 'done-when')) === 1) attemptedOnce++;
    assert.equal(attemptedOnce, COUNT, 'tokens in more than one accepted request');
    // Every live token delivered exactly once, no dead one delivered.
    const delivered = emu.deliveredTokens();
    const twice = [...delivered.values()].filter((n) => n > 1).length;
    assert.equal(twice, 0, 'tokens delivered more than once');
    assert.equal(delivered.size, COUNT - expectedDead.size);
    const throttled = stats.byStatus[503] ?? 0;
    const batches = COUNT / BATCH;
    assert.ok(throttled >= batches * THROTTLE_RATE, `only ${throttled} throttled requests`);
    // Each throttled batch came back as one request: the requests are the batches plus their retries.
    assert.equal(stats.sendRequests, batches + throttled);
    assert.equal(stats.tokensDelivered, COUNT - expectedDead.size);
    process.stdout.write(
      `# 100k: ${statuses['sent']} sent, ${dead.size} invalid-token, ${stats.sendRequests} requests (${throttled} answered 503), ${stats.tokensResentAfterDelivery} tokens re-sent after delivery\n`,
    );
  });
});

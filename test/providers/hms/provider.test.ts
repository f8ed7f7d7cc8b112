/** The hms() provider against the HMS emulator: per-token outcomes, OAuth, throttling, the guards. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type HmsEmulator, startHmsEmulator } from '../../../src/emulator/hms/index.js';
import { type Feedback, PushClient } from '../../../src/index.js';
import type { Notification } from '../../../src/notification.js';
import { hms } from '../../../src/providers/hms/index.js';
import { collect } from '../../support/scripted-provider.js';
import { brief, huawei } from './support.js';

let emu: HmsEmulator;

const fast = { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 4 };
const alert: Notification = { title: 'Hello', body: 'World' };

async function run(
  devices: ReturnType<typeof huawei>[],
  notification: Notification = alert,
  options: { batchSize?: number; concurrency?: number; dryRun?: boolean } = {},
): Promise<{ feedback: Feedback<ReturnType<typeof huawei>>[]; tokenRequests: number }> {
  const provider = hms({
    ...emu.providerOptions,
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
  const client = new PushClient({ providers: [provider], retry: fast });
  try {
    const feedback = await collect(client.send(notification, devices, { dryRun: options.dryRun === true }));
    return { feedback, tokenRequests: provider.tokenRequests };
  } finally {
    await client.close();
  }
}

before(async () => {
  emu = await startHmsEmulator();
});
after(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  emu.setScenarios({
    deadTokens: [],
    deadRate: 0,
    partialFormat: 'v1',
    misconfigured: false,
    throttleRate: 0,
    throttleBurst: 0,
    internalErrorBurst: 0,
    tokenLifetimeSeconds: 3600,
  });
});

describe('hms provider through the emulator', () => {
  it('sends up to batchSize tokens per request, the message built once, and every device is sent', async () => {
    const devices = Array.from({ length: 25 }, (_, i) => huawei(i));
    const { feedback, tokenRequests } = await run(
      devices,
      { ...alert, data: { id: 42, s: 'x' } },
      { batchSize: 10 },
    );
    assert.equal(feedback.length, 25);
    assert.deepEqual(
      feedback
        .filter((fb) => !(fb.status === 'sent' && fb.attempts === 1 && fb.provider === 'hms'))
        .map(brief),
      [],
    );
    assert.deepEqual(feedback.filter((fb) => !(typeof fb.messageId === 'string')).map(brief), []);
    assert.equal(tokenRequests, 1, 'one OAuth token for every batch');
    assert.equal(emu.stats.sendRequests, 3);
    const sizes = emu.messages.map((m) => (m.target.kind === 'token' ? m.target.tokens.length : 0)).sort();
    assert.deepEqual(sizes, [10, 10, 5]);
    const { token: _t, ...message } = emu.messages[0]!.message;
    assert.deepEqual(message, {
      data: '{"id":"42","s":"x"}',
      notification: { title: 'Hello', body: 'World' },
      android: { notification: { click_action: { type: 3 } } },
    });
    for (const device of devices) assert.equal(emu.deliveries(device.token as string), 1);
  });

  it('partial success: exactly the listed tokens are invalid, the rest sent once and never again', async () => {
    const devices = Array.from({ length: 40 }, (_, i) => huawei(i));
    const dead = devices.filter((d) => d.id % 7 === 3).map((d) => d.token as string);
    emu.setScenarios({ deadTokens: dead });
    const { feedback } = await run(devices, alert, { batchSize: 20 });
    assert.equal(feedback.length, 40);
    const invalid = feedback.filter((fb) => fb.status === 'invalid-token').map((fb) => fb.device.token);
    assert.deepEqual(invalid.sort(), [...dead].sort());
    for (const fb of feedback) {
      assert.equal(fb.attempts, 1);
      if (fb.status === 'invalid-token') {
        assert.equal(fb.error?.reason, '80100000 illegal_tokens');
        assert.equal(emu.deliveries(fb.device.token as string), 0);
      } else {
        assert.equal(fb.status, 'sent');
        assert.equal(emu.attempts(fb.device.token as string), 1);
      }
    }
    assert.equal(emu.stats.byCode['80100000'], 2);
  });

  it("accepts the v3 shape of msg (illegalTokens by reason) as well as v1's", async () => {
    const devices = Array.from({ length: 6 }, (_, i) => huawei(i));
    emu.setScenarios({ deadTokens: [devices[1]!.token as string], partialFormat: 'v3' });
    const { feedback } = await run(devices);
    const invalid = feedback.filter((fb) => fb.status === 'invalid-token');
    assert.equal(invalid.length, 1);
    assert.equal(invalid[0]!.device.id, 1);
    assert.equal(invalid[0]!.error?.reason, '80100000 tokenFormatError');
    assert.equal(feedback.filter((fb) => fb.status === 'sent').length, 5);
  });

  it('80300007 before any success stops the lane as config and declares no token dead', async () => {
    emu.setScenarios({ misconfigured: true });
    const devices = Array.from({ length: 500 }, (_, i) => huawei(i));
    const { feedback } = await run(devices, alert, { batchSize: 100, concurrency: 1 });
    assert.equal(feedback.length, 500);
    assert.equal(feedback.filter((fb) => fb.status === 'invalid-token').length, 0);
    assert.deepEqual(
      feedback.filter((fb) => !(fb.status === 'failed' && fb.error?.code === 'config')).map(brief),
      [],
    );
    assert.match(feedback[0]!.error!.message, /80300007.*before any device of this send was delivered/);
    assert.equal(emu.stats.sendRequests, 1, 'the lane stopped after the first answer');
  });

  it('80300007 for small batches before any success: held back, then stops the lane once 100 tokens are refused', async () => {
    emu.setScenarios({ misconfigured: true });
    const devices = Array.from({ length: 300 }, (_, i) => huawei(i));
    const { feedback } = await run(devices, alert, { batchSize: 10, concurrency: 1 });
    assert.equal(feedback.length, 300);
    assert.equal(feedback.filter((fb) => fb.status === 'invalid-token').length, 0);
    assert.ok(
      feedback.some((fb) => fb.error?.code === 'config'),
      'the lane stopped as misconfigured',
    );
    assert.ok(emu.stats.sendRequests <= 12, `${emu.stats.sendRequests} requests`);
  });

  it('a lone dead token first is not taken for a misconfiguration: retried, then invalid once a success came', async () => {
    const devices = Array.from({ length: 3 }, (_, i) => huawei(i));
    emu.setScenarios({ deadTokens: [devices[0]!.token as string] });
    const { feedback } = await run(devices, alert, { batchSize: 1, concurrency: 1 });
    const byId = new Map(feedback.map((fb) => [fb.device.id, fb]));
    assert.equal(byId.get(0)!.status, 'invalid-token', brief(byId.get(0)!));
    assert.equal(byId.get(0)!.attempts, 2);
    assert.equal(byId.get(1)!.status, 'sent');
    assert.equal(byId.get(2)!.status, 'sent');
  });

  it('80300007 after this send had a success: those tokens are invalid', async () => {
    const devices = Array.from({ length: 4 }, (_, i) => huawei(i));
    emu.setScenarios({ deadTokens: [devices[2]!.token as string, devices[3]!.token as string] });
    const { feedback } = await run(devices, alert, { batchSize: 2, concurrency: 1 });
    const byId = new Map(feedback.map((fb) => [fb.device.id, fb]));
    assert.equal(byId.get(0)!.status, 'sent');
    assert.equal(byId.get(1)!.status, 'sent');
    assert.equal(byId.get(2)!.status, 'invalid-token');
    assert.equal(byId.get(3)!.status, 'invalid-token');
    assert.equal(byId.get(3)!.error?.reason, '80300007');
  });

  it('503 flow control: the whole batch is retried with backoff, each token delivered once', async () => {
    emu.setScenarios({ throttleBurst: 2 });
    const devices = Array.from({ length: 30 }, (_, i) => huawei(i));
    const { feedback } = await run(devices, alert, { batchSize: 30 });
    assert.deepEqual(feedback.filter((fb) => !(fb.status === 'sent' && fb.attempts === 3)).map(brief), []);
    assert.equal(emu.stats.byStatus[503], 2);
    assert.equal(emu.stats.sendRequests, 3, 'the 30 went back together each time');
    for (const device of devices) assert.equal(emu.deliveries(device.token as string), 1);
  });

  it('81000001 (system internal error) is retried too', async () => {
    emu.setScenarios({ internalErrorBurst: 1 });
    const { feedback } = await run([huawei(1), huawei(2)]);
    assert.deepEqual(feedback.filter((fb) => !(fb.status === 'sent' && fb.attempts === 2)).map(brief), []);
    assert.equal(emu.stats.byCode['81000001'], 1);
  });

  it('an expired access token (80200003) is refreshed once and the batch re-sent in the same attempt', async () => {
    const provider = hms({ ...emu.providerOptions, batchSize: 5, concurrency: 1 });
    const client = new PushClient({ providers: [provider], retry: fast });
    try {
      const first = await collect(client.send(alert, [huawei(1)]));
      assert.equal(first[0]!.status, 'sent');
      emu.expireAccessTokens();
      const second = await collect(
        client.send(
          alert,
          Array.from({ length: 10 }, (_, i) => huawei(100 + i)),
        ),
      );
      assert.deepEqual(second.filter((fb) => !(fb.status === 'sent' && fb.attempts === 1)).map(brief), []);
      assert.equal(provider.tokenRequests, 2, 'one refresh for the whole burst');
      assert.equal(emu.stats.byCode['80200003'], 1);
    } finally {
      await client.close();
    }
  });

  it('a revoked access token (80200001) is refreshed ONCE for a burst of concurrent batches, each re-sent in the same attempt', async () => {
    const provider = hms({ ...emu.providerOptions, batchSize: 1, concurrency: 8 });
    const client = new PushClient({ providers: [provider], retry: fast });
    try {
      assert.equal((await collect(client.send(alert, [huawei(1)])))[0]!.status, 'sent');
      emu.revokeAccessTokens();
      emu.reset();
      const devices = Array.from({ length: 16 }, (_, i) => huawei(200 + i));
      const feedback = await collect(client.send(alert, devices));
      assert.deepEqual(feedback.filter((fb) => !(fb.status === 'sent' && fb.attempts === 1)).map(brief), []);
      assert.equal(provider.tokenRequests, 2, 'one refresh however many batches were refused');
      assert.ok((emu.stats.byCode['80200001'] ?? 0) >= 1, JSON.stringify(emu.stats.byCode));
      for (const device of devices) assert.equal(emu.deliveries(device.token as string), 1);
    } finally {
      await client.close();
    }
  });

  it('a token still refused after its refresh is re-sent once only, then the lane stops as auth', async () => {
    // The OAuth client is right (clientId), the send URL names another app: 80200001 every time.
    const provider = hms({ ...emu.providerOptions, clientId: emu.appId, appId: '999999999' });
    const client = new PushClient({ providers: [provider], retry: fast });
    try {
      const feedback = await collect(client.send(alert, [huawei(1), huawei(2)]));
      assert.deepEqual(
        feedback.filter((fb) => !(fb.status === 'failed' && fb.error?.code === 'auth')).map(brief),
        [],
      );
      assert.equal(feedback[0]!.error?.reason, '80200001');
      assert.equal(emu.stats.sendRequests, 2, 'the first request and one re-send with a new token');
      assert.equal(provider.tokenRequests, 2);
      assert.equal(emu.stats.tokensDelivered, 0);
    } finally {
      await client.close();
    }
  });

  it('a wrong client secret stops the lane as auth, without a send request and without echoing the secret', async () => {
    const secret = 'not-the-secret+&=/';
    const provider = hms({ ...emu.providerOptions, clientSecret: secret });
    const client = new PushClient({ providers: [provider], retry: fast });
    try {
      const feedback = await collect(
        client.send(
          alert,
          Array.from({ length: 5 }, (_, i) => huawei(i)),
        ),
      );
      assert.deepEqual(
        feedback.filter((fb) => !(fb.status === 'failed' && fb.error?.code === 'auth')).map(brief),
        [],
      );
      assert.equal(feedback[0]!.attempts, 0, 'no send request was made');
      assert.doesNotMatch(feedback[0]!.error!.message, /not-the-secret/);
      assert.match(feedback[0]!.error!.message, /client id 104000000/);
      assert.equal(emu.stats.sendRequests, 0);
      assert.equal(provider.tokenRequests, 1);
    } finally {
      await client.close();
    }
  });

  it("transport 'node-http2' gives the same per-token outcomes", async () => {
    const devices = Array.from({ length: 12 }, (_, i) => huawei(i));
    emu.setScenarios({ deadTokens: [devices[4]!.token as string] });
    const provider = hms({ ...emu.providerOptions, transport: 'node-http2', batchSize: 6 });
    const client = new PushClient({ providers: [provider], retry: fast });
    try {
      const feedback = await collect(client.send(alert, devices));
      const invalid = feedback.filter((fb) => fb.status === 'invalid-token').map((fb) => fb.device.id);
      assert.deepEqual(invalid, [4]);
      assert.equal(feedback.filter((fb) => fb.status === 'sent').length, 11);
    } finally {
      await client.close();
    }
  });

  it('a batch whose answer never comes: every device of it is marked maybe delivered, never re-sent at-most-once', async () => {
    emu.setScenarios({ latencyMs: 1000 });
    const provider = hms({ ...emu.providerOptions, timeoutMs: 200 });
    const client = new PushClient({ providers: [provider], retry: fast, delivery: 'at-most-once' });
    try {
      const feedback = await collect(client.send(alert, [huawei(1), huawei(2)]));
      assert.deepEqual(
        feedback.map((fb) => `${fb.status} ${fb.error?.code} ${fb.maybeDelivered === true}`),
        ['failed timeout true', 'failed timeout true'],
      );
      assert.equal(emu.stats.sendRequests, 1);
    } finally {
      emu.setScenarios({ latencyMs: 0 });
      await client.close();
    }
  });

  it('a dry run asks Huawei to validate only: validated, nothing delivered', async () => {
    const devices = Array.from({ length: 5 }, (_, i) => huawei(i));
    const { feedback } = await run(devices, alert, { dryRun: true });
    assert.deepEqual(feedback.filter((fb) => !(fb.status === 'validated')).map(brief), []);
    assert.equal(emu.messages[0]!.validateOnly, true);
    assert.equal(emu.stats.tokensDelivered, 0);
  });

  it('a topic send is one request per attempt, shared by the devices standing for it', async () => {
    const { feedback } = await run([{ platform: 'huawei', token: 'topic:news', id: 0 }], {
      ...alert,
      hms: { topic: 'news' },
    });
    assert.equal(feedback[0]!.status, 'sent');
    assert.deepEqual(emu.messages[0]!.target, { kind: 'topic', value: 'news' });
  });

  it('refuses unusable tokens and oversize messages without a request', async () => {
    const { feedback } = await run([{ platform: 'huawei', token: '', id: 0 }, huawei(1)]);
    const byId = new Map(feedback.map((fb) => [fb.device.id, fb]));
    assert.equal(byId.get(0)!.status, 'invalid-token');
    assert.equal(byId.get(0)!.attempts, 0);
    assert.equal(byId.get(1)!.status, 'sent');
    emu.reset();
    const big = await run([huawei(2)], { ...alert, data: { blob: 'x'.repeat(5000) } });
    assert.equal(big.feedback[0]!.error?.code, 'payload-too-large');
    assert.equal(emu.stats.sendRequests, 0);
  });
});

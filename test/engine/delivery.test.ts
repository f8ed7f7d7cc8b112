import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { type Feedback, PushClient, PushError } from '../../src/index.js';
import {
  collect,
  type ScriptedDevice,
  ScriptedProvider,
  scriptedDevices,
} from '../support/scripted-provider.js';

const fastRetry = { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 4 };

describe('send()', () => {
  test('gives one feedback per device and carries the caller’s device object back untouched', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider] });
    const devices = [...scriptedDevices(5)].map((device) => ({ ...device, rowId: `row-${device.id}` }));
    const feedback = await collect(client.send({ title: 'hi' }, devices));
    assert.equal(feedback.length, 5);
    for (const fb of feedback) {
      assert.equal(fb.status, 'sent');
      assert.equal(fb.provider, 'scripted');
      assert.equal(fb.attempts, 1);
      assert.ok(devices.includes(fb.device), 'the very same object comes back');
      assert.equal(fb.device.rowId, `row-${fb.device.id}`);
    }
    await client.close();
    assert.ok(provider.closed);
  });

  test('accepts sync iterables, async iterables and object-mode Readables', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()] });
    async function* asyncDevices() {
      yield* scriptedDevices(7);
    }
    assert.equal((await collect(client.send({}, scriptedDevices(7)))).length, 7);
    assert.equal((await collect(client.send({}, asyncDevices()))).length, 7);
    assert.equal((await collect(client.send({}, Readable.from(scriptedDevices(7))))).length, 7);
    await client.close();
  });

  test('prepares the notification once per provider per send, not per device', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider] });
    await client.send({}, scriptedDevices(500)).done;
    assert.equal(provider.prepares, 1);
    await client.close();
  });

  test('maps outcomes to statuses and keeps the provider’s error', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()], retry: { maxAttempts: 1 } });
    const scripts = [['ok'], ['invalid'], ['bad'], ['retry']] as const;
    const feedback = await collect(
      client.send(
        {},
        scriptedDevices(4, (i) => [...scripts[i]!]),
      ),
    );
    const byId = new Map(feedback.map((fb) => [(fb.device as ScriptedDevice).id, fb]));
    assert.equal(byId.get(0)!.status, 'sent');
    assert.equal(byId.get(1)!.status, 'invalid-token');
    assert.equal(byId.get(1)!.error?.code, 'invalid-token');
    assert.equal(byId.get(1)!.httpStatus, 410);
    assert.equal(byId.get(2)!.status, 'failed');
    assert.equal(byId.get(2)!.error?.code, 'bad-request');
    assert.equal(byId.get(3)!.status, 'failed');
    assert.equal(byId.get(3)!.error?.retryable, true, 'a retryable failure that ran out of attempts says so');
    await client.close();
  });

  test('a device nobody serves fails with no-provider; a malformed one with invalid-device; the stream goes on', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider({ platforms: ['android'] })] });
    const devices = [
      { platform: 'ios', token: 'aa', id: 1, script: ['ok'] },
      null,
      { platform: 'pager', token: 'x' },
      { platform: 'android', token: 'x', id: 2, script: ['ok'] },
      { platform: 'android', token: 'x', app: 'other', id: 3, script: ['ok'] },
    ];
    // biome-ignore lint/suspicious/noExplicitAny: deliberately malformed input.
    const feedback = await collect(client.send({}, devices as any[]));
    assert.deepEqual(
      feedback.map((fb) => [fb.status, fb.error?.code ?? 'none', fb.attempts]),
      [
        ['failed', 'no-provider', 0],
        ['failed', 'invalid-device', 0],
        ['failed', 'invalid-device', 0],
        ['sent', 'none', 1],
        ['failed', 'no-provider', 0],
      ].sort((a, b) => (a[0] === 'sent' ? 1 : 0) - (b[0] === 'sent' ? 1 : 0)),
    );
    await client.close();
  });

  test('a placeholder a source marked malformed fails with the source’s own words', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()] });
    const [fb] = await collect(
      client.send({}, [{ malformed: 'line 7 of devices.ndjson: not valid JSON' }] as never[]),
    );
    assert.equal(fb!.error?.code, 'invalid-device');
    assert.equal(fb!.error?.message, 'line 7 of devices.ndjson: not valid JSON');
    await client.close();
  });

  test('routes by platform and by app', async () => {
    const main = new ScriptedProvider({ name: 'main', platforms: ['ios'] });
    const other = new ScriptedProvider({ name: 'other', platforms: ['ios'], app: 'other' });
    const android = new ScriptedProvider({ name: 'android', platforms: ['android'] });
    const client = new PushClient({ providers: [main, other, android] });
    const devices = [
      { platform: 'ios' as const, token: 'a', id: 1, script: ['ok' as const] },
      { platform: 'ios' as const, token: 'b', app: 'other', id: 2, script: ['ok' as const] },
      { platform: 'android' as const, token: 'c', id: 3, script: ['ok' as const] },
    ];
    const feedback = await collect(client.send({}, devices));
    const providerOf = new Map(feedback.map((fb) => [fb.device.id, fb.provider]));
    assert.deepEqual([...providerOf.entries()].sort(), [
      [1, 'main'],
      [2, 'other'],
      [3, 'android'],
    ]);
    await client.close();
  });

  test('two providers for the same platform and app is a configuration error at construction', () => {
    assert.throws(
      () =>
        new PushClient({
          providers: [new ScriptedProvider({ name: 'a' }), new ScriptedProvider({ name: 'b' })],
        }),
      (error: unknown) =>
        error instanceof PushError && error.code === 'config' && /both serve platform/.test(error.message),
    );
    assert.throws(() => new PushClient({ providers: [] }), /at least one provider/);
  });

  test('a provider that throws or rejects gives internal failures, never a crash', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()], retry: { maxAttempts: 1 } });
    const feedback = await collect(
      client.send(
        {},
        scriptedDevices(4, (i) => [i % 2 ? 'throw' : 'reject']),
      ),
    );
    assert.equal(feedback.length, 4);
    for (const fb of feedback) {
      assert.equal(fb.status, 'failed');
      assert.equal(fb.error?.code, 'internal');
      assert.match(fb.error!.message, /scripted provider (blew up|rejected)/);
    }
    await client.close();
  });

  test('prepare() failing (payload too large) fails that provider’s devices without a request', async () => {
    const tooBig = new PushError('payload-too-large', 'payload is 5000 bytes, limit 4096', {
      provider: 'big',
    });
    const big = new ScriptedProvider({ name: 'big', platforms: ['ios'], prepareError: tooBig });
    const fine = new ScriptedProvider({ name: 'fine', platforms: ['android'] });
    const client = new PushClient({ providers: [big, fine] });
    const devices = [...scriptedDevices(3, undefined, 'ios'), ...scriptedDevices(3, undefined, 'android')];
    const feedback = await collect(client.send({}, devices));
    assert.equal(feedback.filter((fb) => fb.error === tooBig && fb.attempts === 0).length, 3);
    assert.equal(feedback.filter((fb) => fb.status === 'sent').length, 3);
    assert.equal(big.requests, 0);
    await client.close();
  });

  test('summary counts by status, error code and provider, with duration and rate', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()], retry: fastRetry });
    const delivery = client.send(
      {},
      scriptedDevices(10, (i) => (i < 6 ? ['ok'] : i < 8 ? ['invalid'] : ['retry', 'ok'])),
    );
    const summary = await delivery.done;
    assert.equal(summary.total, 10);
    assert.equal(summary.sent, 8);
    assert.equal(summary.invalidToken, 2);
    assert.equal(summary.failed, 0);
    assert.deepEqual(summary.errors, { 'invalid-token': 2 });
    assert.deepEqual(summary.providers, { scripted: { sent: 8, validated: 0, invalidToken: 2, failed: 0 } });
    assert.equal(summary.retries, 2);
    assert.equal(summary.finished, true);
    assert.ok(summary.durationMs >= 0 && summary.perSecond >= 0);
    await client.close();
  });

  test('a delivery can be iterated only once', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()] });
    const delivery = client.send({}, scriptedDevices(1));
    await collect(delivery);
    assert.throws(() => delivery[Symbol.asyncIterator](), /only once/);
    await client.close();
  });

  test('a failing source: devices read before it still get feedback, then the error surfaces', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()] });
    function* broken() {
      yield* scriptedDevices(3);
      throw new Error('database went away');
    }
    const delivery = client.send({}, broken());
    const seen: unknown[] = [];
    await assert.rejects(async () => {
      for await (const fb of delivery) seen.push(fb);
    }, /database went away/);
    assert.equal(seen.length, 3);
    await assert.rejects(delivery.done, /database went away/);
    assert.equal(delivery.summary.total, 3);
    await client.close();
  });

  test('not an iterable: the delivery fails clearly instead of throwing from send()', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()] });
    // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input.
    const delivery = client.send({}, 42 as any);
    await assert.rejects(delivery.done, /must be an Iterable, an AsyncIterable or an object-mode Readable/);
    await client.close();
  });
});

describe('retries', () => {
  test('retryable failures are retried with backoff and end sent; attempts are counted', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], retry: fastRetry });
    const feedback = await collect(
      client.send(
        {},
        scriptedDevices(20, () => ['retry', 'retry', 'ok']),
      ),
    );
    assert.ok(feedback.every((fb) => fb.status === 'sent' && fb.attempts === 3));
    await client.close();
  });

  test('attempts are bounded by maxAttempts', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], retry: { ...fastRetry, maxAttempts: 3 } });
    const [fb] = await collect(
      client.send(
        {},
        scriptedDevices(1, () => ['retry']),
      ),
    );
    assert.equal(fb!.status, 'failed');
    assert.equal(fb!.attempts, 3);
    assert.equal(provider.attempts.get(0), 3);
    await client.close();
  });

  test('Retry-After is honoured', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], retry: fastRetry });
    const [fb] = await collect(
      client.send(
        {},
        scriptedDevices(1, () => [{ retryAfterMs: 150 }, 'ok']),
      ),
    );
    assert.equal(fb!.status, 'sent');
    const [first, second] = provider.attemptTimes.get(0)!;
    assert.ok(second! - first! >= 145, `waited ${second! - first!} ms, Retry-After said 150`);
    await client.close();
  });

  test('a Retry-After beyond the total delay budget ends the device at once, still marked retryable', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], retry: { ...fastRetry, maxTotalDelayMs: 1000 } });
    const started = Date.now();
    const [fb] = await collect(
      client.send(
        {},
        scriptedDevices(1, () => [{ retryAfterMs: 60_000 }]),
      ),
    );
    assert.equal(fb!.error?.code, 'rate-limited');
    assert.equal(fb!.error?.retryable, true);
    assert.equal(fb!.error?.retryAfterMs, 60_000);
    assert.ok(Date.now() - started < 1000);
    await client.close();
  });

  test('a device waiting for its retry does not hold a window slot', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], window: 2, retry: { maxAttempts: 2 } });
    // Device 0 waits 300 ms for its retry; the 50 behind it must not wait for it.
    const devices = scriptedDevices(51, (i) => (i === 0 ? [{ retryAfterMs: 300 }, 'ok'] : ['ok']));
    const order: number[] = [];
    for await (const fb of client.send({}, devices)) order.push((fb.device as ScriptedDevice).id);
    assert.equal(order.length, 51);
    assert.equal(order.at(-1), 0, 'the retried device finished last, after everything behind it');
    await client.close();
  });
});

describe('configuration-error circuit', () => {
  test('an auth error stops the lane: the rest fail fast with the same error, without requests', async () => {
    const provider = new ScriptedProvider({ concurrency: 4 });
    const client = new PushClient({ providers: [provider], window: 16 });
    const feedback = await collect(
      client.send(
        {},
        scriptedDevices(10_000, () => ['config']),
      ),
    );
    assert.equal(feedback.length, 10_000);
    assert.ok(feedback.every((fb) => fb.status === 'failed' && fb.error?.code === 'auth'));
    assert.ok(
      provider.requests <= 4,
      `made ${provider.requests} requests, at most the 4 in flight when it tripped`,
    );
    assert.ok(feedback.filter((fb) => fb.attempts === 0).length >= 9_996);
    await client.close();
  });

  test('one provider’s circuit does not stop another', async () => {
    const broken = new ScriptedProvider({ name: 'broken', platforms: ['ios'] });
    const fine = new ScriptedProvider({ name: 'fine', platforms: ['android'] });
    const client = new PushClient({ providers: [broken, fine] });
    const devices = [
      ...scriptedDevices(100, () => ['config'], 'ios'),
      ...scriptedDevices(100, () => ['ok'], 'android'),
    ];
    const summary = await client.send({}, devices).done;
    assert.deepEqual(summary.providers, {
      broken: { sent: 0, validated: 0, invalidToken: 0, failed: 100 },
      fine: { sent: 100, validated: 0, invalidToken: 0, failed: 0 },
    });
    await client.close();
  });
});

describe('lanes and windows', () => {
  test('the source is read only as fast as the window frees', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], window: 8 });
    let pulled = 0;
    function* counted() {
      for (const device of scriptedDevices(1000, () => ['hang'])) {
        pulled++;
        yield device;
      }
    }
    const delivery = client.send({}, counted());
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(pulled, 8, 'eight devices in flight, nothing read ahead');
    assert.equal(provider.inFlight, 8);
    delivery.abort('test over');
    const summary = await delivery.done;
    assert.equal(summary.total, 8);
    assert.deepEqual(summary.errors, { aborted: 8 });
    await client.close();
  });

  test('stop(): reading ends, every device read finishes as it would have (retries too), nothing is aborted', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], window: 8, retry: fastRetry });
    let pulled = 0;
    async function* counted() {
      // Every third device needs a retry: stop() must let it run, not fail it as aborted.
      for (const device of scriptedDevices(1000, (i) => (i % 3 === 0 ? ['retry', 'ok'] : ['ok']))) {
        pulled++;
        yield { ...device, delayMs: 20 };
      }
    }
    const delivery = client.send({}, counted());
    const feedback: Feedback[] = [];
    let held: number | undefined;
    for await (const fb of delivery) {
      feedback.push(fb);
      if (feedback.length === 10) held = delivery.stop();
    }
    assert.ok(held !== undefined && held > 0, `devices still held at stop(): ${held}`);
    assert.ok(pulled < 1000, 'reading stopped');
    assert.equal(feedback.length, pulled, 'every device read has its feedback');
    assert.deepEqual(
      feedback.filter((fb) => fb.status !== 'sent').map((fb) => fb.error?.code),
      [],
      'none aborted',
    );
    assert.equal(delivery.stop(), 0, 'stop() after the end: nothing held');
    await client.close();
  });

  test('feedback nobody reads stops the reading too (bounded memory)', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()], window: 10 });
    let pulled = 0;
    function* counted() {
      for (const device of scriptedDevices(10_000)) {
        pulled++;
        yield device;
      }
    }
    const delivery = client.send({}, counted());
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Reading did start (a send that reads nothing until iterated would pass the bound alone),
    // and stopped with the window and the unread feedback full.
    assert.ok(pulled >= 10, `read only ${pulled} devices: the window of 10 was not even filled`);
    assert.ok(pulled <= 21, `read ${pulled} devices with nobody reading feedback; window 10`);
    const summary = await delivery.done; // awaiting done without iterating drains it
    assert.equal(summary.total, 10_000);
    await client.close();
  });

  test('a slow provider fills its own lane while another keeps sending', async () => {
    const slow = new ScriptedProvider({ name: 'slow', platforms: ['ios'], concurrency: 2 });
    const fast = new ScriptedProvider({ name: 'fast', platforms: ['android'], concurrency: 2 });
    const client = new PushClient({ providers: [slow, fast], window: 100 });
    const devices: ScriptedDevice[] = [];
    for (let id = 0; id < 200; id++) {
      devices.push(
        id % 4 === 0
          ? { platform: 'ios', token: 'a', id, script: ['hang'] }
          : { platform: 'android', token: 'b', id, script: ['ok'] },
      );
    }
    const delivery = client.send({}, devices);
    const iterator = delivery[Symbol.asyncIterator]();
    for (let i = 0; i < 150; i++) {
      const { value } = await iterator.next();
      assert.equal(value!.provider, 'fast');
    }
    assert.equal(slow.inFlight, 2, 'the slow lane keeps its own two requests in flight');
    slow.releaseHanging();
    delivery.abort('test over');
    for (;;) if ((await iterator.next()).done) break;
    await client.close();
  });

  test('a batch request that fails as a whole fails each of its devices once', async () => {
    const provider = new ScriptedProvider({ batchSize: 10, batchFailure: new Error('connection reset') });
    const client = new PushClient({ providers: [provider], retry: { maxAttempts: 1 } });
    const feedback = await collect(client.send({}, scriptedDevices(25)));
    assert.equal(feedback.length, 25);
    assert.ok(
      feedback.every((fb) => fb.error?.code === 'internal' && /connection reset/.test(fb.error.message)),
    );
    assert.deepEqual(provider.batches, [10, 10, 5]);
    await client.close();
  });

  test('batching providers get batches of at most batchSize, every device answered once', async () => {
    const provider = new ScriptedProvider({ batchSize: 100, concurrency: 2 });
    const client = new PushClient({ providers: [provider], window: 1000 });
    async function* slowSource() {
      for (const device of scriptedDevices(1234)) {
        if (device.id % 300 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
        yield device;
      }
    }
    const feedback = await collect(client.send({}, slowSource()));
    assert.equal(feedback.length, 1234);
    assert.equal(new Set(feedback.map((fb) => fb.device)).size, 1234);
    assert.ok(provider.batches.every((size) => size >= 1 && size <= 100));
    assert.equal(
      provider.batches.reduce((a, b) => a + b, 0),
      1234,
    );
    assert.ok(provider.batches.length < 40, `${provider.batches.length} batches for 1234 devices`);
    await client.close();
  });
});

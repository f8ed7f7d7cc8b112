import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { type Feedback, PushClient } from '../../src/index.js';
import {
  collect,
  type ScriptedDevice,
  ScriptedProvider,
  scriptedDevices,
} from '../support/scripted-provider.js';

describe('session()', () => {
  test('push() resolves only when the engine has room (backpressure)', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], window: 3 });
    const session = client.session<ScriptedDevice>({ title: 'x' });
    const devices = [...scriptedDevices(5, () => ['hang'])];
    const taken: number[] = [];
    const pushes = devices.map((device) => session.push(device).then(() => taken.push(device.id)));
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(taken, [0, 1, 2], 'three taken for a window of three; the rest wait');
    provider.releaseHanging(); // they fail retryably and come back later: slots free now
    session.abort('test over');
    const summary = await session.done;
    assert.equal(summary.total, 3, 'devices never taken were never handed in');
    const refused = await Promise.allSettled(pushes);
    assert.deepEqual(
      refused.map((result) => result.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected'],
    );
    await client.close();
  });

  test('push, end, iterate: one feedback per pushed device', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()] });
    const session = client.session<ScriptedDevice>({});
    const producing = (async () => {
      for (const device of scriptedDevices(300)) await session.push(device);
      session.end();
    })();
    const feedback = await collect(session);
    await producing;
    assert.equal(feedback.length, 300);
    assert.equal(session.summary.sent, 300);
    await assert.rejects(session.push(scriptedDevices(1).next().value!), /after end/);
    await client.close();
  });

  test('an empty session ends at once', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()] });
    const session = client.session({});
    session.end();
    assert.equal((await session.done).total, 0);
    await client.close();
  });
});

describe('stream()', () => {
  test('works in stream.pipeline(): devices in, feedback out', async () => {
    const client = new PushClient({ providers: [new ScriptedProvider()], window: 16 });
    const out: Feedback[] = [];
    await pipeline(
      Readable.from(scriptedDevices(1000, (i) => (i % 10 === 0 ? ['invalid'] : ['ok']))),
      client.stream({ body: 'hello' }),
      new Writable({
        objectMode: true,
        highWaterMark: 4,
        write(fb: Feedback, _encoding, callback) {
          out.push(fb);
          setImmediate(callback); // a slow sink: backpressure must hold
        },
      }),
    );
    assert.equal(out.length, 1000);
    assert.equal(out.filter((fb) => fb.status === 'invalid-token').length, 100);
    await client.close();
  });
});

describe('abort', () => {
  test('leaving the loop early aborts the rest', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], window: 4 });
    const delivery = client.send(
      {},
      scriptedDevices(1000, (i) => (i < 2 ? ['ok'] : ['hang'])),
    );
    for await (const _fb of delivery) break;
    const summary = await delivery.done;
    assert.ok(summary.total < 10);
    assert.equal(summary.sent + (summary.errors.aborted ?? 0), summary.total);
    assert.equal(provider.inFlight, 0);
    await client.close();
  });

  test('an already-aborted signal sends nothing', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider] });
    const delivery = client.send({}, scriptedDevices(10), { signal: AbortSignal.abort('no') });
    const summary = await delivery.done;
    assert.equal(provider.requests, 0);
    assert.equal(summary.total, 0);
    await client.close();
  });

  test('destroy() aborts every running send', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], window: 5 });
    const one = client.send(
      {},
      scriptedDevices(100, () => ['hang']),
    );
    const two = client.send(
      {},
      scriptedDevices(100, () => ['hang']),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    client.destroy();
    const [a, b] = await Promise.all([one.done, two.done]);
    assert.deepEqual([a.total, b.total], [5, 5]);
    assert.deepEqual(a.errors, { aborted: 5 });
    assert.throws(() => client.send({}, []), /closed/);
  });
});

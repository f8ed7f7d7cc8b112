/**
 * Personalised sends: `client.send((device) => notification, devices)`. Each device receives
 * its own notification (checked at the emulators), encodings are made once per distinct
 * notification per provider, and a bad function result or a rejected notification fails only
 * the devices concerned — each device still gets exactly one feedback.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startEmulator } from '../../src/emulator/index.js';
import { PREPARED_CACHE_LIMIT, PREPARED_CACHE_PROBE, PreparedCache } from '../../src/engine/personalise.js';
import {
  apns,
  type Device,
  type Feedback,
  fcm,
  type Notification,
  PushClient,
  PushError,
  webPush,
} from '../../src/index.js';
import type { PreparedSend } from '../../src/provider.js';
import {
  collect,
  type ScriptedDevice,
  ScriptedProvider,
  scriptedDevices,
} from '../support/scripted-provider.js';

type Person = Device & { id: string; name: string; locale: 'en' | 'fr' };

const greeting = (person: Person): Notification => ({
  title: person.locale === 'fr' ? `Bonjour ${person.name}` : `Hello ${person.name}`,
  body: `for ${person.id}`,
});

describe('personalised sends against the emulators', () => {
  test('APNs, FCM and Web Push: each device receives its own notification', async (t) => {
    const emulator = await startEmulator();
    t.after(() => emulator.close());
    const client = new PushClient({
      providers: [
        apns({ ...emulator.apns.providerOptions, production: false }),
        fcm(emulator.fcm.providerOptions),
        webPush(emulator.webpush.providerOptions),
      ],
    });
    t.after(() => client.close());
    const people: Person[] = [];
    for (let i = 0; i < 4; i++) {
      const locale = i % 2 === 0 ? 'en' : 'fr';
      people.push({ id: `ios-${i}`, name: `Ann${i}`, locale, platform: 'ios', token: `${i}`.repeat(64) });
      people.push({ id: `and-${i}`, name: `Bob${i}`, locale, platform: 'android', token: `fcm-${i}` });
      const subscription = emulator.webpush.subscribe();
      people.push({ id: `web-${i}`, name: `Cy${i}`, locale, platform: 'web', token: subscription });
    }
    const feedback = await collect(client.send(greeting, people));
    assert.equal(feedback.length, people.length);
    assert.ok(
      feedback.every((fb) => fb.status === 'sent'),
      JSON.stringify(feedback.map((fb) => fb.error)),
    );

    const apnsTitles = new Map(
      emulator.apns.notifications.map((n) => [
        n.token,
        (
          (n.payload.aps as { alert: { title: string; body: string } }).alert as {
            title: string;
            body: string;
          }
        ).title,
      ]),
    );
    const fcmTitles = new Map(
      emulator.fcm.messages.map((m) => {
        const message = m.message as { token: string; notification: { title: string } };
        return [message.token, message.notification.title];
      }),
    );
    for (const person of people) {
      const want = greeting(person).title;
      if (person.platform === 'ios') assert.equal(apnsTitles.get(person.token as string), want, person.id);
      if (person.platform === 'android') assert.equal(fcmTitles.get(person.token as string), want, person.id);
      if (person.platform === 'web') {
        const received = emulator.webpush.messagesFor(person.token);
        assert.equal(received.length, 1, person.id);
        assert.equal(JSON.parse(received[0]!.text).title, want, person.id);
      }
    }
  });

  test('a notification APNs rejects fails only the device that got it; a dry run checks each device', async (t) => {
    const emulator = await startEmulator();
    t.after(() => emulator.close());
    const client = new PushClient({
      providers: [
        apns({ ...emulator.apns.providerOptions, production: false }),
        fcm(emulator.fcm.providerOptions),
      ],
    });
    t.after(() => client.close());
    const devices: Array<Device & { id: number }> = [0, 1, 2, 3].map((id) => ({
      id,
      platform: id === 3 ? 'android' : 'ios',
      token: id === 3 ? 'fcm-3' : `${id}`.repeat(64),
    }));
    // Device 1's notification is over APNs's 4 KB limit.
    const personalise = (device: Device & { id: number }): Notification => ({
      title: `n${device.id}`,
      body: device.id === 1 ? 'x'.repeat(5000) : 'short',
    });

    for (const dryRun of [false, true]) {
      emulator.apns.reset();
      emulator.fcm.reset();
      const feedback = await collect(client.send(personalise, devices, { dryRun }));
      const byId = new Map(feedback.map((fb) => [fb.device.id, fb]));
      assert.equal(feedback.length, 4);
      assert.equal(byId.get(1)?.status, 'failed');
      assert.equal(byId.get(1)?.error?.code, 'payload-too-large');
      assert.equal(byId.get(1)?.attempts, 0);
      const ok = dryRun ? 'validated' : 'sent';
      for (const id of [0, 2, 3]) assert.equal(byId.get(id)?.status, ok, `device ${id}, dry run ${dryRun}`);
      if (dryRun) {
        assert.equal(emulator.apns.notifications.length, 0, 'a dry run delivers nothing');
        assert.deepEqual(
          emulator.fcm.messages.map((m) => [
            m.validateOnly,
            (m.message as { notification: Notification }).notification.title,
          ]),
          [[true, 'n3']],
        );
      } else {
        assert.deepEqual(emulator.apns.notifications.map((n) => n.token).sort(), [
          '0'.repeat(64),
          '2'.repeat(64),
        ]);
      }
    }
  });
});

describe('personalised sends in the engine', () => {
  test('prepare runs once per distinct notification per provider: shared objects, equal objects', async () => {
    const ios = new ScriptedProvider({ name: 'p-ios', platforms: ['ios'] });
    const android = new ScriptedProvider({ name: 'p-android', platforms: ['android'] });
    const client = new PushClient({ providers: [ios, android] });
    const locales: Notification[] = ['en', 'fr', 'de'].map((locale) => ({ title: locale }));
    const devices = (n: number): ScriptedDevice[] =>
      Array.from({ length: n }, (_, id) => ({
        id,
        platform: id % 2 === 0 ? 'ios' : 'android',
        token: `t${id}`,
        script: ['ok'],
      }));

    // The same object for every device of a locale.
    let feedback = await collect(client.send((d: ScriptedDevice) => locales[d.id % 3]!, devices(300)));
    assert.equal(feedback.filter((fb) => fb.status === 'sent').length, 300);
    assert.deepEqual([ios.prepares, android.prepares], [3, 3]);
    for (const fb of feedback)
      assert.deepEqual(ios.sentWith.get(fb.device.id) ?? android.sentWith.get(fb.device.id), [
        locales[fb.device.id % 3],
      ]);

    // A fresh but equal object each time.
    feedback = await collect(client.send((d: ScriptedDevice) => ({ title: `${d.id % 3}` }), devices(300)));
    assert.equal(feedback.filter((fb) => fb.status === 'sent').length, 300);
    assert.deepEqual([ios.prepares, android.prepares], [6, 6]);

    // A different notification for every device: one encoding each, no sharing to be had.
    feedback = await collect(client.send((d: ScriptedDevice) => ({ title: `${d.id}` }), devices(40)));
    assert.equal(feedback.filter((fb) => fb.status === 'sent').length, 40);
    assert.deepEqual([ios.prepares, android.prepares], [26, 26]);

    // A plain notification: prepared once per provider, as always.
    feedback = await collect(client.send({ title: 'all' }, devices(40)));
    assert.deepEqual([ios.prepares, android.prepares], [27, 27]);
    await client.close();
  });

  test('the cache is bounded and forgets the least recently used', () => {
    let prepares = 0;
    const cache = new PreparedCache(() => {
      prepares++;
      return { send: async () => ({ ok: true }) } satisfies PreparedSend;
    });
    const first: Notification = { title: 'first' };
    const kept: Notification = { title: 'kept' };
    cache.get(first);
    cache.get(kept);
    for (let i = 0; i < PREPARED_CACHE_LIMIT - 1; i++) {
      cache.get({ title: `n${i}` });
      cache.get(kept); // used all along: never the least recent
    }
    assert.equal(prepares, PREPARED_CACHE_LIMIT + 1);
    cache.get(kept);
    assert.equal(prepares, PREPARED_CACHE_LIMIT + 1, 'a recently used one is still there');
    cache.get(first);
    assert.equal(prepares, PREPARED_CACHE_LIMIT + 2, 'the least recently used one was dropped');
    // A notification that cannot be serialised is still prepared, by identity.
    const cyclic: Notification & { self?: unknown } = { title: 'loop' };
    cyclic.self = cyclic;
    cache.get(cyclic);
    cache.get(cyclic);
    assert.equal(prepares, PREPARED_CACHE_LIMIT + 3);
  });

  test('when nothing repeats the cache steps aside, and comes back when repeats do', () => {
    let prepares = 0;
    const cache = new PreparedCache(() => {
      prepares++;
      return { send: async () => ({ ok: true }) } satisfies PreparedSend;
    });
    for (let i = 0; i < 3 * PREPARED_CACHE_LIMIT; i++) cache.get({ title: `unique ${i}` });
    assert.equal(prepares, 3 * PREPARED_CACHE_LIMIT);
    assert.equal(cache.prepares, prepares);
    // An equal notification again and again: remembered by one probe, found by the next,
    // then cached again.
    for (let i = 0; i < 500; i++) cache.get({ title: 'again' });
    assert.ok(
      prepares - 3 * PREPARED_CACHE_LIMIT <= 2 * PREPARED_CACHE_PROBE,
      `${prepares - 3 * PREPARED_CACHE_LIMIT} encodings`,
    );
  });

  test('a function that throws or returns no notification fails that device with bad-request, not the send', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider] });
    const shared: Notification = { title: 'ok' };
    const personalise = (d: ScriptedDevice): Notification => {
      switch (d.id % 5) {
        case 1:
          throw new Error(`no name for ${d.id}`);
        case 2:
          return null as unknown as Notification;
        case 3:
          return Promise.resolve(shared) as unknown as Notification;
        case 4:
          return 'title' as unknown as Notification;
        default:
          return shared;
      }
    };
    const feedback = await collect(client.send(personalise, scriptedDevices(50)));
    assert.equal(feedback.length, 50);
    assert.equal(new Set(feedback.map((fb) => fb.device.id)).size, 50);
    for (const fb of feedback) {
      const kind = fb.device.id % 5;
      if (kind === 0) {
        assert.equal(fb.status, 'sent');
        continue;
      }
      assert.equal(fb.status, 'failed');
      assert.equal(fb.error?.code, 'bad-request');
      assert.equal(fb.error?.retryable, false);
      assert.equal(fb.attempts, 0);
      assert.equal(fb.provider, 'scripted');
      const message = fb.error?.message ?? '';
      if (kind === 1) assert.match(message, new RegExp(`threw for this device: no name for ${fb.device.id}`));
      if (kind === 2) assert.match(message, /got null/);
      if (kind === 3) assert.match(message, /returned a promise/);
      if (kind === 4) assert.match(message, /got string/);
    }
    assert.equal(provider.prepares, 1);
    assert.equal(provider.requests, 10);
    await client.close();
  });

  test('a rejected notification fails the devices that got it; the others are sent (single and batched)', async () => {
    for (const batchSize of [1, 4]) {
      const provider = new ScriptedProvider({
        batchSize,
        rejectNotification: (n) =>
          n.title === 'bad' ? new PushError('payload-too-large', 'too big for this provider') : undefined,
      });
      const client = new PushClient({ providers: [provider] });
      const notes: Notification[] = [{ title: 'a' }, { title: 'bad' }, { title: 'b' }];
      const feedback = await collect(
        client.send((d: ScriptedDevice) => notes[d.id % 3]!, scriptedDevices(30)),
      );
      assert.equal(feedback.length, 30);
      for (const fb of feedback) {
        if (fb.device.id % 3 === 1) {
          assert.equal(fb.error?.code, 'payload-too-large');
          assert.equal(fb.attempts, 0);
        } else {
          assert.equal(fb.status, 'sent', `batch ${batchSize}: ${fb.error?.message}`);
          // Batched or not, each request carried the device's own notification.
          assert.deepEqual(provider.sentWith.get(fb.device.id), [notes[fb.device.id % 3]]);
        }
      }
      assert.equal(provider.prepares, 3, 'the bad one is remembered too');
      if (batchSize > 1) assert.ok(provider.batches.every((n) => n <= batchSize));
      await client.close();
    }
  });

  test('a prepare error that would repeat for every notification (config) stops the lane', async () => {
    const provider = new ScriptedProvider({
      rejectNotification: (n) =>
        n.title === 'x3' ? new PushError('config', 'this key cannot sign') : undefined,
    });
    const client = new PushClient({ providers: [provider], window: 2 });
    const feedback: Feedback<ScriptedDevice>[] = await collect(
      client.send((d: ScriptedDevice) => ({ title: `x${d.id}` }), scriptedDevices(10)),
    );
    assert.equal(feedback.length, 10);
    const failed = feedback.filter((fb) => fb.status === 'failed');
    assert.ok(failed.every((fb) => fb.error?.code === 'config'));
    // Devices read after the error are not prepared nor sent.
    assert.deepEqual(
      feedback.filter((fb) => fb.device.id > 3).map((fb) => fb.error?.code),
      Array(6).fill('config'),
    );
    assert.equal(provider.prepares, 4);
    await client.close();
  });

  test('a dry run on a provider that cannot dry-run: its lane fails with config, the function is never called', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider] });
    let calls = 0;
    const feedback = await collect(
      client.send(
        () => {
          calls++;
          return { title: 'x' };
        },
        scriptedDevices(5),
        { dryRun: true },
      ),
    );
    assert.deepEqual(
      feedback.map((fb) => [fb.status, fb.error?.code, fb.attempts]),
      Array(5).fill(['failed', 'config', 0]),
    );
    assert.match(feedback[0]!.error!.message, /cannot dry-run/);
    assert.equal(calls, 0);
    assert.equal(provider.prepares, 0);
    await client.close();
  });

  test('a retry keeps the device its own notification; sessions take a function too', async () => {
    const provider = new ScriptedProvider();
    const client = new PushClient({ providers: [provider], retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    const session = client.session((d: ScriptedDevice) => ({ title: `for ${d.id}` }));
    const done = collect(session);
    for (const device of scriptedDevices(6, (i) => (i % 2 ? ['retry', 'ok'] : ['ok'])))
      await session.push(device);
    session.end();
    const feedback = await done;
    assert.equal(feedback.length, 6);
    for (const fb of feedback) {
      assert.equal(fb.status, 'sent');
      const titles = provider.sentWith.get(fb.device.id)!.map((n) => n.title);
      assert.deepEqual(titles, Array(fb.device.id % 2 ? 2 : 1).fill(`for ${fb.device.id}`));
    }
    await client.close();
  });
});

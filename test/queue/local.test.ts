/**
 * The in-process dispatcher against the emulators: PushClient → apns()/fcm()/webPush() →
 * emulator, with feedback recorded to spool files and served back from them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import {
  apns,
  type Device,
  fcm,
  PushClient,
  type PushClientOptions,
  PushError,
  webPush,
} from '../../src/index.js';
import type { DeviceInput, FeedbackObserver, FeedbackRecord, SendSpec } from '../../src/queue/dispatch.js';
import { LocalDispatcher, type LocalDispatcherOptions } from '../../src/queue/local.js';
import { StoreError } from '../../src/stores/errors.js';

const token = (i: number) => i.toString(16).padStart(8, '0').repeat(8);
const fcmToken = (): string =>
  `${randomBytes(16).toString('base64url')}:APA91b${randomBytes(96).toString('base64url')}`;
const ios = (id: number, extra: Record<string, unknown> = {}): Device => ({
  platform: 'ios',
  token: token(id),
  id,
  ...extra,
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

let emulator: Emulator;
before(async () => {
  emulator = await startEmulator({ apns: { record: false }, fcm: { maxRecorded: 10 } });
});
after(() => emulator.close());

let sequence = 0;
function spec(devices: DeviceInput, extra: Partial<SendSpec> = {}): SendSpec {
  return {
    id: `send-${++sequence}`,
    app: 'main',
    notification: { title: 'Hello', body: 'from the local dispatcher' },
    devices,
    createdAt: new Date().toISOString(),
    ...extra,
  };
}
const inline = (devices: Device[]): DeviceInput => ({ kind: 'inline', devices });

interface Setup {
  client: PushClient;
  dispatcher: LocalDispatcher;
  dir: string;
}

function setup(
  t: TestContext,
  options: Partial<LocalDispatcherOptions> = {},
  clientOptions: Partial<PushClientOptions> = {},
): Setup {
  const client = new PushClient({
    providers: [
      apns(emulator.apns.providerOptions),
      fcm(emulator.fcm.providerOptions),
      webPush(emulator.webpush.providerOptions),
    ],
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...clientOptions,
  });
  const dir = mkdtempSync(join(tmpdir(), 'pushline-local-test-'));
  const dispatcher = new LocalDispatcher({ clients: new Map([['main', client]]), spoolDir: dir, ...options });
  t.after(async () => {
    await dispatcher.close(0);
    await client.destroy();
    emulator.apns.setScenarios({ latencyMs: undefined, unregistered: undefined, sink: undefined });
    rmSync(dir, { recursive: true, force: true });
  });
  return { client, dispatcher, dir };
}

/** A source that yields `first` devices, waits for `release()`, then yields the rest. */
function gatedSource(first: number, total: number) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const state = { pulled: 0 };
  async function* devices(): AsyncGenerator<Device> {
    for (let i = 0; i < total; i++) {
      if (i === first) await gate;
      state.pulled++;
      yield ios(i);
    }
  }
  return { devices, release, state };
}

/** Resolves once `reader` has yielded `count` records; the reader goes on in the background. */
function readUntil(records: AsyncIterable<FeedbackRecord>, count: number) {
  const seen: FeedbackRecord[] = [];
  let reached!: () => void;
  const enough = new Promise<void>((resolve) => {
    reached = resolve;
  });
  const done = (async () => {
    for await (const record of records) {
      seen.push(record);
      if (seen.length === count) reached();
    }
    reached();
    return seen;
  })();
  return { seen, enough, done };
}

describe('LocalDispatcher', () => {
  test('an inline send to every platform: status, counts, recorded feedback', async (t) => {
    const { dispatcher } = setup(t);
    const subscription = emulator.webpush.subscribe();
    const devices: Device[] = [
      ios(1),
      ios(2),
      { platform: 'android', token: fcmToken(), id: 3 },
      { platform: 'web', token: subscription, id: 4 },
      // No HMS provider in this app: not a submit error, the device fails `no-provider`.
      { platform: 'huawei', token: 'hms-token', id: 5 },
    ];
    const accepted = await dispatcher.submit(spec(inline(devices)));
    assert.equal(accepted.app, 'main');
    assert.ok(['queued', 'running'].includes(accepted.state), accepted.state);

    const final = await dispatcher.settled(accepted.id);
    assert.equal(final.state, 'done');
    assert.equal(final.accepted, 5);
    assert.equal(final.counts.total, 5);
    assert.equal(final.counts.sent, 4);
    assert.equal(final.counts.failed, 1);
    assert.deepEqual(final.counts.errors, { 'no-provider': 1 });
    assert.equal(final.counts.providers.apns?.sent, 2);
    assert.equal(final.counts.providers.fcm?.sent, 1);
    assert.equal(final.counts.providers.webpush?.sent, 1);
    assert.ok(final.startedAt && final.finishedAt && final.error === undefined, JSON.stringify(final));
    assert.deepEqual(await dispatcher.status(accepted.id), final);

    const records = await collect(dispatcher.feedback(accepted.id, { follow: false }));
    assert.deepEqual(records.map((record) => record.device.id).sort(), [1, 2, 3, 4, 5]);
    const huawei = records.find((record) => record.device.id === 5)!;
    assert.equal(huawei.status, 'failed');
    assert.equal(huawei.error?.code, 'no-provider');
    const web = records.find((record) => record.device.id === 4)!;
    assert.deepEqual(web.device.token, subscription, 'the device comes back as accepted');
    assert.equal(web.provider, 'webpush');
  });

  test('an unknown app is refused with a config error naming it and the known apps', async (t) => {
    const { dispatcher } = setup(t);
    const refused = spec(inline([ios(1)]), { app: 'nope' });
    await assert.rejects(dispatcher.submit(refused), (error: unknown) => {
      assert.ok(error instanceof PushError, String(error));
      assert.equal(error.code, 'config');
      assert.match(error.message, /'nope'/);
      assert.match(error.message, /'main'/);
      return true;
    });
    assert.equal(await dispatcher.status(refused.id), undefined, 'nothing of it was accepted');
  });

  test('a stream of 100,000 devices: read as it is sent, with flat memory', async (t) => {
    const { dispatcher } = setup(t);
    // Answers 200 at once and keeps nothing per token: the heap measured is the sender's.
    emulator.apns.setScenarios({ sink: true });
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const total = 100_000;
    const read = { count: 0, exhausted: false };
    async function* body(): AsyncGenerator<Device> {
      for (let i = 0; i < total; i++) {
        read.count++;
        // ~300 bytes a device: 100,000 of them held at once would be ~30 MB more.
        yield ios(i, { user: `user-${i}`, note: 'n'.repeat(200) });
      }
      read.exhausted = true;
    }
    gc();
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    const sampler = setInterval(() => {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 500);
    t.after(() => clearInterval(sampler));

    const submitted = spec({ kind: 'stream', devices: body() });
    const accepted = await dispatcher.submit(submitted);
    assert.ok(read.exhausted, 'submit resolves once the stream is read to its end');
    assert.equal(accepted.accepted, total);
    const final = await dispatcher.settled(submitted.id);
    clearInterval(sampler);
    gc();
    const kept = process.memoryUsage().heapUsed - base;
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    assert.equal(final.state, 'done');
    assert.equal(final.counts.sent, total);

    const MB = 1024 * 1024;
    t.diagnostic(`heap: peak +${((peak - base) / MB).toFixed(1)} MB, kept +${(kept / MB).toFixed(1)} MB`);
    assert.ok(peak - base < 16 * MB, `peak heap growth ${((peak - base) / MB).toFixed(1)} MB`);
    assert.ok(kept < 8 * MB, `heap kept after the send ${(kept / MB).toFixed(1)} MB`);

    let count = 0;
    const ids = new Set<number>();
    for await (const record of dispatcher.feedback(submitted.id)) {
      count++;
      ids.add(record.device.id as number);
    }
    assert.equal(count, total, 'every device read has one recorded feedback');
    assert.equal(ids.size, total);
  });

  test('feedback: read from the start while running (early, late, slow readers) and after', async (t) => {
    const source = gatedSource(100, 250);
    t.after(source.release);
    const { dispatcher } = setup(t, { sources: () => source.devices() });
    const submitted = spec({ kind: 'source', database: 'main', query: 'SELECT …' });
    const accepted = await dispatcher.submit(submitted);
    assert.equal(accepted.accepted, 0, 'a source is read after submit, not before');

    const early = readUntil(dispatcher.feedback(submitted.id), 100);
    const slowIterator = dispatcher.feedback(submitted.id)[Symbol.asyncIterator]();
    const slowFirst = await slowIterator.next();
    assert.equal(slowFirst.done, false);
    await early.enough;
    assert.equal((await dispatcher.status(submitted.id))?.state, 'running');
    // What is recorded now, and no more: the send is held at 100 devices.
    const now = await collect(dispatcher.feedback(submitted.id, { follow: false }));
    assert.equal(now.length, 100);
    // A reader that comes late, while the send runs: it too gets everything from the first record.
    const late = readUntil(dispatcher.feedback(submitted.id), 250);
    source.release();

    // The slow reader took one record and then nothing: the send still settles.
    const final = await dispatcher.settled(submitted.id);
    assert.equal(final.state, 'done');
    assert.equal(final.accepted, 250);
    const slow = [slowFirst.value as FeedbackRecord];
    for (let next = await slowIterator.next(); !next.done; next = await slowIterator.next())
      slow.push(next.value);

    const afterwards = await collect(dispatcher.feedback(submitted.id));
    const order = afterwards.map((record) => record.device.id);
    assert.equal(order.length, 250);
    assert.equal(new Set(order).size, 250);
    for (const reader of [await early.done, await late.done, slow]) {
      assert.deepEqual(
        reader.map((record) => record.device.id),
        order,
        'every reader gets every record, in recording order',
      );
    }
  });

  test('feedback filtered by status', async (t) => {
    const { dispatcher } = setup(t);
    emulator.apns.setScenarios({ unregistered: [token(2), token(3)] });
    const devices: Device[] = [
      ios(1),
      ios(2),
      ios(3),
      ios(4),
      { platform: 'huawei', token: 'x', id: 5 },
      { platform: 'ios', token: token(6), id: 6, malformed: 'line 6: not valid JSON' },
    ];
    const submitted = spec(inline(devices));
    await dispatcher.submit(submitted);
    await dispatcher.settled(submitted.id);
    const ids = async (status?: FeedbackRecord['status'][]) =>
      (await collect(dispatcher.feedback(submitted.id, status ? { status } : {})))
        .map((record) => record.device.id)
        .sort();
    assert.deepEqual(await ids(['invalid-token']), [2, 3]);
    assert.deepEqual(await ids(['failed']), [5, 6]);
    assert.deepEqual(await ids(['sent', 'invalid-token']), [1, 2, 3, 4]);
    assert.deepEqual(await ids([]), [], 'no status asked, none given');
    assert.deepEqual(await ids(), [1, 2, 3, 4, 5, 6]);
  });

  test('idempotency: the same key never sends twice, and is remembered for its time, bounded', async (t) => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const { dispatcher } = setup(t, {
      now: () => clock,
      retentionMs: 60_000,
      idempotency: { ttlMs: 3_600_000, maxKeys: 4 },
    });
    emulator.apns.reset();
    const first = await dispatcher.submit(spec(inline([ios(1), ios(2)]), { idempotencyKey: 'k1' }));
    const again = await dispatcher.submit(spec(inline([ios(1), ios(2)]), { idempotencyKey: 'k1' }));
    assert.equal(again.id, first.id, 'the retry answers with the first send');
    await dispatcher.settled(first.id);

    // Two at once with one key, stream inputs: one send, the duplicate's body is never read.
    const opened = { a: 0, b: 0 };
    async function* body(name: 'a' | 'b'): AsyncGenerator<Device> {
      opened[name]++;
      yield ios(10);
    }
    const [a, b] = await Promise.all([
      dispatcher.submit(spec({ kind: 'stream', devices: body('a') }, { idempotencyKey: 'k2' })),
      dispatcher.submit(spec({ kind: 'stream', devices: body('b') }, { idempotencyKey: 'k2' })),
    ]);
    assert.equal(a.id, b.id);
    assert.deepEqual(opened, { a: 1, b: 0 });
    await dispatcher.settled(a.id);
    assert.equal(emulator.apns.stats().accepted, 3, 'two devices once, one device once');

    // Another API key's same key is another send.
    const other = await dispatcher.submit(
      spec(inline([ios(20)]), { idempotencyKey: 'k1', submittedBy: 'key-2' }),
    );
    assert.notEqual(other.id, first.id);
    await dispatcher.settled(other.id);

    // A refused submit does not take its key.
    await assert.rejects(dispatcher.submit(spec(inline([ios(30)]), { idempotencyKey: 'k3', app: 'nope' })));
    const k3 = await dispatcher.submit(spec(inline([ios(30)]), { idempotencyKey: 'k3' }));
    assert.equal(k3.accepted + (await dispatcher.settled(k3.id)).accepted, 1);

    // The send is forgotten after its retention; its key still answers with its last status.
    clock += 61_000;
    assert.equal(await dispatcher.status(first.id), undefined);
    const remembered = await dispatcher.submit(spec(inline([ios(1)]), { idempotencyKey: 'k1' }));
    assert.equal(remembered.id, first.id);
    assert.equal(remembered.state, 'done');
    assert.equal(remembered.accepted, 2);

    // Past the key's time it is a new send.
    clock += 3_600_000;
    const fresh = await dispatcher.submit(spec(inline([ios(1)]), { idempotencyKey: 'k1' }));
    assert.notEqual(fresh.id, first.id);
    await dispatcher.settled(fresh.id);

    // At most 4 keys: the oldest (this 'k1', now 5 keys back) is forgotten first.
    for (const key of ['k4', 'k5', 'k6', 'k7']) {
      await dispatcher.settled(
        (await dispatcher.submit(spec(inline([ios(40)]), { idempotencyKey: key }))).id,
      );
    }
    const k4 = await dispatcher.submit(spec(inline([ios(40)]), { idempotencyKey: 'k4' }));
    const k1 = await dispatcher.submit(spec(inline([ios(1)]), { idempotencyKey: 'k1' }));
    assert.notEqual(k1.id, fresh.id, 'the oldest key was forgotten');
    assert.equal((await dispatcher.status(k4.id))?.accepted, 1);
    await dispatcher.settled(k1.id);
  });

  test('abort: no new device is sent, each unanswered one (read or not) is recorded aborted', async (t) => {
    const { dispatcher } = setup(t, { maxConcurrent: 1 }, { window: 20 });
    emulator.apns.setScenarios({ latencyMs: 100 });
    const devices = Array.from({ length: 2000 }, (_, i) => ios(i));
    const running = spec(inline(devices));
    const waiting = spec(inline([ios(1)]));
    await dispatcher.submit(running);
    assert.equal((await dispatcher.submit(waiting)).state, 'queued', 'behind maxConcurrent: 1');

    // A queued send aborts at once, having sent nothing: its inline device, accepted by the
    // 202, is recorded aborted.
    assert.equal(await dispatcher.abort(waiting.id, 'changed my mind'), true);
    const waited = await dispatcher.settled(waiting.id);
    assert.equal(waited.state, 'aborted');
    assert.equal(waited.accepted, 1);
    assert.equal(waited.counts.errors.aborted, 1);
    assert.equal(waited.counts.sent, 0);
    assert.match(waited.error?.message ?? '', /changed my mind/);

    const first = readUntil(dispatcher.feedback(running.id), 1);
    await first.enough;
    assert.equal(await dispatcher.abort(running.id, 'operator request'), true);
    const final = await dispatcher.settled(running.id);
    assert.equal(final.state, 'aborted');
    assert.equal(final.error?.code, 'aborted');
    assert.ok(final.counts.sent < devices.length, `sent ${final.counts.sent} of ${devices.length}`);
    assert.equal(final.accepted, devices.length, 'inline devices were all accepted');
    assert.equal(final.counts.total, final.accepted);
    const records = await first.done;
    assert.equal(records.length, devices.length, 'every device has exactly one record');
    assert.equal(new Set(records.map((r) => r.device['id'])).size, devices.length);
    assert.ok(
      records.some((record) => record.error?.code === 'aborted'),
      'some devices were answered aborted',
    );
    assert.equal(final.counts.errors.aborted, records.filter((r) => r.error?.code === 'aborted').length);
    assert.equal(await dispatcher.abort(running.id), false, 'already settled');
    assert.equal(await dispatcher.abort('no-such-send'), false);
  });

  test('close: stops reading, lets what was read finish within the grace period, loses nothing', async (t) => {
    const seen = new Map<string, Set<unknown>>();
    let twice = 0;
    const observer: FeedbackObserver = {
      observe(send, feedback) {
        const ids = seen.get(send.id) ?? new Set();
        seen.set(send.id, ids);
        if (ids.has(feedback.device.id)) twice++;
        ids.add(feedback.device.id);
      },
    };
    let closed = 0;
    const source = gatedSource(1_000_000, 1_000_000); // never runs dry
    const { dispatcher, dir } = setup(
      t,
      {
        sources: () => source.devices(),
        observers: [observer, { observe() {}, close: async () => void closed++ }],
      },
      { window: 20 },
    );
    emulator.apns.setScenarios({ latencyMs: 200 });
    const endless = spec({ kind: 'source', database: 'main', query: 'q' });
    const small = spec(inline([ios(1), ios(2)]));
    await dispatcher.submit(endless);
    await dispatcher.submit(small);
    const follower = readUntil(dispatcher.feedback(endless.id), 1);
    await follower.enough;

    await dispatcher.close(30_000);
    await assert.rejects(dispatcher.submit(spec(inline([ios(3)]))), (error: unknown) => {
      assert.ok(error instanceof PushError, String(error));
      assert.equal(error.code, 'unavailable');
      assert.match(error.message, /shutting down/);
      return true;
    });
    const stopped = (await dispatcher.status(endless.id))!;
    assert.equal(stopped.state, 'aborted', 'its source was not read to its end');
    assert.match(stopped.error?.message ?? '', /shut down/);
    assert.equal(stopped.counts.total, stopped.accepted);
    assert.equal(stopped.counts.sent, stopped.accepted, 'what was read was sent, not cut short');
    assert.equal(seen.get(endless.id)?.size, stopped.accepted);
    const finished = (await dispatcher.status(small.id))!;
    assert.equal(finished.state, 'done', 'a send fully read finishes as usual');
    assert.equal(seen.get(small.id)?.size, 2);
    assert.equal(twice, 0, 'each device observed once');
    assert.equal(closed, 1, 'observers are closed');
    // A follower reading when the dispatcher closed gets every line recorded, then its file goes.
    assert.equal((await follower.done).length, stopped.accepted);
    assert.deepEqual(readdirSync(dir), [], 'the feedback files are deleted');
    await assert.rejects(collect(dispatcher.feedback(small.id)), { code: 'closed' });
  });

  test('close: inline sends, accepted in full, all run through the grace period (queued ones too)', async (t) => {
    const seen = new Map<string, Set<unknown>>();
    let twice = 0;
    const observer: FeedbackObserver = {
      observe(send, feedback) {
        const ids = seen.get(send.id) ?? new Set();
        seen.set(send.id, ids);
        if (ids.has(feedback.device.id)) twice++;
        ids.add(feedback.device.id);
      },
    };
    const { dispatcher } = setup(t, { observers: [observer], maxConcurrent: 1 }, { window: 20 });
    emulator.apns.setScenarios({ latencyMs: 50 });
    const big = spec(inline(Array.from({ length: 300 }, (_, i) => ios(i))));
    const waiting = spec(inline([ios(1000), ios(1001)]));
    await dispatcher.submit(big);
    await dispatcher.submit(waiting);
    assert.equal((await dispatcher.status(waiting.id))?.state, 'queued');
    // Still reading its array (a window of 20 with 50 ms per push) when the shutdown starts.
    await readUntil(dispatcher.feedback(big.id), 1).enough;
    await dispatcher.close(30_000);
    for (const [send, count] of [
      [big, 300],
      [waiting, 2],
    ] as const) {
      const final = (await dispatcher.status(send.id))!;
      assert.equal(final.state, 'done', `${send.id}: ${final.error?.message ?? ''}`);
      assert.equal(final.counts.sent, count, 'every accepted device was sent');
      assert.equal(seen.get(send.id)?.size, count);
    }
    assert.equal(twice, 0, 'each device observed once');
  });

  test('close: past the grace period an inline send records every device, the unread ones aborted', async (t) => {
    const seen = new Set<unknown>();
    let twice = 0;
    const observer: FeedbackObserver = {
      observe(_send, feedback) {
        if (seen.has(feedback.device.id)) twice++;
        seen.add(feedback.device.id);
      },
    };
    const { dispatcher } = setup(t, { observers: [observer] }, { window: 20 });
    emulator.apns.setScenarios({ latencyMs: 2000 });
    const big = spec(inline(Array.from({ length: 500 }, (_, i) => ios(i))));
    await dispatcher.submit(big);
    await sleep(100);
    await dispatcher.close(50);
    const final = (await dispatcher.status(big.id))!;
    assert.equal(final.state, 'aborted');
    assert.equal(final.accepted, 500);
    assert.equal(final.counts.total, 500);
    assert.equal(final.counts.errors.aborted, 500, 'nothing was answered within the grace period');
    assert.equal(seen.size, 500, 'every accepted device is observed');
    assert.equal(twice, 0);
  });

  test('close: past the grace period what is in flight is aborted, each device still recorded once', async (t) => {
    let observed = 0;
    const source = gatedSource(1_000_000, 1_000_000);
    const { dispatcher } = setup(
      t,
      { sources: () => source.devices(), observers: [{ observe: () => void observed++ }] },
      { window: 20 },
    );
    emulator.apns.setScenarios({ latencyMs: 5000 });
    const endless = spec({ kind: 'source', database: 'main', query: 'q' });
    await dispatcher.submit(endless);
    while (source.state.pulled < 20) await sleep(10);
    await dispatcher.close(50);
    const final = (await dispatcher.status(endless.id))!;
    assert.equal(final.state, 'aborted');
    assert.ok(final.accepted >= 20, `read ${final.accepted}`);
    assert.equal(final.counts.total, final.accepted);
    assert.equal(final.counts.errors.aborted, final.accepted, 'each in-flight device is recorded aborted');
    assert.equal(observed, final.accepted);
  });

  test('close: a source stuck in a read does not hold the shutdown; what it gave is recorded', {
    timeout: 30_000,
  }, async (t) => {
    let observed = 0;
    const source = gatedSource(30, 1_000_000); // stops answering after 30 devices
    t.after(source.release);
    const { dispatcher } = setup(
      t,
      { sources: () => source.devices(), observers: [{ observe: () => void observed++ }] },
      { window: 20 },
    );
    const stuck = spec({ kind: 'source', database: 'main', query: 'q' });
    await dispatcher.submit(stuck);
    await readUntil(dispatcher.feedback(stuck.id), 30).enough;
    await dispatcher.close(50);
    const final = (await dispatcher.status(stuck.id))!;
    assert.equal(final.state, 'aborted');
    assert.equal(final.accepted, 30);
    assert.equal(final.counts.total, 30);
    assert.equal(observed, 30);
  });

  test('a source that fails mid-way: the send is failed, with its code and no secret', async (t) => {
    async function* broken(): AsyncGenerator<Device> {
      for (let i = 0; i < 5; i++) yield ios(i);
      throw new StoreError(
        'store-read',
        'lost the connection to postgres://pushline:hunter2-secret@db.example/devices',
      );
    }
    const { dispatcher } = setup(t, {
      sources: (database) => {
        if (database !== 'main') throw new PushError('config', `no database '${database}' in the config`);
        return broken();
      },
    });
    await assert.rejects(
      dispatcher.submit(spec({ kind: 'source', database: 'other', query: 'q' })),
      (error: unknown) =>
        error instanceof PushError && error.code === 'config' && /'other'/.test(error.message),
    );
    const submitted = spec({ kind: 'source', database: 'main', query: 'q' });
    await dispatcher.submit(submitted);
    const final = await dispatcher.settled(submitted.id);
    assert.equal(final.state, 'failed');
    assert.equal(final.error?.code, 'store-read');
    assert.match(final.error?.message ?? '', /lost the connection/);
    assert.doesNotMatch(JSON.stringify(final), /hunter2/);
    assert.equal(final.accepted, 5);
    assert.equal(final.counts.sent, 5, 'the devices read before the failure are sent');
    assert.equal((await collect(dispatcher.feedback(submitted.id))).length, 5);

    // A stream body that breaks: submit resolves (some was accepted), the error shows at once.
    async function* cut(): AsyncGenerator<Device> {
      yield ios(1);
      throw new PushError('bad-request', 'the request body ended early');
    }
    const streamed = spec({ kind: 'stream', devices: cut() });
    const accepted = await dispatcher.submit(streamed);
    assert.equal(accepted.accepted, 1);
    assert.equal(accepted.error?.code, 'bad-request');
    assert.equal((await dispatcher.settled(streamed.id)).state, 'failed');
  });

  test('observers: each sees every final feedback once, and a slow one holds the send back', async (t) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let blocked!: () => void;
    const isBlocked = new Promise<void>((resolve) => {
      blocked = resolve;
    });
    const slowIds: unknown[] = [];
    let inObserve = 0;
    let maxInObserve = 0;
    let flushed = 0;
    const slow: FeedbackObserver = {
      async observe(_send, feedback) {
        inObserve++;
        maxInObserve = Math.max(maxInObserve, inObserve);
        slowIds.push(feedback.device.id);
        if (slowIds.length === 1) {
          blocked();
          await released;
        }
        inObserve--;
      },
      flush: async () => void flushed++,
    };
    const syncIds: unknown[] = [];
    const sync: FeedbackObserver = { observe: (_send, feedback) => void syncIds.push(feedback.device.id) };
    const broken: FeedbackObserver = {
      observe() {
        throw new Error('metrics are broken');
      },
    };
    const reported: string[] = [];
    const total = 3000;
    const source = gatedSource(total, total);
    const { dispatcher } = setup(
      t,
      {
        sources: () => source.devices(),
        observers: [slow, sync, broken],
        onError: (error, context) => reported.push(`${context.during}: ${(error as Error).message}`),
      },
      { window: 50 },
    );
    const submitted = spec({ kind: 'source', database: 'main', query: 'q' });
    await dispatcher.submit(submitted);
    await isBlocked;
    await sleep(300);
    // One window in the lane, one window of feedback waiting to be taken, and a few in hand.
    assert.ok(source.state.pulled <= 150, `read ${source.state.pulled} devices while the observer held`);
    release();
    const final = await dispatcher.settled(submitted.id);
    assert.equal(final.state, 'done');
    assert.equal(final.accepted, total);
    assert.equal(slowIds.length, total);
    assert.equal(new Set(slowIds).size, total);
    assert.deepEqual(syncIds, slowIds, 'every observer sees the same feedback, in the same order');
    assert.equal(maxInObserve, 1, 'one feedback at a time');
    assert.equal(flushed, 1, 'flushed when the send ends');
    assert.deepEqual(reported, ['observing feedback: metrics are broken'], 'reported once, the send goes on');
  });

  test('retention: a settled send is forgotten after its time or past maxKept, its file deleted', async (t) => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const { dispatcher, dir } = setup(t, { now: () => clock, retentionMs: 10_000, maxKept: 2 });
    const ids: string[] = [];
    // Sends large enough to have a feedback file (a spool keeps its first 16 KiB in memory).
    const devices = (i: number) => Array.from({ length: 200 }, (_, j) => ios(i * 1000 + j));
    for (let i = 0; i < 3; i++) {
      const status = await dispatcher.submit(spec(inline(devices(i))));
      await dispatcher.settled(status.id);
      ids.push(status.id);
      clock += 1000;
    }
    assert.equal(await dispatcher.status(ids[0]!), undefined, 'past maxKept: the oldest goes');
    assert.ok(await dispatcher.status(ids[1]!), 'the newer ones are kept');
    await sleep(20); // the deletion runs in the background
    assert.equal(readdirSync(dir).length, 2);
    clock += 8_500;
    assert.equal(await dispatcher.status(ids[1]!), undefined, 'past its retention');
    assert.ok(await dispatcher.status(ids[2]!), 'a newer one is kept');
    await assert.rejects(collect(dispatcher.feedback(ids[1]!)), /no send/);
    await assert.rejects(dispatcher.settled(ids[1]!), /no send/);
    await sleep(20);
    assert.equal(readdirSync(dir).length, 1);
  });
});

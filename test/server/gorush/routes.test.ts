/**
 * gorush's routes on a Fastify instance with a fake Dispatcher: what a gorush client sends,
 * what it gets back (bytes), what is submitted, sync mode, the 400s, and the counters.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import swagger from '@fastify/swagger';
import fastify from 'fastify';
import type { Device } from '../../../src/device.js';
import { PushError } from '../../../src/errors.js';
import type {
  Dispatcher,
  FeedbackQuery,
  FeedbackRecord,
  SendCounts,
  SendSpec,
  SendStatus,
} from '../../../src/queue/dispatch.js';
import type { GorushApp } from '../../../src/server/gorush/mapping.js';
import { GORUSH_METRICS } from '../../../src/server/gorush/metrics-names.js';
import {
  type GorushDeps,
  type GorushSettings,
  gorushDirectory,
  gorushRoutes,
} from '../../../src/server/gorush/routes.js';
import { GorushStats, stopGoStats } from '../../../src/server/gorush/stats.js';
import { README_EXAMPLES } from './readme-examples.js';

/** Tokens starting with `dead` are invalid, `fail` fail; the rest are sent. */
function outcome(device: Device): FeedbackRecord {
  const token = String(device.token);
  if (token.startsWith('dead')) {
    return {
      device,
      status: 'invalid-token',
      attempts: 1,
      error: { code: 'invalid-token', message: 'APNs says the token is dead', reason: 'BadDeviceToken' },
    };
  }
  if (token.startsWith('fail')) {
    return {
      device,
      status: 'failed',
      attempts: 1,
      error: { code: 'unavailable', message: 'connection reset' },
    };
  }
  return { device, status: 'sent', attempts: 1 };
}

class FakeDispatcher implements Dispatcher {
  readonly specs: SendSpec[] = [];
  readonly #records = new Map<string, FeedbackRecord[]>();
  /** Sends settle when this resolves. */
  gate: Promise<void> = Promise.resolve();
  /** submit() rejects with this when set. */
  refuse: Error | undefined;
  /** feedback() throws this after its first record when set. */
  feedbackBreaks: Error | undefined;
  /** The state sends settle in. */
  finalState: SendStatus['state'] = 'done';

  #status(spec: SendSpec, state: SendStatus['state']): SendStatus {
    const records = this.#records.get(spec.id) ?? [];
    const counts: SendCounts = {
      total: records.length,
      sent: records.filter((r) => r.status === 'sent').length,
      validated: 0,
      invalidToken: records.filter((r) => r.status === 'invalid-token').length,
      failed: records.filter((r) => r.status === 'failed').length,
      errors: {},
      providers: {},
      retries: 0,
      maybeDelivered: 0,
      maybeDuplicates: 0,
    };
    return { id: spec.id, app: spec.app, state, accepted: records.length, counts, createdAt: spec.createdAt };
  }

  async submit(spec: SendSpec): Promise<SendStatus> {
    if (this.refuse) throw this.refuse;
    assert.equal(spec.devices.kind, 'inline');
    this.specs.push(spec);
    this.#records.set(
      spec.id,
      (spec.devices as { devices: Device[] }).devices.map((d) => outcome(d)),
    );
    return this.#status(spec, 'running');
  }

  async status(id: string): Promise<SendStatus | undefined> {
    const spec = this.specs.find((s) => s.id === id);
    return spec && this.#status(spec, 'running');
  }

  async settled(id: string): Promise<SendStatus> {
    await this.gate;
    const spec = this.specs.find((s) => s.id === id);
    assert.ok(spec, `unknown send ${id}`);
    return this.#status(spec, this.finalState);
  }

  async *feedback(id: string, query?: FeedbackQuery): AsyncIterable<FeedbackRecord> {
    await this.gate;
    for (const record of this.#records.get(id) ?? []) {
      if (!query?.status || query.status.includes(record.status)) yield record;
      if (this.feedbackBreaks) throw this.feedbackBreaks;
    }
  }

  async abort(): Promise<boolean> {
    return false;
  }

  async close(): Promise<void> {}
}

const APPS: GorushApp[] = [
  {
    name: 'main',
    platforms: ['ios', 'android', 'huawei'],
    apnsTopics: ['com.example.app'],
    apnsProduction: true,
  },
  { name: 'sandbox', platforms: ['ios'], apnsTopics: ['com.example.app'], apnsProduction: false },
];

async function setup(
  t: TestContext,
  options: { settings?: Partial<GorushSettings>; deps?: Partial<GorushDeps> } = {},
) {
  const dispatcher = new FakeDispatcher();
  const stats = new GorushStats();
  let n = 0;
  const app = fastify();
  t.after(() => app.close());
  t.after(() => stopGoStats());
  await app.register(gorushRoutes, {
    dispatcher,
    directory: { apps: APPS, defaultApp: 'main' },
    settings: { sync: false, maxNotification: 100, maskTokens: true, ...options.settings },
    stats,
    newId: () => `send-${++n}`,
    version: '1.0.0-test',
    ...options.deps,
  });
  const push = (payload: unknown, query = '') =>
    app.inject({ method: 'POST', url: `/api/push${query}`, payload: payload as object });
  return { app, dispatcher, stats, push };
}

const DEVICES = (spec: SendSpec) => (spec.devices as { devices: Device[] }).devices.map((d) => d.token);

describe('POST /api/push: every example of gorush README', () => {
  for (const example of README_EXAMPLES) {
    it(example.name, async (t) => {
      const { push, dispatcher } = await setup(t);
      const res = await push(example.body);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(res.body, `{"counts":${example.counts},"logs":[],"success":"ok"}`);
      assert.deepEqual(dispatcher.specs.map(DEVICES), example.devices);
      // The HMS block and FCM topic of each send (APNs and FCM payloads: emulators.test.ts).
      for (const [i, expected] of example.delivered.entries()) {
        const notification = dispatcher.specs[i]!.notification;
        if (expected.hms) assert.deepEqual((notification as { hms?: unknown }).hms, expected.hms);
        if (expected.fcmTopic) assert.equal(notification.fcm?.topic, expected.fcmTopic);
      }
    });
  }

  it('production / development go to the apps of those environments', async (t) => {
    const { push, dispatcher } = await setup(t);
    const example = README_EXAMPLES.find((e) => e.name === 'iOS Example: production and development')!;
    await push(example.body);
    assert.deepEqual(
      dispatcher.specs.map((s) => s.app),
      ['main', 'sandbox'],
    );
  });

  it('accepts the body whatever the Content-Type (curl -d without -H), as gin does', async (t) => {
    const { app } = await setup(t);
    const res = await app.inject({
      method: 'POST',
      url: '/api/push',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: JSON.stringify({ notifications: [{ tokens: ['a'], platform: 2, message: 'm' }] }),
    });
    assert.equal(res.body, '{"counts":1,"logs":[],"success":"ok"}');
  });

  it('answers X-GORUSH-VERSION', async (t) => {
    const { push } = await setup(t);
    const res = await push({ notifications: [{ tokens: ['a'], platform: 2 }] });
    assert.equal(res.headers['x-gorush-version'], '1.0.0-test');
  });
});

describe("POST /api/push: gorush's three 400s", () => {
  const MISSING = '{"code":400,"message":"Missing notifications field."}';

  it('no body, not JSON, no notifications, a wrong type: "Missing notifications field."', async (t) => {
    const { app, push, dispatcher } = await setup(t);
    const none = await app.inject({ method: 'POST', url: '/api/push' });
    assert.equal(none.statusCode, 400);
    assert.equal(none.body, MISSING);
    const notJson = await app.inject({
      method: 'POST',
      url: '/api/push',
      headers: { 'content-type': 'application/json' },
      payload: '{"notifications": [',
    });
    assert.equal(notJson.body, MISSING);
    assert.equal((await push({})).body, MISSING);
    const wrongType = await push({ notifications: [{ tokens: ['a'], platform: 1, mutable_content: 1 }] });
    assert.equal(wrongType.statusCode, 400);
    assert.equal(wrongType.body, MISSING);
    assert.match(String(wrongType.headers['x-pushline-problem']), /mutable_content/);
    assert.equal(dispatcher.specs.length, 0);
  });

  it('an empty list: "Notifications field is empty."', async (t) => {
    const { push } = await setup(t);
    const res = await push({ notifications: [] });
    assert.equal(res.statusCode, 400);
    assert.equal(res.body, '{"code":400,"message":"Notifications field is empty."}');
  });

  it('more than max_notification: "Number of notifications(N) over limit(M)", nothing sent', async (t) => {
    const { push, dispatcher } = await setup(t, { settings: { maxNotification: 2 } });
    const one = { tokens: ['a'], platform: 2, message: 'm' };
    assert.equal((await push({ notifications: [one, one] })).statusCode, 200);
    const res = await push({ notifications: [one, one, one] });
    assert.equal(res.statusCode, 400);
    assert.equal(res.body, '{"code":400,"message":"Number of notifications(3) over limit(2)"}');
    assert.equal(dispatcher.specs.length, 2);
  });
});

describe('POST /api/push: sync mode and logs', () => {
  const TOKEN_DEAD = 'dead-0123456789-abcdefghij';
  const BODY = {
    notifications: [
      { notif_id: 'n-ios', tokens: ['ok-ios', TOKEN_DEAD], platform: 1, message: 'Hello World iOS!' },
      { tokens: ['fail-android-1234567890'], platform: 2, message: 'Hello World Android!' },
    ],
  };

  it('?sync=true waits and returns the failures only, tokens masked, as gorush log entries', async (t) => {
    const { push } = await setup(t);
    const res = await push(BODY, '?sync=true');
    assert.equal(res.statusCode, 200);
    assert.equal(
      res.body,
      '{"counts":3,"logs":[' +
        '{"notif_id":"n-ios","type":"failed-push","platform":"ios","token":"**********56789-**********","message":"Hello World iOS!","error":"BadDeviceToken"},' +
        '{"type":"failed-push","platform":"android","token":"**********id-**********","message":"Hello World Android!","error":"connection reset"}' +
        '],"success":"ok"}',
    );
  });

  it('sync from the settings; masking off shows tokens', async (t) => {
    const { push } = await setup(t, { settings: { sync: true, maskTokens: false } });
    const res = await push(BODY);
    const logs = (JSON.parse(res.body) as { logs: Array<{ token: string }> }).logs;
    assert.deepEqual(
      logs.map((l) => l.token),
      [TOKEN_DEAD, 'fail-android-1234567890'],
    );
    // ?sync=false overrides the setting.
    assert.equal((await push(BODY, '?sync=false')).body, '{"counts":3,"logs":[],"success":"ok"}');
  });

  it('async answers before any send settles', async (t) => {
    const { push, dispatcher } = await setup(t);
    let release!: () => void;
    dispatcher.gate = new Promise((resolve) => {
      release = resolve;
    });
    t.after(() => release());
    const res = await push(BODY);
    assert.equal(res.body, '{"counts":3,"logs":[],"success":"ok"}');
    assert.equal(dispatcher.specs.length, 2);
  });

  it('a notification gorush would fail in its worker: counted, not sent, failed per target in sync logs', async (t) => {
    const { push, dispatcher } = await setup(t);
    const res = await push(
      { notifications: [{ tokens: ['t1'], topic: 'com.unknown', platform: 1, message: 'm' }] },
      '?sync=true',
    );
    const body = JSON.parse(res.body) as { counts: number; logs: Array<{ error: string; token: string }> };
    assert.equal(body.counts, 2);
    assert.equal(body.logs.length, 2);
    assert.match(body.logs[0]!.error, /APNs topic 'com.unknown'/);
    assert.equal(dispatcher.specs.length, 0);
  });

  it('a send the dispatcher refuses fails each device with its reason, in async mode too', async (t) => {
    const { push, dispatcher, app } = await setup(t);
    dispatcher.refuse = new Error('the queue is unavailable');
    const res = await push({ notifications: [{ tokens: ['a', 'b'], platform: 2, message: 'm' }] });
    const body = JSON.parse(res.body) as { counts: number; logs: Array<{ error: string }> };
    assert.equal(body.counts, 2);
    assert.deepEqual(
      body.logs.map((l) => l.error),
      ['the queue is unavailable', 'the queue is unavailable'],
    );
    const stats = JSON.parse((await app.inject({ url: '/api/stat/app' })).body);
    assert.deepEqual(stats.android, { push_success: 0, push_error: 2 });
    assert.equal(stats.failure_tasks, 1);
  });

  it('a busy dispatcher (unavailable) that takes nothing of the request: 503 with Retry-After, not 200', async (t) => {
    const { push, dispatcher } = await setup(t);
    dispatcher.refuse = new PushError('unavailable', 'the queue is full (1000 sends waiting)');
    for (const query of ['', '?sync=true']) {
      const res = await push(
        {
          notifications: [
            { tokens: ['a', 'b'], platform: 2, message: 'm' },
            { tokens: ['c'], platform: 2, message: 'n' },
          ],
        },
        query,
      );
      assert.equal(res.statusCode, 503, `sync ${query !== ''}`);
      assert.equal(res.headers['retry-after'], '1');
      assert.deepEqual(JSON.parse(res.body), {
        code: 503,
        message: 'The server is busy: nothing was sent. Retry later.',
      });
    }
  });

  it('busy for one notification of two: 200, the refused one in logs (the other was sent)', async (t) => {
    const { push, dispatcher } = await setup(t);
    const original = dispatcher.submit.bind(dispatcher);
    let calls = 0;
    dispatcher.submit = async (spec) => {
      calls++;
      if (calls === 2) throw new PushError('unavailable', 'the queue is full');
      return original(spec);
    };
    const res = await push({
      notifications: [
        { tokens: ['a'], platform: 2, message: 'm' },
        { tokens: ['b'], platform: 2, message: 'n' },
      ],
    });
    assert.equal(res.statusCode, 200);
    const body = JSON.parse(res.body) as { logs: Array<{ token: string; error: string }> };
    assert.deepEqual(
      body.logs.map((l) => l.error),
      ['the queue is full'],
    );
  });

  it('a feedback stream that breaks: the answer keeps what was read', async (t) => {
    const { push, dispatcher } = await setup(t);
    dispatcher.feedbackBreaks = new Error('redis connection lost');
    const res = await push({ notifications: [{ tokens: ['dead-1', 'dead-2'], platform: 2 }] }, '?sync=true');
    assert.equal(res.statusCode, 200);
    assert.equal((JSON.parse(res.body) as { logs: unknown[] }).logs.length, 1);
  });

  it('an unknown platform is neither sent nor counted', async (t) => {
    const { push, dispatcher } = await setup(t);
    const res = await push({
      notifications: [
        { tokens: ['a'], platform: 7 },
        { tokens: ['b'], platform: 2 },
      ],
    });
    assert.equal(res.body, '{"counts":1,"logs":[],"success":"ok"}');
    assert.equal(dispatcher.specs.length, 1);
  });
});

describe('POST /api/push: the server hooks', () => {
  it('authorize sees every app before anything is submitted, and can refuse the request', async (t) => {
    const seen: string[][] = [];
    const { push, dispatcher } = await setup(t, {
      deps: {
        authorize: (_request, apps) => {
          seen.push([...apps]);
          if (apps.includes('sandbox'))
            throw Object.assign(new Error('this key may not send to sandbox'), { statusCode: 403 });
        },
        submittedBy: () => 'key-1',
      },
    });
    assert.equal(
      (await push({ notifications: [{ tokens: ['a'], platform: 1, message: 'm' }] })).statusCode,
      200,
    );
    assert.equal(dispatcher.specs[0]!.submittedBy, 'key-1');
    const refused = await push({
      notifications: [{ tokens: ['a'], platform: 1, development: true, message: 'm' }],
    });
    assert.equal(refused.statusCode, 403);
    assert.deepEqual(seen, [['main'], ['sandbox']]);
    assert.equal(dispatcher.specs.length, 1);
  });

  it("the request's own default app (its key's) is used", async (t) => {
    const { push, dispatcher } = await setup(t, { deps: { defaultAppFor: () => 'sandbox' } });
    await push({ notifications: [{ tokens: ['a'], platform: 1, message: 'm' }] });
    assert.equal(dispatcher.specs[0]!.app, 'sandbox');
  });
});

describe('OpenAPI', () => {
  it('the routes document themselves under @fastify/swagger (OpenAPI 3.0: nullable fields)', async (t) => {
    const app = fastify();
    t.after(() => app.close());
    await app.register(swagger, { openapi: { info: { title: 't', version: '1' } } });
    await app.register(gorushRoutes, {
      dispatcher: new FakeDispatcher(),
      directory: { apps: APPS, defaultApp: 'main' },
      settings: { sync: false, maxNotification: 100, maskTokens: true },
      stats: new GorushStats(),
      newId: () => 'x',
      version: 'v',
    });
    await app.ready();
    const doc = app.swagger() as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    assert.ok(doc.paths['/api/stat/app']?.['get']);
    assert.ok(doc.paths['/api/stat/go']?.['get']);
    const body = JSON.stringify(doc.paths['/api/push']?.['post']?.requestBody);
    assert.match(body, /"thread-id":\{"type":"string","nullable":true\}/);
    assert.match(body, /"notifications"/);
  });
});

describe('gorushDirectory', () => {
  it("makes the directory from the server's apps map; the only app is the default", () => {
    const one = gorushDirectory({ a: { platforms: ['ios'], apnsTopics: ['com.a'] } });
    assert.deepEqual(one, {
      apps: [{ name: 'a', platforms: ['ios'], apnsTopics: ['com.a'] }],
      defaultApp: 'a',
    });
    const two = gorushDirectory({
      a: { platforms: ['ios'] },
      b: { platforms: ['android'], apnsProduction: true },
    });
    assert.equal(two.defaultApp, undefined);
    assert.deepEqual(
      two.apps.map((a) => a.name),
      ['a', 'b'],
    );
  });
});

describe('GET /api/stat/app and /api/stat/go', () => {
  it('counts per device on every platform, Huawei included; tasks per notification', async (t) => {
    const { push, app, stats } = await setup(t);
    await push(
      {
        notifications: [
          { tokens: ['ok1', 'dead1'], platform: 1, message: 'm' },
          { tokens: ['ok2', 'fail2', 'ok3'], platform: 2, message: 'm' },
          { tokens: ['ok4', 'dead4', 'ok5'], platform: 3, message: 'm' },
          { platform: 2, message: 'no token' },
        ],
      },
      '?sync=true',
    );
    const res = await app.inject({ url: '/api/stat/app' });
    assert.equal(res.statusCode, 200);
    assert.equal(
      res.body,
      '{"version":"1.0.0-test","busy_workers":0,"success_tasks":3,"failure_tasks":1,"submitted_tasks":4,"total_count":8,' +
        '"ios":{"push_success":1,"push_error":1},"android":{"push_success":2,"push_error":1},"huawei":{"push_success":2,"push_error":1}}',
    );
    // The gorush metrics read the same counters.
    const snapshot = stats.app('x');
    const values = Object.fromEntries(GORUSH_METRICS.map((m) => [m.name, m.value(snapshot)]));
    assert.equal(values['gorush_total_push_count'], 8);
    assert.equal(values['gorush_huawei_fail'], 1);
    assert.equal(values['gorush_android_success'], 2);
    assert.equal(values['gorush_submitted_tasks'], 4);
  });

  it('busy_workers counts notifications whose sends have not settled', async (t) => {
    const { push, app, dispatcher } = await setup(t);
    let release!: () => void;
    dispatcher.gate = new Promise((resolve) => {
      release = resolve;
    });
    t.after(() => release());
    await push({
      notifications: [
        { tokens: ['a'], platform: 2 },
        { tokens: ['b'], platform: 1 },
      ],
    });
    assert.equal(JSON.parse((await app.inject({ url: '/api/stat/app' })).body).busy_workers, 2);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    const after = JSON.parse((await app.inject({ url: '/api/stat/app' })).body);
    assert.equal(after.busy_workers, 0);
    assert.equal(after.success_tasks, 2);
  });

  it('a send that ends other than done (aborted, failed) makes its task a failure', async (t) => {
    const { push, app, dispatcher } = await setup(t);
    dispatcher.finalState = 'aborted';
    await push({ notifications: [{ tokens: ['a'], platform: 2 }] }, '?sync=true');
    const stats = JSON.parse((await app.inject({ url: '/api/stat/app' })).body);
    assert.equal(stats.failure_tasks, 1);
    assert.equal(stats.success_tasks, 0);
  });

  it('/api/stat/go answers the runtime figures under gorush handler keys', async (t) => {
    const { app } = await setup(t);
    const body = JSON.parse((await app.inject({ url: '/api/stat/go' })).body);
    assert.equal(body.go_version, process.version);
    assert.equal(body.runtime, 'node');
    for (const key of [
      'time',
      'go_os',
      'go_arch',
      'cpu_num',
      'goroutine_num',
      'heap_alloc',
      'gc_num',
      'gc_pause',
    ]) {
      assert.ok(key in body, key);
    }
  });
});

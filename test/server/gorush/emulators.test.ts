/**
 * gorush's README examples end to end: the gorush routes, a minimal in-test Dispatcher that
 * runs each send on a real `PushClient`, and pushline's strict APNs and FCM emulators (they
 * refuse what Apple and Google refuse). What the emulators accepted is compared with what
 * gorush's builders send for the same request (readme-examples.ts), and sync mode answers the
 * emulators' real refusals as gorush's log entries.
 *
 * The real in-process dispatcher and `pushline serve` are built elsewhere; the test against a
 * spawned server can reuse readme-examples.ts as it is.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import fastify from 'fastify';
import { PushClient } from '../../../src/client.js';
import type { Device } from '../../../src/device.js';
import { startApnsEmulator, startFcmEmulator } from '../../../src/emulator/index.js';
import { apns, fcm } from '../../../src/index.js';
import type {
  Dispatcher,
  FeedbackQuery,
  FeedbackRecord,
  SendCounts,
  SendSpec,
  SendStatus,
} from '../../../src/queue/dispatch.js';
import { gorushRoutes } from '../../../src/server/gorush/routes.js';
import { GorushStats, stopGoStats } from '../../../src/server/gorush/stats.js';
import { apnsToken, README_EXAMPLES } from './readme-examples.js';

/** Runs each send on the app's PushClient and records its feedback: just enough of a Dispatcher. */
class ClientDispatcher implements Dispatcher {
  readonly #runs = new Map<
    string,
    { spec: SendSpec; records: FeedbackRecord[]; done: Promise<SendStatus> }
  >();

  constructor(private readonly clients: Record<string, PushClient>) {}

  async submit(spec: SendSpec): Promise<SendStatus> {
    const client = this.clients[spec.app];
    assert.ok(client, `no client for app ${spec.app}`);
    const devices = (spec.devices as { devices: Device[] }).devices;
    const records: FeedbackRecord[] = [];
    const done = (async () => {
      for await (const fb of client.send(spec.notification, devices)) {
        const record: FeedbackRecord = { device: fb.device, status: fb.status, attempts: fb.attempts };
        if (fb.error) {
          record.error = { code: fb.error.code, message: fb.error.message };
          if (fb.error.reason !== undefined) record.error.reason = fb.error.reason;
        }
        records.push(record);
      }
      return this.#status(spec, records, 'done');
    })();
    this.#runs.set(spec.id, { spec, records, done });
    return this.#status(spec, records, 'running');
  }

  #status(spec: SendSpec, records: FeedbackRecord[], state: SendStatus['state']): SendStatus {
    const count = (s: FeedbackRecord['status']) => records.filter((r) => r.status === s).length;
    const counts: SendCounts = {
      total: records.length,
      sent: count('sent'),
      validated: count('validated'),
      invalidToken: count('invalid-token'),
      failed: count('failed'),
      errors: {},
      providers: {},
      retries: 0,
      maybeDelivered: 0,
      maybeDuplicates: 0,
    };
    return { id: spec.id, app: spec.app, state, accepted: records.length, counts, createdAt: spec.createdAt };
  }

  async status(id: string) {
    const run = this.#runs.get(id);
    return run && this.#status(run.spec, run.records, 'running');
  }

  settled(id: string): Promise<SendStatus> {
    return this.#runs.get(id)!.done;
  }

  async *feedback(id: string, query?: FeedbackQuery): AsyncIterable<FeedbackRecord> {
    const run = this.#runs.get(id)!;
    await run.done;
    for (const r of run.records) if (!query?.status || query.status.includes(r.status)) yield r;
  }

  async abort() {
    return false;
  }

  async close() {}
}

const DEAD_APNS = apnsToken('dead');
const DEAD_FCM = 'android-dead-token-0123456789';

/** The emulators and the client, started once for the file (the slow part); each test gets its own server. */
interface Providers {
  apnsEmu: Awaited<ReturnType<typeof startApnsEmulator>>;
  fcmEmu: Awaited<ReturnType<typeof startFcmEmulator>>;
  client: PushClient;
}

async function startProviders(): Promise<Providers> {
  const apnsEmu = await startApnsEmulator({
    topic: 'com.example.app',
    scenarios: { badTokens: [DEAD_APNS] },
  });
  const fcmEmu = await startFcmEmulator({ unregisteredTokens: [DEAD_FCM] });
  const client = new PushClient({ providers: [apns(apnsEmu.providerOptions), fcm(fcmEmu.providerOptions)] });
  return { apnsEmu, fcmEmu, client };
}

async function setup(t: TestContext, providers: Providers) {
  providers.apnsEmu.reset();
  providers.fcmEmu.reset();
  const app = fastify();
  t.after(() => app.close());
  let n = 0;
  await app.register(gorushRoutes, {
    dispatcher: new ClientDispatcher({ main: providers.client }),
    directory: {
      apps: [{ name: 'main', platforms: ['ios', 'android'], apnsTopics: ['com.example.app'] }],
      defaultApp: 'main',
    },
    settings: { sync: true, maxNotification: 100, maskTokens: true },
    stats: new GorushStats(),
    newId: () => `s${++n}`,
    version: 'test',
  });
  const push = async (body: unknown) => {
    const res = await app.inject({ method: 'POST', url: '/api/push', payload: body as object });
    return JSON.parse(res.body) as { counts: number; logs: Array<Record<string, string>>; success: string };
  };
  return { apnsEmu: providers.apnsEmu, fcmEmu: providers.fcmEmu, push, app };
}

describe("gorush README examples delivered to pushline's emulators", () => {
  let providers: Providers;
  before(async () => {
    providers = await startProviders();
  });
  after(async () => {
    await providers.client.close();
    await Promise.all([providers.apnsEmu.close(), providers.fcmEmu.close()]);
    stopGoStats();
  });

  // Every README example whose sends go to APNs or FCM; the HMS examples are delivered to the HMS
  // emulator through a spawned server in process.test.ts.
  for (const example of README_EXAMPLES.filter((e) => e.delivered.every((d) => !d.hms))) {
    it(example.name, async (t) => {
      const { apnsEmu, fcmEmu, push } = await setup(t, providers);
      // README tokens are not APNs tokens: iOS ones become 64 hex digits.
      const notifications = example.body.notifications.map((n) =>
        n['platform'] === 1 ? { ...n, tokens: (n['tokens'] as string[]).map(apnsToken) } : n,
      );
      const body = await push({ notifications });
      assert.equal(body.counts, example.counts);
      assert.deepEqual(body.logs, [], JSON.stringify(body.logs));
      const apnsReceived = [...apnsEmu.notifications];
      const fcmReceived = [...fcmEmu.messages];
      for (const [i, expected] of example.delivered.entries()) {
        const tokens = example.devices[i]!;
        if (expected.apns) {
          const got = apnsReceived.splice(0, tokens.length);
          assert.deepEqual(
            got.map((r) => r.token),
            tokens.map(apnsToken),
          );
          for (const r of got) {
            assert.deepEqual(r.payload, expected.apns);
            assert.equal(r.pushType, expected.apnsPushType ?? 'alert');
          }
        }
        if (expected.fcm) {
          const got = fcmReceived.splice(0, tokens.length);
          assert.equal(got.length, tokens.length);
          for (const [k, r] of got.entries()) {
            const target = expected.fcmTopic ? { topic: expected.fcmTopic } : { token: tokens[k] };
            assert.deepEqual(r.message, { ...expected.fcm, ...target });
          }
        }
      }
      assert.equal(apnsReceived.length + fcmReceived.length, 0, 'nothing else was delivered');
    });
  }

  it("sync mode: the providers' refusals as gorush's failure entries, successes left out", async (t) => {
    const dead = DEAD_APNS;
    const { push, app } = await setup(t, providers);
    const body = await push({
      notifications: [
        { notif_id: 'ios-1', tokens: [apnsToken('ok'), dead], platform: 1, message: 'Hello World iOS!' },
        {
          tokens: ['android-ok', DEAD_FCM],
          platform: 2,
          message: 'Hello World Android!',
        },
      ],
    });
    assert.equal(body.counts, 4);
    assert.equal(body.success, 'ok');
    assert.deepEqual(body.logs, [
      {
        notif_id: 'ios-1',
        type: 'failed-push',
        platform: 'ios',
        token: `**********${dead.slice(10, -10)}**********`,
        message: 'Hello World iOS!',
        error: 'BadDeviceToken',
      },
      {
        type: 'failed-push',
        platform: 'android',
        token: '**********ad-token-**********',
        message: 'Hello World Android!',
        error: 'UNREGISTERED',
      },
    ]);
    const stats = JSON.parse((await app.inject({ url: '/api/stat/app' })).body);
    assert.deepEqual(stats.ios, { push_success: 1, push_error: 1 });
    assert.deepEqual(stats.android, { push_success: 1, push_error: 1 });
  });
});

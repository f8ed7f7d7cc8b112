/**
 * gorush's README examples end to end: the gorush routes, a minimal in-test Dispatcher that
 * runs each send on a real `PushClient`, and pushline's strict APNs and FCM emulators. What
 * the emulators accepted is compared with what gorush's builders send for the same request,
 * and sync mode answers the emulators' real refusals in gorush's log entries.
 *
 * (The real in-process dispatcher and `pushline serve` are built elsewhere; the test against
 * a spawned server belongs with them. This one proves the mapping is accepted by providers
 * that reject what Apple and Google reject.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
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

/** A well-formed APNs device token (64 hex digits) standing for a README token name. */
const hex = (name: string) => createHash('sha256').update(name).digest('hex');

async function setup(t: TestContext, scenarios: { apnsBad?: string[]; fcmDead?: string[] } = {}) {
  const apnsEmu = await startApnsEmulator({
    topic: 'com.example.app',
    scenarios: { badTokens: scenarios.apnsBad ?? [] },
  });
  t.after(() => apnsEmu.close());
  const fcmEmu = await startFcmEmulator({ unregisteredTokens: scenarios.fcmDead ?? [] });
  t.after(() => fcmEmu.close());
  const client = new PushClient({ providers: [apns(apnsEmu.providerOptions), fcm(fcmEmu.providerOptions)] });
  t.after(() => client.close());
  const app = fastify();
  t.after(() => app.close());
  t.after(() => stopGoStats());
  let n = 0;
  await app.register(gorushRoutes, {
    dispatcher: new ClientDispatcher({ main: client }),
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
  return { apnsEmu, fcmEmu, push, app };
}

describe("gorush README examples delivered to pushline's emulators", () => {
  it('iOS: the payloads apns2 builds for the README requests are what APNs receives', async (t) => {
    const { apnsEmu, push } = await setup(t);
    const a = hex('token_a');
    const cases: Array<{
      request: Record<string, unknown>;
      payload: Record<string, unknown>;
      pushType?: string;
    }> = [
      {
        request: { title: 'Hello iOS', message: 'Hello World iOS!' },
        payload: { aps: { alert: { title: 'Hello iOS', body: 'Hello World iOS!' } } },
      },
      { request: { message: 'Hello World iOS!' }, payload: { aps: { alert: 'Hello World iOS!' } } },
      {
        request: {
          badge: 5,
          alert: { title: 'Game Request', body: 'Bob wants to play poker', 'action-loc-key': 'PLAY' },
        },
        payload: {
          aps: {
            alert: { title: 'Game Request', body: 'Bob wants to play poker', 'action-loc-key': 'PLAY' },
            badge: 5,
          },
        },
      },
      {
        request: {
          message: 'You got your emails.',
          badge: 9,
          sound: { critical: 1, name: 'default', volume: 1.0 },
        },
        payload: {
          aps: {
            alert: 'You got your emails.',
            badge: 9,
            sound: { critical: 1, name: 'default', volume: 1 },
          },
        },
      },
      {
        request: { message: 'Hello World iOS!', data: { key1: 'welcome', key2: 2 } },
        payload: { aps: { alert: 'Hello World iOS!' }, key1: 'welcome', key2: 2 },
      },
      {
        request: {
          push_type: 'liveactivity',
          topic: 'com.example.app.push-type.liveactivity',
          event: 'start',
          timestamp: 1685952000,
          'content-state': { homeScore: 0, awayScore: 0, minute: 1, period: '1H' },
          'attributes-type': 'FootballMatchAttributes',
          attributes: { homeTeam: 'Team 1', awayTeam: 'Team 2', league: 'Premier League' },
          alert: { title: 'Team 1 vs Team 2', body: 'Kick-off! The match has started.' },
        },
        payload: {
          aps: {
            alert: { title: 'Team 1 vs Team 2', body: 'Kick-off! The match has started.' },
            timestamp: 1685952000,
            event: 'start',
            'content-state': { homeScore: 0, awayScore: 0, minute: 1, period: '1H' },
            'attributes-type': 'FootballMatchAttributes',
            attributes: { homeTeam: 'Team 1', awayTeam: 'Team 2', league: 'Premier League' },
          },
        },
        pushType: 'liveactivity',
      },
    ];
    for (const [i, c] of cases.entries()) {
      const body = await push({ notifications: [{ tokens: [a], platform: 1, ...c.request }] });
      assert.deepEqual(body.logs, [], `case ${i}: ${JSON.stringify(body.logs)}`);
      const received = apnsEmu.notifications.at(-1)!;
      assert.equal(apnsEmu.notifications.length, i + 1, `case ${i} was not accepted`);
      assert.equal(received.token, a);
      assert.deepEqual(received.payload, c.payload, `case ${i}`);
      assert.equal(received.pushType, c.pushType ?? 'alert');
    }
  });

  it('Android: the v1 messages firebase-admin-go builds for the README requests are what FCM receives', async (t) => {
    const { fcmEmu, push } = await setup(t);
    const cases: Array<{ request: Record<string, unknown>; message: Record<string, unknown> }> = [
      {
        request: { tokens: ['token_a'], title: 'You got message', message: 'Hello World Android!' },
        message: {
          notification: { title: 'You got message', body: 'Hello World Android!' },
          token: 'token_a',
        },
      },
      {
        request: {
          tokens: ['token_a'],
          message: 'Hello World Android!',
          title: 'You got message',
          fcm_options: { analytics_label: 'example' },
        },
        message: {
          notification: { title: 'You got message', body: 'Hello World Android!' },
          fcm_options: { analytics_label: 'example' },
          token: 'token_a',
        },
      },
      {
        request: {
          tokens: ['token_a'],
          message: 'Hello World Android!',
          title: 'You got message',
          notification: { icon: 'myicon', color: '#112244' },
        },
        message: {
          notification: { title: 'You got message', body: 'Hello World Android!' },
          token: 'token_a',
        },
      },
      {
        request: {
          tokens: ['token_a'],
          message: 'Hello World Android!',
          title: 'You got message',
          data: { Nick: 'Mario', body: 'great match!', Room: 'PortugalVSDenmark' },
        },
        message: {
          data: { Nick: 'Mario', body: 'great match!', Room: 'PortugalVSDenmark' },
          notification: { title: 'You got message', body: 'Hello World Android!' },
          token: 'token_a',
        },
      },
      {
        request: { topic: 'highScores', message: 'This is a Firebase Cloud Messaging Topic Message' },
        message: {
          notification: { body: 'This is a Firebase Cloud Messaging Topic Message' },
          topic: 'highScores',
        },
      },
    ];
    for (const [i, c] of cases.entries()) {
      const body = await push({ notifications: [{ platform: 2, ...c.request }] });
      assert.deepEqual(body.logs, [], `case ${i}: ${JSON.stringify(body.logs)}`);
      assert.equal(fcmEmu.messages.length, i + 1, `case ${i} was not accepted`);
      assert.deepEqual(fcmEmu.messages.at(-1)!.message, c.message, `case ${i}`);
    }
  });

  it("sync mode: the providers' refusals as gorush's failure entries, successes left out", async (t) => {
    const dead = hex('dead');
    const { push, app } = await setup(t, { apnsBad: [dead], fcmDead: ['android-dead-token-0123456789'] });
    const body = await push({
      notifications: [
        { notif_id: 'ios-1', tokens: [hex('ok'), dead], platform: 1, message: 'Hello World iOS!' },
        {
          tokens: ['android-ok', 'android-dead-token-0123456789'],
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

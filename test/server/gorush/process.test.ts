/**
 * gorush's API on a real `pushline serve` process: the server is spawned with a config
 * pointing at test-owned APNs, FCM and HMS emulators (the files `pushline emulate` writes),
 * every example of gorush's README is POSTed to /api/push with an API key, and the answer
 * (`counts`) and what the emulators received are checked against readme-examples.ts. Sync
 * mode answers the emulators' refusals as gorush's failure-log entries; /api/stat/app and
 * /metrics count them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeEmulatorFiles } from '../../../src/cli/emulator-files.js';
import { type Emulator, startEmulator } from '../../../src/emulator/index.js';
import { hashApiKey } from '../../../src/server/auth.js';
import { call, type ServeProcess, startServe } from '../process-support.js';
import { apnsToken, README_EXAMPLES } from './readme-examples.js';

const KEY = `pl_${randomBytes(32).toString('base64url')}`;
const DEAD_APNS = apnsToken('dead');
const DEAD_FCM = 'android-dead-token-0123456789';

/** JSON with every object's keys sorted: equal values, equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

interface PushAnswer {
  counts: number;
  logs: Array<Record<string, string>>;
  success: string;
}

describe('gorush API on a spawned pushline serve', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-gorush-serve-'));
  let emulator: Emulator;
  let server: ServeProcess;

  before(async () => {
    emulator = await startEmulator({
      apns: { topic: 'com.example.app', scenarios: { badTokens: [DEAD_APNS] } },
      fcm: { unregisteredTokens: [DEAD_FCM] },
    });
    const files = writeEmulatorFiles(emulator, dir);
    const config = JSON.parse(readFileSync(files.configFile, 'utf8')) as Record<string, unknown>;
    config['apiKeys'] = { ci: { hash: hashApiKey(KEY), apps: ['*'], permissions: ['send', 'read'] } };
    writeFileSync(files.configFile, JSON.stringify(config));
    server = await startServe(['--config', files.configFile]);
  });
  after(async () => {
    await server?.kill();
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const push = async (body: unknown, query = '?sync=true') => {
    const answer = await call(server.url, KEY, 'POST', `/api/push${query}`, body);
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    return answer.json as unknown as PushAnswer;
  };

  for (const example of README_EXAMPLES) {
    it(example.name, async () => {
      emulator.apns.reset();
      emulator.fcm.reset();
      emulator.hms.reset();
      // README tokens are not APNs tokens: iOS ones become 64 hex digits.
      const notifications = example.body.notifications.map((n) =>
        n['platform'] === 1 ? { ...n, tokens: (n['tokens'] as string[]).map(apnsToken) } : n,
      );
      // Sync: answered once every send has ended, so the emulators have it all.
      const body = await push({ notifications });
      assert.equal(body.success, 'ok');
      assert.equal(body.counts, example.counts);
      assert.deepEqual(body.logs, [], JSON.stringify(body.logs));
      // The sends of one request run side by side: compared as sets of deliveries, not in order.
      const sorted = (items: unknown[]) => items.map(canonical).sort();
      const want = { apns: [] as unknown[], fcm: [] as unknown[], hms: [] as unknown[] };
      for (const [i, expected] of example.delivered.entries()) {
        const tokens = example.devices[i]!;
        if (expected.apns) {
          for (const token of tokens) {
            want.apns.push({
              token: apnsToken(token),
              payload: expected.apns,
              pushType: expected.apnsPushType ?? 'alert',
            });
          }
        }
        if (expected.fcm) {
          for (const token of tokens) {
            const target = expected.fcmTopic ? { topic: expected.fcmTopic } : { token };
            want.fcm.push({ ...expected.fcm, ...target });
          }
        }
        // HMS takes up to 1,000 tokens per request: one message per send here.
        if (expected.hms) {
          want.hms.push(
            expected.hms['topic'] === undefined ? { ...expected.hms, token: tokens } : expected.hms,
          );
        }
      }
      const got = {
        apns: emulator.apns.notifications.map((r) => ({
          token: r.token,
          payload: r.payload,
          pushType: r.pushType,
        })),
        fcm: emulator.fcm.messages.map((r) => r.message),
        hms: emulator.hms.messages.map((r) => r.message),
      };
      assert.deepEqual(sorted(got.apns), sorted(want.apns), 'APNs');
      assert.deepEqual(sorted(got.fcm), sorted(want.fcm), 'FCM');
      assert.deepEqual(sorted(got.hms), sorted(want.hms), 'HMS');
    });
  }

  it('async (gorush’s default): answered at once with the counts, delivered afterwards', async () => {
    emulator.apns.reset();
    const tokens = Array.from({ length: 20 }, (_, i) => apnsToken(`async-${i}`));
    const body = await push({ notifications: [{ tokens, platform: 1, message: 'later' }] }, '');
    assert.deepEqual(body, { counts: 20, logs: [], success: 'ok' });
    const deadline = Date.now() + 30_000;
    while (emulator.apns.notifications.length < 20 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(new Set(emulator.apns.notifications.map((n) => n.token)), new Set(tokens));
  });

  it("sync mode: the providers' refusals as gorush's failure entries; stats and metrics count them", async () => {
    const before = (await call(server.url, KEY, 'GET', '/api/stat/app')).json as {
      ios: { push_success: number; push_error: number };
      android: { push_success: number; push_error: number };
    };
    const body = await push({
      notifications: [
        { notif_id: 'ios-1', tokens: [apnsToken('ok'), DEAD_APNS], platform: 1, message: 'Hello World iOS!' },
        { tokens: ['android-ok', DEAD_FCM], platform: 2, message: 'Hello World Android!' },
      ],
    });
    assert.equal(body.counts, 4);
    assert.deepEqual(body.logs, [
      {
        notif_id: 'ios-1',
        type: 'failed-push',
        platform: 'ios',
        token: `**********${DEAD_APNS.slice(10, -10)}**********`,
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
    const stats = (await call(server.url, KEY, 'GET', '/api/stat/app')).json as typeof before;
    assert.deepEqual(stats.ios, {
      push_success: before.ios.push_success + 1,
      push_error: before.ios.push_error + 1,
    });
    assert.deepEqual(stats.android, {
      push_success: before.android.push_success + 1,
      push_error: before.android.push_error + 1,
    });
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    // gorush's metric names read the same counters as /api/stat/app.
    assert.match(text, new RegExp(`^gorush_ios_error ${stats.ios.push_error}$`, 'm'));
    assert.match(text, new RegExp(`^gorush_android_fail ${stats.android.push_error}$`, 'm'));
    assert.match(
      text,
      /^pushline_pushes_total\{app="default",provider="apns",platform="ios",status="invalid-token",code="invalid-token"\} 1$/m,
    );
  });

  it('without a key: 401, nothing sent', async () => {
    emulator.fcm.reset();
    const answer = await call(server.url, undefined, 'POST', '/api/push', {
      notifications: [{ tokens: ['x'], platform: 2, message: 'no' }],
    });
    assert.equal(answer.status, 401);
    assert.equal(emulator.fcm.messages.length, 0);
  });
});

/**
 * Several apps from the config, as a gorush user moving several bundle ids (and both APNs
 * environments) onto one server would write it: `live` (production) and `news` share one APNs
 * key, `sandbox` has the same topic as `live` in the sandbox — two emulators stand for the two
 * environments. gorush's `topic` and `production` / `development` choose the app, and the
 * config's `server.gorush` (sync, maxNotification, maskTokens) is honoured.
 */
describe('gorush API on a spawned pushline serve with several apps', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-gorush-apps-'));
  const DEAD = apnsToken('dead-live');
  let production: Emulator;
  let sandbox: Emulator;
  let server: ServeProcess;

  /** An app's `apns` section for an emulator: its key and CA written to files. */
  function apnsSection(emulator: Emulator, name: string, topic: string, isProduction: boolean) {
    const options = emulator.apns.providerOptions as { key: string; ca: string };
    const keyFile = join(dir, `${name}.p8`);
    const caFile = join(dir, `${name}-ca.pem`);
    writeFileSync(keyFile, options.key, { mode: 0o600 });
    writeFileSync(caFile, options.ca);
    return {
      teamId: emulator.apns.teamId,
      keyId: emulator.apns.keyId,
      keyFile,
      caFile,
      endpoint: emulator.apns.origin,
      topic,
      production: isProduction,
    };
  }

  before(async () => {
    production = await startEmulator({
      apns: {
        teamId: 'TEAM000001',
        topic: 'com.example.app',
        teams: { TEAM000001: ['com.example.app', 'com.example.news'] },
        scenarios: { badTokens: [DEAD] },
      },
      fcm: false,
      webpush: false,
      hms: false,
    });
    sandbox = await startEmulator({
      apns: { teamId: 'TEAM000002', topic: 'com.example.app' },
      fcm: false,
      webpush: false,
      hms: false,
    });
    const config = {
      apps: {
        live: { apns: apnsSection(production, 'live', 'com.example.app', true) },
        news: { apns: apnsSection(production, 'news', 'com.example.news', true) },
        sandbox: { apns: apnsSection(sandbox, 'sandbox', 'com.example.app', false) },
      },
      server: { gorush: { sync: true, maxNotification: 3, maskTokens: false } },
      apiKeys: {
        ci: { hash: hashApiKey(KEY), apps: ['*'], permissions: ['send', 'read'], defaultApp: 'live' },
      },
    };
    const file = join(dir, 'pushline.json');
    writeFileSync(file, JSON.stringify(config));
    server = await startServe(['--config', file]);
  });
  after(async () => {
    await server?.kill();
    await production?.close();
    await sandbox?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const push = (body: unknown) => call(server.url, KEY, 'POST', '/api/push', body);
  const reset = () => {
    production.apns.reset();
    sandbox.apns.reset();
  };

  it("README's production and development example: each notification reaches its environment's app", async () => {
    reset();
    const example = README_EXAMPLES.find((e) => e.name === 'iOS Example: production and development')!;
    const notifications = example.body.notifications.map((n) => ({
      ...n,
      tokens: (n['tokens'] as string[]).map(apnsToken),
    }));
    // server.gorush.sync: answered once the sends have ended, without ?sync=true.
    const answer = await push({ notifications });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.deepEqual(answer.json, { counts: 4, logs: [], success: 'ok' });
    const alerts = (emulator: Emulator) =>
      emulator.apns.notifications.map((n) => (n.payload as { aps: { alert: unknown } }).aps.alert);
    assert.deepEqual(alerts(production), ['Hello World iOS Production!', 'Hello World iOS Production!']);
    assert.deepEqual(alerts(sandbox), ['Hello World iOS Sandbox!', 'Hello World iOS Sandbox!']);
  });

  it("`topic` selects the app whose APNs topic it is; one APNs key serves both apps' topics", async () => {
    reset();
    const answer = await push({
      notifications: [
        { tokens: [apnsToken('n1')], platform: 1, topic: 'com.example.news', message: 'news' },
        { tokens: [apnsToken('l1')], platform: 1, message: 'default app' },
      ],
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.deepEqual(answer.json['logs'], []);
    const byToken = Object.fromEntries(production.apns.notifications.map((n) => [n.token, n.topic]));
    assert.deepEqual(byToken, {
      [apnsToken('n1')]: 'com.example.news',
      [apnsToken('l1')]: 'com.example.app',
    });
    assert.equal(sandbox.apns.notifications.length, 0);
    // A topic no app has is not sent anywhere: its failure names the fix.
    const unknown = await push({
      notifications: [{ tokens: [apnsToken('u1')], platform: 1, topic: 'com.example.other', message: 'x' }],
    });
    const [entry] = unknown.json['logs'] as Array<Record<string, string>>;
    assert.match(
      entry!['error']!,
      /no app in the config has the APNs topic 'com\.example\.other': give it to an app \(apps\.<name>\.apns\.topic/,
    );
    assert.equal(production.apns.notifications.length + sandbox.apns.notifications.length, 2);
  });

  it("server.gorush: sync and maskTokens from the config; maxNotification's 400", async () => {
    reset();
    const answer = await push({
      notifications: [{ tokens: [apnsToken('ok'), DEAD], platform: 1, message: 'Hello' }],
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json['logs'], [
      { type: 'failed-push', platform: 'ios', token: DEAD, message: 'Hello', error: 'BadDeviceToken' },
    ]);
    const one = { tokens: [apnsToken('x')], platform: 1, message: 'm' };
    const over = await push({ notifications: [one, one, one, one] });
    assert.equal(over.status, 400);
    assert.deepEqual(over.json, { code: 400, message: 'Number of notifications(4) over limit(3)' });
  });
});

it('serve --emulator keeps the apps’ APNs environments: production / development still choose the app', {
  timeout: 120_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pushline-gorush-emulator-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'pushline.json');
  writeFileSync(
    file,
    JSON.stringify({
      apps: {
        live: { apns: { topic: 'com.example.app', production: true } },
        sandbox: { apns: { topic: 'com.example.app', production: false } },
      },
      apiKeys: {
        ci: { hash: hashApiKey(KEY), apps: ['*'], permissions: ['send', 'read'], defaultApp: 'live' },
      },
    }),
  );
  const server = await startServe(['--config', file, '--emulator']);
  t.after(() => server.kill());
  const example = README_EXAMPLES.find((e) => e.name === 'iOS Example: production and development')!;
  const notifications = example.body.notifications.map((n) => ({
    ...n,
    tokens: (n['tokens'] as string[]).map(apnsToken),
  }));
  const answer = await call(server.url, KEY, 'POST', '/api/push?sync=true', { notifications });
  assert.deepEqual(answer.json, { counts: 4, logs: [], success: 'ok' });
  const metrics = await (
    await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })
  ).text();
  for (const app of ['live', 'sandbox']) {
    assert.match(
      metrics,
      new RegExp(
        `^pushline_pushes_total\\{app="${app}",provider="apns",platform="ios",status="sent"\\} 2$`,
        'm',
      ),
      app,
    );
  }
});

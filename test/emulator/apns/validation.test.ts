import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { type ApnsEmulator, startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { ALERT, close, open, type PushOptions, providerToken, push, TOKEN_A } from './helpers.js';

describe('APNs emulator: request validation', () => {
  let emulator: ApnsEmulator;
  let session: ClientHttp2Session;
  let jwt: string;

  before(async () => {
    emulator = await startApnsEmulator();
    session = await open(emulator);
    jwt = await providerToken(emulator);
  });
  after(async () => {
    await close(session);
    await emulator.close();
  });

  const send = (options: PushOptions) => push(session, { jwt, ...options });

  async function rejects(options: PushOptions, status: number, reason: string): Promise<void> {
    const res = await send(options);
    assert.equal(
      res.status,
      status,
      `expected ${status} ${reason}, got ${res.status} ${JSON.stringify(res.body)}`,
    );
    assert.deepEqual(res.body, { reason });
    assert.match(String(res.headers['apns-id']), /^[0-9a-f-]{36}$/);
  }

  it('accepts a valid alert push: 200, empty body, the request apns-id echoed', async () => {
    const apnsId = '123e4567-e89b-12d3-a456-4266554400a0';
    const res = await send({ headers: { 'apns-id': apnsId } });
    assert.equal(res.status, 200);
    assert.equal(res.body, undefined);
    assert.equal(res.headers['apns-id'], apnsId);
    // sandbox answers carry apns-unique-id
    assert.match(String(res.headers['apns-unique-id']), /^[0-9a-f-]{36}$/);
  });

  it('generates a lowercase UUID apns-id when the request has none', async () => {
    const res = await send({});
    assert.match(
      String(res.headers['apns-id']),
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
  });

  it('405 MethodNotAllowed for a method other than POST', () =>
    rejects({ method: 'GET', body: null }, 405, 'MethodNotAllowed'));
  it('404 BadPath off /3/device/', () => rejects({ path: '/2/device/' + TOKEN_A }, 404, 'BadPath'));
  it('400 MissingDeviceToken for an empty token', () =>
    rejects({ path: '/3/device/' }, 400, 'MissingDeviceToken'));
  it('400 BadDeviceToken for a non-hex token', () =>
    rejects({ token: 'zz'.repeat(32) }, 400, 'BadDeviceToken'));
  it('400 BadDeviceToken for an odd-length token', () =>
    rejects({ token: `${TOKEN_A}a` }, 400, 'BadDeviceToken'));
  it('400 BadDeviceToken for a token shorter than 32 bytes', () =>
    rejects({ token: 'ab' }, 400, 'BadDeviceToken'));
  it('400 DuplicateHeaders for a repeated apns header', () =>
    rejects({ headers: { 'apns-priority': ['10', '10'] } }, 400, 'DuplicateHeaders'));
  it('400 MissingTopic without apns-topic (token auth)', () =>
    rejects({ headers: { 'apns-topic': undefined } }, 400, 'MissingTopic'));
  it('400 TopicDisallowed for a topic outside the team', () =>
    rejects({ headers: { 'apns-topic': 'com.other.app' } }, 400, 'TopicDisallowed'));
  it('400 InvalidPushType for an unknown apns-push-type', () =>
    rejects({ headers: { 'apns-push-type': 'banner' } }, 400, 'InvalidPushType'));
  it('400 BadTopic when the topic lacks the push type suffix (voip without .voip)', () =>
    rejects({ headers: { 'apns-push-type': 'voip' } }, 400, 'BadTopic'));
  it('400 BadTopic when an alert push uses the .voip topic', () =>
    rejects({ headers: { 'apns-topic': 'com.example.app.voip' } }, 400, 'BadTopic'));
  it('400 BadPriority for a priority outside 1, 5, 10', () =>
    rejects({ headers: { 'apns-priority': '7' } }, 400, 'BadPriority'));
  it('400 BadPriority for a background push at priority 10 (also the default)', async () => {
    const body = JSON.stringify({ aps: { 'content-available': 1 } });
    await rejects(
      { body, headers: { 'apns-push-type': 'background', 'apns-priority': '10' } },
      400,
      'BadPriority',
    );
    await rejects({ body, headers: { 'apns-push-type': 'background' } }, 400, 'BadPriority');
    const ok = await send({ body, headers: { 'apns-push-type': 'background', 'apns-priority': '5' } });
    assert.equal(ok.status, 200);
  });
  it('400 BadExpirationDate for a non-numeric apns-expiration', () =>
    rejects({ headers: { 'apns-expiration': 'tomorrow' } }, 400, 'BadExpirationDate'));
  it('400 BadMessageId for an apns-id that is not a lowercase canonical UUID', async () => {
    await rejects({ headers: { 'apns-id': 'not-a-uuid' } }, 400, 'BadMessageId');
    await rejects({ headers: { 'apns-id': '123E4567-E89B-12D3-A456-4266554400A0' } }, 400, 'BadMessageId');
  });
  it('400 BadCollapseId over 64 bytes; 64 bytes pass', async () => {
    await rejects({ headers: { 'apns-collapse-id': 'x'.repeat(65) } }, 400, 'BadCollapseId');
    assert.equal((await send({ headers: { 'apns-collapse-id': 'x'.repeat(64) } })).status, 200);
  });
  it('400 PayloadEmpty for an empty body', () => rejects({ body: null }, 400, 'PayloadEmpty'));
  it('400 PayloadEmpty for a body that is not JSON, or not an object', async () => {
    await rejects({ body: '{"aps":' }, 400, 'PayloadEmpty');
    await rejects({ body: '[1,2]' }, 400, 'PayloadEmpty');
    await rejects({ body: '"aps"' }, 400, 'PayloadEmpty');
  });
  it('400 PayloadEmpty for a non-object aps, or none on an alert push', async () => {
    await rejects({ body: '{"aps":"hello"}' }, 400, 'PayloadEmpty');
    await rejects({ body: '{"data":1}' }, 400, 'PayloadEmpty');
  });
  it('400 InvalidPushType when the payload does not fit the push type', async () => {
    await rejects({ body: JSON.stringify({ aps: { 'content-available': 1 } }) }, 400, 'InvalidPushType');
    const background = { 'apns-push-type': 'background', 'apns-priority': '5' };
    await rejects({ body: ALERT, headers: background }, 400, 'InvalidPushType');
  });
  it('413 PayloadTooLarge over 4096 bytes; exactly 4096 passes', async () => {
    const sized = (n: number) => {
      const base = JSON.stringify({ aps: { alert: '' } });
      return JSON.stringify({ aps: { alert: 'x'.repeat(n - base.length) } });
    };
    assert.equal(Buffer.byteLength(sized(4096)), 4096);
    assert.equal((await send({ body: sized(4096) })).status, 200);
    await rejects({ body: sized(4097) }, 413, 'PayloadTooLarge');
  });
  it('413 for voip only over 5120 bytes', async () => {
    const voip = { 'apns-push-type': 'voip', 'apns-topic': 'com.example.app.voip' };
    const body = (n: number) => JSON.stringify({ call: 'x'.repeat(n - 11) });
    assert.equal(Buffer.byteLength(body(5120)), 5120);
    assert.equal((await send({ body: body(5120), headers: voip })).status, 200);
    await rejects({ body: body(5121), headers: voip }, 413, 'PayloadTooLarge');
  });
  it('accepts every documented push type with its topic suffix', async () => {
    const cases: [string, string, unknown][] = [
      ['voip', '.voip', { call: 1 }],
      ['complication', '.complication', { aps: { alert: 'x' } }],
      ['fileprovider', '.pushkit.fileprovider', { container: 'x' }],
      [
        'liveactivity',
        '.push-type.liveactivity',
        { aps: { event: 'update', timestamp: 1, 'content-state': {} } },
      ],
      ['location', '.location-query', { aps: {} }],
      ['pushtotalk', '.voip-ptt', { aps: {} }],
      ['widgets', '.push-type.widgets', { aps: { 'content-changed': true } }],
      ['controls', '.push-type.controls', { aps: { 'content-changed': true } }],
    ];
    for (const [type, suffix, payload] of cases) {
      const res = await send({
        body: JSON.stringify(payload),
        headers: { 'apns-push-type': type, 'apns-topic': `com.example.app${suffix}`, 'apns-priority': '5' },
      });
      assert.equal(res.status, 200, `${type}: ${JSON.stringify(res.body)}`);
    }
  });
  it('infers the push type from the topic when apns-push-type is absent', async () => {
    emulator.reset();
    const res = await send({
      body: '{"call":1}',
      headers: { 'apns-push-type': undefined, 'apns-topic': 'com.example.app.voip' },
    });
    assert.equal(res.status, 200);
    assert.equal(emulator.notifications[0]?.pushType, 'voip');
  });
  it('records accepted notifications with headers and payload, never the authorization', async () => {
    emulator.reset();
    const apnsId = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    await send({ headers: { 'apns-id': apnsId, 'apns-expiration': '0', 'apns-collapse-id': 'c1' } });
    const [recorded] = emulator.notifications;
    assert.ok(recorded);
    assert.equal(recorded.token, TOKEN_A);
    assert.equal(recorded.apnsId, apnsId);
    assert.equal(recorded.topic, 'com.example.app');
    assert.equal(recorded.bundleId, 'com.example.app');
    assert.equal(recorded.priority, 10);
    assert.equal(recorded.expiration, 0);
    assert.equal(recorded.collapseId, 'c1');
    assert.deepEqual(recorded.payload, JSON.parse(ALERT));
    assert.equal(recorded.headers['apns-collapse-id'], 'c1');
    assert.equal(recorded.headers['authorization'], undefined);
    const stats = emulator.stats();
    assert.equal(stats.accepted, 1);
    assert.equal(stats.byStatus[200], 1);
  });
  it('counts rejections by status and reason', async () => {
    emulator.reset();
    await send({ headers: { 'apns-priority': '2' } });
    await send({ headers: { 'apns-priority': '3' } });
    await send({ body: null });
    const stats = emulator.stats();
    assert.equal(stats.byStatus[400], 3);
    assert.deepEqual(stats.byReason, { BadPriority: 2, PayloadEmpty: 1 });
    assert.equal(emulator.attempts(TOKEN_A), 3);
  });
});

describe('APNs emulator: lenient payload mode', () => {
  it('strictPayload: false accepts a payload without aps, as APNs does for pass and MDM updates', async () => {
    const emulator = await startApnsEmulator({ strictPayload: false });
    const session = await open(emulator);
    try {
      const jwt = await providerToken(emulator);
      const res = await push(session, { jwt, body: '{}' });
      assert.equal(res.status, 200);
      const notJson = await push(session, { jwt, body: 'hello' });
      assert.deepEqual(notJson.body, { reason: 'PayloadEmpty' });
    } finally {
      await close(session);
      await emulator.close();
    }
  });
});

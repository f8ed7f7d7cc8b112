/**
 * The APNs emulator's broadcast push (iOS 18 channels) from outside, with a raw node:http2
 * client: the channel management listener, the broadcast endpoint on the push listener, and
 * the rules of docs/APNS-BROADCAST.md.
 */
import assert from 'node:assert/strict';
import { type ClientHttp2Session, connect } from 'node:http2';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type ApnsEmulator, startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { close, open, type PushOptions, providerToken, push, type RawResponse } from './helpers.js';

const APP = 'com.example.app';
const CHANNELS = `/1/apps/${APP}/channels`;
const BROADCAST = `/4/broadcasts/apps/${APP}`;
const UPDATE = JSON.stringify({ aps: { timestamp: 1, event: 'update', 'content-state': { score: '1-0' } } });
const CREATE = JSON.stringify({ 'message-storage-policy': 1, 'push-type': 'LiveActivity' });

function openManage(emulator: ApnsEmulator): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(emulator.manageOrigin, { ca: emulator.ca });
    session.once('remoteSettings', () => resolve(session));
    session.once('error', reject);
  });
}

describe('APNs emulator: broadcast push', () => {
  let emulator: ApnsEmulator;
  let manage: ClientHttp2Session;
  let pushSession: ClientHttp2Session;
  let jwt: string;

  before(async () => {
    emulator = await startApnsEmulator({ maxChannels: 3 });
    manage = await openManage(emulator);
    pushSession = await open(emulator);
    jwt = await providerToken(emulator);
  });
  after(async () => {
    await close(manage);
    await close(pushSession);
    await emulator.close();
  });
  beforeEach(() => emulator.reset());

  /** A channel-management request: no apns-topic/apns-push-type unless given. */
  const mgmt = (options: PushOptions): Promise<RawResponse> =>
    push(manage, {
      jwt,
      path: CHANNELS,
      ...options,
      headers: { 'apns-topic': undefined, 'apns-push-type': undefined, ...options.headers },
    });
  const send = (channelId: string | undefined, options: PushOptions = {}): Promise<RawResponse> =>
    push(pushSession, {
      jwt,
      path: BROADCAST,
      body: UPDATE,
      ...options,
      headers: {
        'apns-topic': undefined,
        'apns-push-type': 'liveactivity',
        'apns-channel-id': channelId,
        ...options.headers,
      },
    });

  async function create(): Promise<string> {
    const res = await mgmt({ body: CREATE });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.headers['apns-channel-id'];
    assert.equal(typeof id, 'string');
    return id as string;
  }

  it('creates, reads, lists and deletes channels, per bundle id', async () => {
    const id = await create();
    assert.match(id, /^[A-Za-z0-9+/]+=*$/);
    const read = await mgmt({ method: 'GET', body: null, headers: { 'apns-channel-id': id } });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, { 'message-storage-policy': 1, 'push-type': 'LiveActivity' });
    const list = await mgmt({ method: 'GET', path: `/1/apps/${APP}/all-channels`, body: null });
    assert.deepEqual(list.body, { channels: [id] });
    assert.deepEqual(
      emulator.channels().map((c) => c.channelId),
      [id],
    );
    const del = await mgmt({ method: 'DELETE', body: null, headers: { 'apns-channel-id': id } });
    assert.equal(del.status, 204);
    assert.deepEqual(emulator.channels(), []);
    const again = await mgmt({ method: 'GET', body: null, headers: { 'apns-channel-id': id } });
    assert.deepEqual([again.status, again.body], [400, { reason: 'BadChannelId' }]);
  });

  it('echoes apns-request-id', async () => {
    const requestId = '0b3e2a8e-5c4e-4f7a-9d51-0c1f7c9e2b11';
    const res = await mgmt({ body: CREATE, headers: { 'apns-request-id': requestId } });
    assert.equal(res.headers['apns-request-id'], requestId);
  });

  it('accepts a broadcast to a channel and records it', async () => {
    const id = await create();
    const res = await send(id, { headers: { 'apns-priority': '5', 'apns-expiration': '0' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(emulator.broadcasts.length, 1);
    const [got] = emulator.broadcasts;
    assert.equal(got?.channelId, id);
    assert.equal(got?.priority, 5);
    assert.equal(got?.expiration, 0);
    assert.deepEqual(got?.payload, JSON.parse(UPDATE));
  });

  const cases: [string, () => Promise<RawResponse>, number, string][] = [
    ['wrong method on channels', () => mgmt({ method: 'PUT', body: CREATE }), 405, 'MethodNotAllowed'],
    [
      'POST on all-channels',
      () => mgmt({ path: `/1/apps/${APP}/all-channels`, body: CREATE }),
      405,
      'MethodNotAllowed',
    ],
    ['unknown path', () => mgmt({ path: `/1/apps/${APP}/channel`, body: CREATE }), 404, 'BadPath'],
    ['no provider token', () => mgmt({ jwt: null, body: CREATE }), 403, 'MissingProviderToken'],
    [
      'another team’s bundle id',
      () => mgmt({ path: '/1/apps/com.other.app/channels', body: CREATE }),
      400,
      'TopicDisallowed',
    ],
    [
      'storage policy not 0/1',
      () => mgmt({ body: JSON.stringify({ 'message-storage-policy': 2, 'push-type': 'LiveActivity' }) }),
      400,
      'BadMessageStoragePolicy',
    ],
    [
      'push type not LiveActivity',
      () => mgmt({ body: JSON.stringify({ 'message-storage-policy': 0, 'push-type': 'alert' }) }),
      400,
      'InvalidPushType',
    ],
    ['body not JSON', () => mgmt({ body: 'nope' }), 400, 'BadRequestBody'],
    ['read without apns-channel-id', () => mgmt({ method: 'GET', body: null }), 400, 'MissingChannelId'],
    [
      'channel id not base64',
      () => mgmt({ method: 'DELETE', body: null, headers: { 'apns-channel-id': 'not base64!' } }),
      400,
      'BadChannelId',
    ],
    ['broadcast without apns-channel-id', () => send(undefined), 400, 'MissingChannelId'],
    ['broadcast to an unknown channel', () => send('AAAAAAAAAAAAAAAAAAAAAA=='), 400, 'BadChannelId'],
    [
      'broadcast without a provider token',
      () => send('AAAAAAAAAAAAAAAAAAAAAA==', { jwt: null }),
      403,
      'MissingProviderToken',
    ],
    [
      'broadcast with GET',
      () => send('AAAAAAAAAAAAAAAAAAAAAA==', { method: 'GET', body: null }),
      405,
      'MethodNotAllowed',
    ],
  ];
  for (const [name, request, status, reason] of cases) {
    it(`rejects: ${name} → ${status} ${reason}`, async () => {
      const res = await request();
      assert.deepEqual([res.status, res.body], [status, { reason }]);
      assert.equal(emulator.broadcastRejections()[reason], 1);
      assert.equal(typeof res.headers['apns-request-id'], 'string');
    });
  }

  it('rejects broadcasts that break the push rules', async () => {
    const id = await create();
    const expect = async (res: Promise<RawResponse>, status: number, reason: string) => {
      const got = await res;
      assert.deepEqual([got.status, got.body], [status, { reason }]);
    };
    await expect(send(id, { headers: { 'apns-push-type': 'alert' } }), 400, 'InvalidPushType');
    await expect(send(id, { headers: { 'apns-priority': '7' } }), 400, 'BadPriority');
    await expect(send(id, { headers: { 'apns-expiration': 'soon' } }), 400, 'BadExpirationDate');
    await expect(send(id, { body: '' }), 400, 'PayloadEmpty');
    const big = JSON.stringify({ aps: { event: 'update', 'content-state': { x: 'y'.repeat(4100) } } });
    await expect(send(id, { body: big }), 413, 'PayloadTooLarge');
    assert.equal(emulator.broadcasts.length, 0);
  });

  it('refuses a channel past the limit per bundle id', async () => {
    for (let i = 0; i < 3; i++) await create();
    const res = await mgmt({ body: CREATE });
    assert.deepEqual([res.status, res.body], [400, { reason: 'CannotCreateChannelConfig' }]);
  });

  it('serves channel management on its own listener only', async () => {
    const onPush = await push(pushSession, { jwt, path: CHANNELS, body: CREATE });
    assert.equal(onPush.status, 404);
    const onManage = await mgmt({ path: BROADCAST, body: UPDATE, headers: { 'apns-channel-id': 'AAAA' } });
    assert.deepEqual([onManage.status, onManage.body], [404, { reason: 'BadPath' }]);
    assert.notEqual(emulator.manageOrigin, emulator.origin);
  });
});

/**
 * `apnsBroadcast()` (iOS 18 Live Activities channels) against pushline's APNs emulator: each
 * channel operation and the broadcast send, Apple's answers mapped through the provider's
 * table, and the input checks that stop a request before it is made.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ApnsEmulator } from '../../../src/emulator/apns/index.js';
import { startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { PushError } from '../../../src/errors.js';
import type { Notification } from '../../../src/notification.js';
import { type ApnsBroadcast, apnsBroadcast } from '../../../src/providers/apns/index.js';
import { interpretResponse } from '../../../src/providers/apns/responses.js';
import { startLocalApns } from './local-server.js';

const UPDATE: Notification = {
  apns: { liveActivity: { event: 'update', timestamp: 1_700_000_000, contentState: { score: '2-1' } } },
};
const UNKNOWN_CHANNEL = 'AAAAAAAAAAAAAAAAAAAAAA==';

function otherKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

describe('apnsBroadcast against the APNs emulator (token auth)', () => {
  let emulator: ApnsEmulator;
  let live: ApnsBroadcast;
  const opened: ApnsBroadcast[] = [];
  const client = (overrides: Record<string, unknown> = {}): ApnsBroadcast => {
    const made = apnsBroadcast({ ...emulator.broadcastOptions, ...overrides });
    opened.push(made);
    return made;
  };

  before(async () => {
    emulator = await startApnsEmulator();
    live = client();
  });
  after(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await emulator.close();
  });
  beforeEach(() => emulator.reset());

  it('creates, reads, lists, broadcasts to and deletes a channel', async () => {
    const created = await live.createChannel({ messageStoragePolicy: 1 });
    assert.ok(created.ok, created.ok ? '' : created.error.message);
    const { channelId } = created.value;
    assert.equal(created.httpStatus, 201);
    assert.deepEqual(
      emulator.channels().map((c) => [c.channelId, c.messageStoragePolicy]),
      [[channelId, 1]],
    );

    const read = await live.readChannel(channelId);
    assert.ok(read.ok);
    assert.deepEqual(read.value, { channelId, messageStoragePolicy: 1, pushType: 'LiveActivity' });

    const list = await live.listChannels();
    assert.ok(list.ok);
    assert.deepEqual(list.value, [channelId]);

    const sent = await live.broadcast(channelId, { ...UPDATE, priority: 'normal', ttl: 0 });
    assert.ok(sent.ok, sent.ok ? '' : sent.error.message);
    assert.equal(emulator.broadcasts.length, 1);
    const got = emulator.broadcasts[0]!;
    assert.equal(got.channelId, channelId);
    assert.equal(got.bundleId, emulator.topic);
    assert.equal(got.headers['apns-push-type'], 'liveactivity');
    assert.equal(got.priority, 5);
    assert.equal(got.expiration, 0);
    assert.deepEqual(got.payload, {
      aps: { event: 'update', timestamp: 1_700_000_000, 'content-state': { score: '2-1' } },
    });

    const deleted = await live.deleteChannel(channelId);
    assert.ok(deleted.ok);
    assert.equal(deleted.httpStatus, 204);
    assert.deepEqual(emulator.channels(), []);
  });

  it('creates with message storage policy 0 by default and passes apns-request-id', async () => {
    const requestId = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    const created = await live.createChannel({ requestId });
    assert.ok(created.ok);
    assert.equal(created.requestId, requestId);
    assert.equal(emulator.channels()[0]?.messageStoragePolicy, 0);
  });

  it('maps an unknown channel to a bad-request failure with Apple’s reason', async () => {
    for (const outcome of [
      await live.readChannel(UNKNOWN_CHANNEL),
      await live.deleteChannel(UNKNOWN_CHANNEL),
      await live.broadcast(UNKNOWN_CHANNEL, UPDATE),
    ]) {
      assert.equal(outcome.ok, false);
      if (outcome.ok) continue;
      assert.equal(outcome.httpStatus, 400);
      assert.equal(outcome.error.code, 'bad-request');
      assert.equal(outcome.error.reason, 'BadChannelId');
      assert.equal(typeof outcome.requestId, 'string');
    }
  });

  it('maps a bundle id the key may not use to config (TopicDisallowed)', async () => {
    const outcome = await client({ topic: 'com.other.app' }).createChannel();
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.error.code, 'config');
    assert.equal(outcome.error.reason, 'TopicDisallowed');
  });

  it('maps a key APNs does not know to auth (InvalidProviderToken)', async () => {
    const outcome = await client({ key: otherKeyPem() }).listChannels();
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.httpStatus, 403);
    assert.equal(outcome.error.code, 'auth');
    assert.equal(outcome.error.reason, 'InvalidProviderToken');
  });

  it('refuses bad input before any request', async () => {
    const attempts: [string, () => Promise<unknown>, string][] = [
      ['channel id not base64', () => live.readChannel('not base64!'), 'bad-request'],
      ['channel id unpadded', () => live.deleteChannel('AAAAAAAAAAAAAAAAAAAAAA'), 'bad-request'],
      ['channel id empty', () => live.broadcast('', UPDATE), 'bad-request'],
      [
        'storage policy 2',
        () => live.createChannel({ messageStoragePolicy: 2 as unknown as 0 }),
        'bad-request',
      ],
      ['request id not a UUID', () => live.listChannels({ requestId: 'abc' }), 'bad-request'],
      ['no liveActivity', () => live.broadcast(UNKNOWN_CHANNEL, { title: 'Hi' }), 'bad-request'],
      [
        'payload over 4096 bytes',
        () =>
          live.broadcast(UNKNOWN_CHANNEL, {
            apns: { liveActivity: { event: 'update', contentState: { text: 'x'.repeat(5000) } } },
          }),
        'payload-too-large',
      ],
    ];
    for (const [name, attempt, code] of attempts) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof PushError, name);
        assert.equal(error.code, code, name);
        return true;
      });
    }
    assert.deepEqual(emulator.broadcastRejections(), {}, 'no request reached the emulator');
    assert.equal(emulator.stats().requests, 0);
  });
});

describe('apnsBroadcast with certificate auth', () => {
  let emulator: ApnsEmulator;
  let live: ApnsBroadcast;
  before(async () => {
    emulator = await startApnsEmulator({ auth: 'certificate' });
    live = apnsBroadcast(emulator.broadcastOptions);
  });
  after(async () => {
    await live.close();
    await emulator.close();
  });

  it('manages channels and broadcasts with the client certificate', async () => {
    const created = await live.createChannel();
    assert.ok(created.ok, created.ok ? '' : created.error.message);
    const sent = await live.broadcast(created.value.channelId, UPDATE);
    assert.ok(sent.ok, sent.ok ? '' : sent.error.message);
    assert.equal(emulator.broadcasts.length, 1);
  });
});

describe('apnsBroadcast options', () => {
  const key = otherKeyPem();
  const base = { teamId: 'ABCDE12345', keyId: 'KEY1234567', key, topic: 'com.example.app' };

  it('uses Apple’s channel management hosts per environment', async () => {
    const production = apnsBroadcast({ ...base, production: true });
    const sandbox = apnsBroadcast({ ...base, production: false });
    try {
      assert.equal(production.manageOrigin, 'https://api-manage-broadcast.push.apple.com:2196');
      assert.equal(production.origin, 'https://api.push.apple.com');
      assert.equal(sandbox.manageOrigin, 'https://api-manage-broadcast.sandbox.push.apple.com:2195');
      assert.equal(sandbox.origin, 'https://api.sandbox.push.apple.com');
    } finally {
      await Promise.all([production.close(), sandbox.close()]);
    }
  });

  it('refuses an endpoint without a manageEndpoint, and a manageEndpoint with a path', () => {
    assert.throws(
      () => apnsBroadcast({ ...base, endpoint: 'https://127.0.0.1:1' }),
      (error: unknown) =>
        error instanceof PushError && error.code === 'config' && /manageEndpoint/.test(error.message),
    );
    assert.throws(
      () => apnsBroadcast({ ...base, production: true, manageEndpoint: 'https://127.0.0.1:1/x' }),
      (error: unknown) => error instanceof PushError && error.code === 'config',
    );
  });

  it('reports a transport failure as a failed outcome', async () => {
    const emulator = await startApnsEmulator();
    const live = apnsBroadcast({ ...emulator.broadcastOptions, timeoutMs: 5000 });
    await emulator.close();
    try {
      const outcome = await live.listChannels();
      assert.equal(outcome.ok, false);
      if (!outcome.ok) assert.ok(outcome.error instanceof PushError);
    } finally {
      await live.close();
    }
  });
});

describe('APNs responses table: broadcast reasons', () => {
  it('knows MissingChannelId (Apple’s sample broadcast error) as bad-request', () => {
    const { outcome } = interpretResponse(
      { status: 400, headers: {}, body: Buffer.from('{"reason":"MissingChannelId"}') },
      'sandbox (broadcast)',
    );
    assert.equal(outcome.ok, false);
    if (outcome.ok) return;
    assert.equal(outcome.error.code, 'bad-request');
    assert.match(outcome.error.message, /apns-channel-id header is missing/);
  });
});

describe('apnsBroadcast with answers that are not the documented ones', () => {
  it('reports a 2xx without what the API documents as an internal failure, never a guess', async () => {
    const server = await startLocalApns({ handler: () => ({ status: 200 }) });
    const live = apnsBroadcast({
      teamId: 'ABCDE12345',
      keyId: 'KEY1234567',
      key: otherKeyPem(),
      topic: 'com.example.app',
      endpoint: server.origin,
      manageEndpoint: server.origin,
      ca: server.ca,
    });
    try {
      const created = await live.createChannel();
      const read = await live.readChannel(UNKNOWN_CHANNEL);
      const list = await live.listChannels();
      for (const outcome of [created, read, list]) {
        assert.equal(outcome.ok, false);
        if (!outcome.ok) assert.equal(outcome.error.code, 'internal');
      }
      assert.deepEqual(
        server.requests.map((r) => [r.headers[':method'], r.headers[':path']]),
        [
          ['POST', '/1/apps/com.example.app/channels'],
          ['GET', '/1/apps/com.example.app/channels'],
          ['GET', '/1/apps/com.example.app/all-channels'],
        ],
      );
      assert.deepEqual(JSON.parse(server.requests[0]!.body.toString()), {
        'message-storage-policy': 0,
        'push-type': 'LiveActivity',
      });
    } finally {
      await live.close();
      await server.close();
    }
  });
});

describe('apnsBroadcast provider token refresh', () => {
  const MIN = 60_000;
  // Apple's clock; the client's clock lags behind it.
  const clock = { now: Date.now(), lagMs: 0 };
  let emulator: ApnsEmulator;
  before(async () => {
    emulator = await startApnsEmulator({ now: () => clock.now });
  });
  after(async () => {
    await emulator.close();
  });

  it('refreshes an expired provider token once and re-sends', async () => {
    const live = apnsBroadcast({ ...emulator.broadcastOptions, clock: () => clock.now - clock.lagMs });
    try {
      const created = await live.createChannel();
      assert.ok(created.ok);
      // 25 minutes later by the client's clock, 65 by Apple's: Apple finds the token expired.
      clock.now += 65 * MIN;
      clock.lagMs = 40 * MIN;
      const sent = await live.broadcast(created.value.channelId, UPDATE);
      assert.ok(sent.ok, sent.ok ? '' : sent.error.message);
      assert.deepEqual(emulator.broadcastRejections(), { ExpiredProviderToken: 1 });
      assert.equal(emulator.broadcasts.length, 1);
    } finally {
      await live.close();
    }
  });
});

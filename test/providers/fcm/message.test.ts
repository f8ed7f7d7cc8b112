import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Platform } from '../../../src/device.js';
import type { Notification } from '../../../src/notification.js';
import {
  buildMessage,
  durationString,
  isReservedDataKey,
  MessageTemplate,
  stringifyData,
} from '../../../src/providers/fcm/message.js';
import type {} from '../../../src/providers/fcm/overrides.js';

const android = { platforms: ['android'] as const, now: 1_700_000_000_000 };

describe('fcm data stringification', () => {
  it('keeps strings and JSON-encodes every other value', () => {
    assert.deepEqual(stringifyData({ s: 'x', n: 123, b: true, o: { a: [1] }, z: null, u: undefined }), {
      s: 'x',
      n: '123',
      b: 'true',
      o: '{"a":[1]}',
      z: 'null',
    });
  });

  it('refuses reserved keys as bad-request', () => {
    for (const key of ['from', 'message_type', 'google.sent_time', 'gcm.notification', 'GoogleX']) {
      assert.equal(isReservedDataKey(key), true, key);
      assert.throws(() => stringifyData({ [key]: 'v' }), { code: 'bad-request' });
    }
    assert.equal(isReservedDataKey('collapse_key'), false);
    assert.equal(isReservedDataKey('fromage'), false);
  });

  it('refuses values JSON cannot encode', () => {
    assert.throws(() => stringifyData({ f: () => 1 }), { code: 'bad-request' });
    assert.throws(() => stringifyData({ big: 10n }), { code: 'bad-request' });
  });
});

describe('fcm message building', () => {
  it('maps the common model to notification and android fields', () => {
    const n: Notification = {
      title: 'T',
      body: 'B',
      image: 'https://x/i.png',
      data: { id: 7 },
      badge: 3,
      sound: 'default',
      category: 'OPEN',
      threadId: 'chat-1',
      collapseKey: 'c',
      priority: 'high',
      ttl: 3.5,
    };
    const { message, target } = buildMessage(n, android);
    assert.deepEqual(target, { kind: 'token' });
    assert.deepEqual(message, {
      data: { id: '7' },
      notification: { title: 'T', body: 'B', image: 'https://x/i.png' },
      android: {
        collapse_key: 'c',
        priority: 'HIGH',
        ttl: '3.5s',
        notification: { sound: 'default', tag: 'chat-1', click_action: 'OPEN', notification_count: 3 },
      },
    });
    assert.equal('apns' in message, false, 'no apns block when iOS is not served');
  });

  it('maps normal and low priority to NORMAL', () => {
    assert.equal(
      (buildMessage({ priority: 'low' }, android).message['android'] as { priority: string }).priority,
      'NORMAL',
    );
    assert.equal(
      (buildMessage({ priority: 'normal' }, android).message['android'] as { priority: string }).priority,
      'NORMAL',
    );
  });

  it('makes a silent notification data-only', () => {
    const { message } = buildMessage(
      { title: 'hidden', body: 'x', sound: 'a', silent: true, data: { k: 'v' } },
      android,
    );
    assert.deepEqual(message, { data: { k: 'v' } });
  });

  it('writes ttl as a Duration string, clamped to four weeks, from expiresAt too', () => {
    assert.equal(durationString(86400), '86400s');
    assert.equal(durationString(0.000000001), '0.000000001s');
    assert.equal(durationString(0), '0s');
    const ttl = (n: Notification) => (buildMessage(n, android).message['android'] as { ttl: string }).ttl;
    assert.equal(ttl({ ttl: 10 * 365 * 86400 }), '2419200s');
    assert.equal(ttl({ expiresAt: new Date(android.now + 60_000) }), '60s');
    assert.equal(ttl({ expiresAt: new Date(android.now - 60_000) }), '0s');
    assert.throws(() => buildMessage({ ttl: 1, expiresAt: new Date() }, android), { code: 'bad-request' });
    assert.throws(() => buildMessage({ ttl: -1 }, android), { code: 'bad-request' });
  });

  it('merges the fcm override block over the built message', () => {
    const { message } = buildMessage(
      {
        title: 'T',
        sound: 's',
        data: { a: 1, b: 'x' },
        fcm: {
          data: { b: 'y', c: false },
          android: {
            notification: { channel_id: 'news', color: '#ff0000' },
            direct_boot_ok: true,
            data: { only: 1 },
          },
          fcm_options: { analytics_label: 'l' },
        },
      },
      android,
    );
    assert.deepEqual(message['data'], { a: '1', b: 'y', c: 'false' });
    assert.deepEqual(message['android'], {
      notification: { sound: 's', channel_id: 'news', color: '#ff0000' },
      direct_boot_ok: true,
      data: { only: '1' },
    });
    assert.deepEqual(message['fcm_options'], { analytics_label: 'l' });
  });

  it('a collapse key de-duplicates on every platform FCM reaches: collapse_key, apns-collapse-id, Topic', () => {
    const all = { platforms: ['android', 'ios', 'web'] as Platform[], now: android.now };
    const { message } = buildMessage({ title: 'T', collapseKey: 'order-42' }, all);
    assert.equal((message['android'] as { collapse_key: string }).collapse_key, 'order-42');
    assert.equal(
      (message['apns'] as { headers: Record<string, string> }).headers['apns-collapse-id'],
      'order-42',
    );
    assert.equal((message['webpush'] as { headers: Record<string, string> }).headers['Topic'], 'order-42');
    // Not a Topic's form (RFC 8030 §5.4): Android and iOS still collapse, the web block goes without.
    const spaced = buildMessage({ title: 'T', collapseKey: 'order 42' }, all).message;
    assert.equal((spaced['android'] as { collapse_key: string }).collapse_key, 'order 42');
    assert.equal('webpush' in spaced && 'Topic' in (spaced['webpush'] as { headers: object }).headers, false);
  });

  it('builds apns and webpush blocks when those platforms are served', () => {
    const { message } = buildMessage(
      { title: 'T', subtitle: 'S', badge: 1, priority: 'normal', ttl: 0, mutableContent: true },
      { platforms: ['android', 'ios', 'web'], now: android.now },
    );
    assert.deepEqual(message['apns'], {
      headers: { 'apns-priority': '5', 'apns-expiration': '0' },
      payload: { aps: { alert: { subtitle: 'S' }, badge: 1, 'mutable-content': 1 } },
    });
    assert.deepEqual(message['webpush'], { headers: { TTL: '0', Urgency: 'normal' } });
    const silent = buildMessage({ silent: true }, { platforms: ['ios'] }).message;
    assert.deepEqual(silent['apns'], {
      headers: { 'apns-push-type': 'background', 'apns-priority': '5' },
      payload: { aps: { 'content-available': 1 } },
    });
  });

  it('reads topic and condition targets from the override', () => {
    assert.deepEqual(buildMessage({ fcm: { topic: '/topics/news' } }, android).target, {
      kind: 'topic',
      topic: 'news',
    });
    assert.deepEqual(buildMessage({ fcm: { condition: "'a' in topics" } }, android).target, {
      kind: 'condition',
      condition: "'a' in topics",
    });
    assert.throws(() => buildMessage({ fcm: { topic: 'a b' } }, android), { code: 'bad-request' });
    assert.throws(() => buildMessage({ fcm: { topic: 'a', condition: "'a' in topics" } }, android), {
      code: 'bad-request',
    });
  });
});

describe('fcm message template', () => {
  it('serialises the body around the token with one concatenation', () => {
    const message = { notification: { title: 'T "q"' }, data: { k: 'v' } };
    const t = new MessageTemplate(message, 'token', false);
    const token = 'abc:"def\\';
    assert.deepEqual(JSON.parse(t.body(token)), { message: { ...message, token } });
    assert.equal(t.messageBytes, Buffer.byteLength(JSON.stringify(message)));
    const dry = new MessageTemplate({}, 'topic', true);
    assert.deepEqual(JSON.parse(dry.body('news')), { message: { topic: 'news' }, validate_only: true });
  });
});

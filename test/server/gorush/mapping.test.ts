/**
 * The gorush → pushline mapping, checked by what reaches the provider: each mapped
 * notification goes through pushline's own APNs and FCM builders, and the result is compared
 * with the payload gorush's builders (`notify/notification_*.go`) produce for the same request.
 * The requests are gorush's README examples first, then the rules one by one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Notification } from '../../../src/notification.js';
import { buildHeaders, inferPushType } from '../../../src/providers/apns/headers.js';
import { buildPayload } from '../../../src/providers/apns/message.js';
import { buildMessage } from '../../../src/providers/fcm/message.js';
import {
  androidNotification,
  type GorushMappingSettings,
  iosNotification,
  type MappedNotification,
  type MappedSend,
  mapGorushNotification,
  NO_DEFAULT_APP,
} from '../../../src/server/gorush/mapping.js';
import { decodePushBody, type GorushPushNotification } from '../../../src/server/gorush/request.js';

const NOW = 1_700_000_000_000;

const settings: GorushMappingSettings = {
  defaultApp: 'main',
  apps: [
    {
      name: 'main',
      platforms: ['ios', 'android', 'huawei'],
      apnsTopics: ['com.example.app'],
      apnsProduction: true,
    },
    { name: 'main-sandbox', platforms: ['ios'], apnsTopics: ['com.example.app'], apnsProduction: false },
    { name: 'other', platforms: ['ios'], apnsTopics: ['com.example.other'] },
  ],
};

/** Decodes a request body as the route does and returns its notifications. */
function decode(body: unknown): GorushPushNotification[] {
  const decoded = decodePushBody(body);
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.problem);
  return decoded.notifications;
}

function sends(m: MappedNotification): MappedSend[] {
  assert.equal(m.kind, 'send', JSON.stringify(m));
  return (m as Extract<MappedNotification, { kind: 'send' }>).sends;
}

/** What pushline's APNs provider sends for a notification: headers and payload. */
function apnsDelivery(notification: Notification, bundleId = 'com.example.app') {
  const pushType = inferPushType(notification);
  return {
    headers: buildHeaders(notification, pushType, bundleId, NOW),
    payload: buildPayload(notification, pushType, NOW),
  };
}

/** What pushline's FCM provider sends (the v1 message without its target). */
function fcmDelivery(notification: Notification) {
  return buildMessage(notification, { platforms: ['android'], now: NOW });
}

const DEFAULT_HEADERS = { 'apns-push-type': 'alert', 'apns-topic': 'com.example.app', 'apns-priority': '10' };

describe("gorush README examples, iOS (apns2's payload)", () => {
  it('title + message: an alert dictionary', () => {
    const [n] = decode({
      notifications: [
        { tokens: ['ios_device_token'], platform: 1, title: 'Hello iOS', message: 'Hello World iOS!' },
      ],
    });
    const [send] = sends(mapGorushNotification(n!, settings));
    assert.equal(send!.app, 'main');
    assert.deepEqual(send!.devices, [{ platform: 'ios', token: 'ios_device_token' }]);
    const d = apnsDelivery(send!.notification);
    assert.deepEqual(d.payload, { aps: { alert: { title: 'Hello iOS', body: 'Hello World iOS!' } } });
    assert.deepEqual(d.headers, DEFAULT_HEADERS);
  });

  it('message only: the alert is a string', () => {
    const [n] = decode({
      notifications: [{ tokens: ['token_a', 'token_b'], platform: 1, message: 'Hello World iOS!' }],
    });
    const m = mapGorushNotification(n!, settings);
    assert.equal((m as { counts: number }).counts, 2);
    const [send] = sends(m);
    assert.equal(send!.devices.length, 2);
    assert.deepEqual(apnsDelivery(send!.notification).payload, { aps: { alert: 'Hello World iOS!' } });
  });

  it('badge + alert with action-loc-key: the whole dictionary as gorush builds it', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          badge: 5,
          alert: { title: 'Game Request', body: 'Bob wants to play poker', 'action-loc-key': 'PLAY' },
        },
      ],
    });
    const [send] = sends(mapGorushNotification(n!, settings));
    assert.deepEqual(apnsDelivery(send!.notification).payload, {
      aps: {
        alert: { title: 'Game Request', body: 'Bob wants to play poker', 'action-loc-key': 'PLAY' },
        badge: 5,
      },
    });
  });

  it('the critical sound object', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          message: 'You got your emails.',
          badge: 9,
          sound: { critical: 1, name: 'default', volume: 1.0 },
        },
      ],
    });
    const [send] = sends(mapGorushNotification(n!, settings));
    assert.deepEqual(apnsDelivery(send!.notification).payload, {
      aps: { alert: 'You got your emails.', badge: 9, sound: { critical: 1, name: 'default', volume: 1 } },
    });
  });

  it('custom data beside aps', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          message: 'Hello World iOS!',
          data: { key1: 'welcome', key2: 2 },
        },
      ],
    });
    const [send] = sends(mapGorushNotification(n!, settings));
    assert.deepEqual(apnsDelivery(send!.notification).payload, {
      aps: { alert: 'Hello World iOS!' },
      key1: 'welcome',
      key2: 2,
    });
  });

  it('production / development choose the app of that APNs environment', () => {
    const [prod, dev] = decode({
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          production: true,
          message: 'Hello World iOS Production!',
        },
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          development: true,
          message: 'Hello World iOS Sandbox!',
        },
      ],
    });
    assert.equal(sends(mapGorushNotification(prod!, settings))[0]!.app, 'main');
    assert.equal(sends(mapGorushNotification(dev!, settings))[0]!.app, 'main-sandbox');
  });

  it('"iOS with Custom Sound": gorush ignores `apns` on iOS, so does the mapping', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['ios_device_token'],
          platform: 1,
          title: 'Important Alert',
          message: 'Critical notification',
          apns: { payload: { aps: { sound: { name: 'custom.wav', critical: 1, volume: 0.8 } } } },
        },
      ],
    });
    const [send] = sends(mapGorushNotification(n!, settings));
    assert.deepEqual(apnsDelivery(send!.notification).payload, {
      aps: { alert: { title: 'Important Alert', body: 'Critical notification' } },
    });
  });

  it('Live Activity push-to-start: the topic selects the app, the push type and topic suffix are kept', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['push_to_start_token'],
          platform: 1,
          push_type: 'liveactivity',
          topic: 'com.example.app.push-type.liveactivity',
          event: 'start',
          timestamp: 1685952000,
          'content-state': { homeScore: 0, awayScore: 0, minute: 1, period: '1H' },
          'attributes-type': 'FootballMatchAttributes',
          attributes: { homeTeam: 'Team 1', awayTeam: 'Team 2', league: 'Premier League' },
          alert: { title: 'Team 1 vs Team 2', body: 'Kick-off! The match has started.' },
        },
      ],
    });
    const m = mapGorushNotification(n!, settings);
    assert.equal((m as { counts: number }).counts, 2, 'gorush counts the topic as a target');
    const [send] = sends(m);
    assert.equal(send!.app, 'main');
    const d = apnsDelivery(send!.notification);
    assert.deepEqual(d.headers, {
      'apns-push-type': 'liveactivity',
      'apns-topic': 'com.example.app.push-type.liveactivity',
      'apns-priority': '10',
    });
    assert.deepEqual(d.payload, {
      aps: {
        alert: { title: 'Team 1 vs Team 2', body: 'Kick-off! The match has started.' },
        timestamp: 1685952000,
        event: 'start',
        'content-state': { homeScore: 0, awayScore: 0, minute: 1, period: '1H' },
        'attributes-type': 'FootballMatchAttributes',
        attributes: { homeTeam: 'Team 1', awayTeam: 'Team 2', league: 'Premier League' },
      },
    });
  });
});

describe('gorush README examples, Android (firebase-admin-go message)', () => {
  it('title + message: FCM notification, one device per token', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 2,
          message: 'Hello World Android!',
          title: 'You got message',
        },
      ],
    });
    const [send] = sends(mapGorushNotification(n!, settings));
    assert.equal(send!.target, 'tokens');
    assert.deepEqual(send!.devices, [
      { platform: 'android', token: 'token_a' },
      { platform: 'android', token: 'token_b' },
    ]);
    assert.deepEqual(fcmDelivery(send!.notification).message, {
      notification: { title: 'You got message', body: 'Hello World Android!' },
    });
  });

  it('fcm_options.analytics_label', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['token_a'],
          platform: 2,
          message: 'Hello World Android!',
          title: 'You got message',
          fcm_options: { analytics_label: 'example' },
        },
      ],
    });
    assert.deepEqual(fcmDelivery(sends(mapGorushNotification(n!, settings))[0]!.notification).message, {
      notification: { title: 'You got message', body: 'Hello World Android!' },
      fcm_options: { analytics_label: 'example' },
    });
  });

  it('`notification` with icon/color: ignored as gorush ignores them (FCM v1 would refuse them)', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 2,
          message: 'Hello World Android!',
          title: 'You got message',
          notification: { icon: 'myicon', color: '#112244' },
        },
      ],
    });
    assert.deepEqual(fcmDelivery(sends(mapGorushNotification(n!, settings))[0]!.notification).message, {
      notification: { title: 'You got message', body: 'Hello World Android!' },
    });
  });

  it('data: string values as they are', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['token_a'],
          platform: 2,
          message: 'Hello World Android!',
          title: 'You got message',
          data: { Nick: 'Mario', body: 'great match!', Room: 'PortugalVSDenmark', n: 2 },
        },
      ],
    });
    assert.deepEqual(fcmDelivery(sends(mapGorushNotification(n!, settings))[0]!.notification).message, {
      data: { Nick: 'Mario', body: 'great match!', Room: 'PortugalVSDenmark', n: '2' },
      notification: { title: 'You got message', body: 'Hello World Android!' },
    });
  });

  it('a topic without tokens: one topic message, counted 1', () => {
    const [n] = decode({
      notifications: [
        { topic: 'highScores', platform: 2, message: 'This is a Firebase Cloud Messaging Topic Message' },
      ],
    });
    const m = mapGorushNotification(n!, settings);
    assert.equal((m as { counts: number }).counts, 1);
    const [send, ...rest] = sends(m);
    assert.equal(rest.length, 0);
    assert.equal(send!.target, 'topic');
    assert.deepEqual(send!.devices, [{ platform: 'android', token: 'highScores' }]);
    const built = fcmDelivery(send!.notification);
    assert.deepEqual(built.target, { kind: 'topic', topic: 'highScores' });
    assert.deepEqual(built.message, {
      notification: { body: 'This is a Firebase Cloud Messaging Topic Message' },
    });
  });

  it('Multiple Platforms: each notification to its own platform', () => {
    const [ios, android] = decode({
      notifications: [
        { tokens: ['ios_token'], platform: 1, message: 'Hello iOS!' },
        { tokens: ['android_token'], platform: 2, message: 'Hello Android!' },
      ],
    });
    assert.deepEqual(apnsDelivery(sends(mapGorushNotification(ios!, settings))[0]!.notification).payload, {
      aps: { alert: 'Hello iOS!' },
    });
    assert.deepEqual(fcmDelivery(sends(mapGorushNotification(android!, settings))[0]!.notification).message, {
      notification: { body: 'Hello Android!' },
    });
  });
});

describe('gorush README examples, Huawei (the hms block as gorush builds message.android)', () => {
  const DEFAULT_NOTIFICATION = {
    default_sound: true,
    importance: 'NORMAL',
    click_action: { type: 1, action: 'Action' },
    visibility: 'PRIVATE',
    foreground_show: true,
    auto_cancel: true,
  };

  it('title + message: the default notification with them', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 3,
          message: 'Hello World Huawei!',
          title: 'You got message',
        },
      ],
    });
    const [send] = sends(mapGorushNotification(n!, settings));
    assert.deepEqual(send!.devices, [
      { platform: 'huawei', token: 'token_a' },
      { platform: 'huawei', token: 'token_b' },
    ]);
    assert.deepEqual((send!.notification as { hms?: unknown }).hms, {
      android: {
        urgency: 'NORMAL',
        ttl: '86400s',
        notification: { ...DEFAULT_NOTIFICATION, body: 'Hello World Huawei!', title: 'You got message' },
      },
    });
  });

  it('huawei_notification replaces the default, click_action defaulted, default_sound set', () => {
    const [n] = decode({
      notifications: [
        {
          tokens: ['token_a'],
          platform: 3,
          message: 'Hello World Huawei!',
          title: 'You got message',
          huawei_notification: { icon: 'myicon', color: '#112244' },
        },
      ],
    });
    assert.deepEqual((sends(mapGorushNotification(n!, settings))[0]!.notification as { hms?: unknown }).hms, {
      android: {
        urgency: 'NORMAL',
        ttl: '86400s',
        notification: {
          icon: 'myicon',
          color: '#112244',
          click_action: { type: 1, action: 'Action' },
          body: 'Hello World Huawei!',
          title: 'You got message',
          default_sound: true,
        },
      },
    });
  });

  it('huawei_data: a string sent as it is (android.data, which replaces message.data on Android), a data message', () => {
    const data = "{'title' : 'Mario','message' : 'great match!', 'Room' : 'PortugalVSDenmark'}";
    const [n] = decode({
      notifications: [{ tokens: ['token_a', 'token_b'], platform: 3, huawei_data: data }],
    });
    assert.deepEqual((sends(mapGorushNotification(n!, settings))[0]!.notification as { hms?: unknown }).hms, {
      android: { urgency: 'NORMAL', ttl: '86400s', data },
    });
  });

  it('a topic: one topic message', () => {
    const [n] = decode({
      notifications: [
        {
          topic: 'foo-bar',
          platform: 3,
          message: 'This is a Huawei Mobile Services Topic Message',
          title: 'You got message',
        },
      ],
    });
    const m = mapGorushNotification(n!, settings);
    assert.equal((m as { counts: number }).counts, 1);
    const [send] = sends(m);
    assert.equal(send!.target, 'topic');
    assert.deepEqual(send!.devices, [{ platform: 'huawei', token: 'foo-bar' }]);
    assert.equal((send!.notification as { hms?: { topic?: string } }).hms?.topic, 'foo-bar');
  });
});

describe('gorush iOS rules', () => {
  const ios = (n: Partial<GorushPushNotification>) => apnsDelivery(iosNotification({ platform: 1, ...n }));

  it('a string sound; name / volume make the critical dictionary from apns2 defaults', () => {
    assert.deepEqual(ios({ message: 'x', sound: 'ping.aiff' }).payload.aps['sound'], 'ping.aiff');
    assert.deepEqual(ios({ message: 'x', name: 'alarm.caf' }).payload.aps['sound'], {
      critical: 1,
      name: 'alarm.caf',
      volume: 1,
    });
    assert.deepEqual(ios({ message: 'x', volume: 0.5 }).payload.aps['sound'], {
      critical: 1,
      name: 'default',
      volume: 0.5,
    });
    // A sound object without a name goes as gorush sends it.
    assert.deepEqual(ios({ message: 'x', sound: { critical: 1 } }).payload.aps['sound'], { critical: 1 });
    // critical 0 is left out (omitempty): not a critical alert.
    assert.deepEqual(ios({ message: 'x', sound: { name: 'soft.caf', volume: 0.5 } }).payload.aps['sound'], {
      name: 'soft.caf',
      volume: 0.5,
    });
  });

  it('headers: priority, expiration, collapse id, push type', () => {
    const d = ios({
      message: 'x',
      priority: 'normal',
      expiration: 1_700_000_600,
      collapse_id: 'c1',
      push_type: 'alert',
    });
    assert.deepEqual(d.headers, {
      'apns-push-type': 'alert',
      'apns-topic': 'com.example.app',
      'apns-priority': '5',
      'apns-expiration': '1700000600',
      'apns-collapse-id': 'c1',
    });
    assert.equal(ios({ message: 'x', expiration: 0 }).headers['apns-expiration'], '0');
    assert.equal(ios({ message: 'x', priority: 'high' }).headers['apns-priority'], '10');
  });

  it('badge 0 clears, a negative badge is left out; flags, thread, category, url-args, levels', () => {
    assert.equal(ios({ message: 'x', badge: 0 }).payload.aps['badge'], 0);
    assert.equal('badge' in ios({ message: 'x', badge: -1 }).payload.aps, false);
    assert.deepEqual(
      ios({
        title: 't',
        mutable_content: true,
        content_available: true,
        'thread-id': 'th',
        category: 'cat',
        'url-args': ['a', 'b'],
        interruption_level: 'time-sensitive',
        'relevance-score': 0.5,
      }).payload.aps,
      {
        alert: { title: 't' },
        'thread-id': 'th',
        category: 'cat',
        'content-available': 1,
        'mutable-content': 1,
        'interruption-level': 'time-sensitive',
        'relevance-score': 0.5,
        'url-args': ['a', 'b'],
      },
    );
  });

  it('the alert dictionary: subtitle and localisation keys', () => {
    assert.deepEqual(
      ios({
        message: 'ignored without a title',
        alert: {
          subtitle: 's',
          'loc-key': 'K',
          'loc-args': ['1'],
          'title-loc-key': 'T',
          'title-loc-args': ['2'],
        },
      }).payload.aps['alert'],
      { subtitle: 's', 'title-loc-key': 'T', 'title-loc-args': ['2'], 'loc-key': 'K', 'loc-args': ['1'] },
    );
  });

  it('a topic with a push-type suffix and no push_type: the suffix says the type', () => {
    const d = ios({ topic: 'com.example.app.voip', data: { call: 1 } });
    assert.equal(d.headers['apns-push-type'], 'voip');
    assert.equal(d.headers['apns-topic'], 'com.example.app.voip');
  });

  it('Live Activity keys outside a Live Activity push go as gorush sends them', () => {
    assert.deepEqual(
      ios({ message: 'x', push_type: 'alert', event: 'update', 'content-state': { a: 1 }, timestamp: 5 })
        .payload.aps,
      { alert: 'x', 'content-state': { a: 1 }, event: 'update', timestamp: 5 },
    );
  });

  it('an unknown topic, or an environment no app serves, is refused, not sent elsewhere', () => {
    const unknown = mapGorushNotification({ platform: 1, tokens: ['t'], topic: 'com.nobody' }, settings);
    assert.equal(unknown.kind, 'rejected');
    assert.match((unknown as { error: string }).error, /no app .* APNs topic 'com.nobody'/);
    const devOnly: GorushMappingSettings = {
      defaultApp: 'p',
      apps: [{ name: 'p', platforms: ['ios'], apnsTopics: ['com.x'], apnsProduction: true }],
    };
    const wrongEnv = mapGorushNotification({ platform: 1, tokens: ['t'], development: true }, devOnly);
    assert.equal(wrongEnv.kind, 'rejected');
    assert.match((wrongEnv as { error: string }).error, /development \(sandbox\) environment/);
    // The topic of another app selects that app.
    const other = mapGorushNotification({ platform: 1, tokens: ['t'], topic: 'com.example.other' }, settings);
    assert.equal(sends(other)[0]!.app, 'other');
  });

  it("gorush's worker checks: no token, one empty token", () => {
    const none = mapGorushNotification({ platform: 1, message: 'x' }, settings);
    assert.deepEqual(none, {
      kind: 'rejected',
      platform: 'ios',
      counts: 0,
      error: 'please provide at least one device token',
      targets: [],
    });
    const empty = mapGorushNotification({ platform: 1, tokens: [''], message: 'x' }, settings);
    assert.equal((empty as { error: string }).error, 'the device token cannot be empty');
  });
});

describe('gorush Android rules', () => {
  const fcm = (n: Partial<GorushPushNotification>) => {
    const built = androidNotification({ platform: 2, ...n });
    assert.equal(typeof built, 'object', String(built));
    return fcmDelivery(built as Notification).message;
  };

  it('priority goes to android.priority; a string sound to android and the APNs payload', () => {
    assert.deepEqual(fcm({ message: 'm', priority: 'high' }), {
      notification: { body: 'm' },
      android: { priority: 'HIGH' },
    });
    assert.deepEqual(fcm({ message: 'm', sound: 'default', priority: 'normal' }), {
      notification: { body: 'm' },
      android: { priority: 'NORMAL', notification: { sound: 'default' } },
      apns: { payload: { aps: { sound: 'default' } } },
    });
  });

  it('a caller-given android block is kept (unknown keys dropped, ttl normalised) and the sound not added to it', () => {
    assert.deepEqual(
      fcm({
        message: 'm',
        sound: 's',
        priority: 'high',
        android: {
          collapse_key: 'k',
          ttl: '3.5',
          bogus: 1,
          notification: { tag: 't', nope: 2 },
          data: { a: 'b' },
        },
      }),
      {
        notification: { body: 'm' },
        android: {
          collapse_key: 'k',
          priority: 'HIGH',
          ttl: '3.5s',
          notification: { tag: 't' },
          data: { a: 'b' },
        },
        apns: { payload: { aps: { sound: 's' } } },
      },
    );
  });

  it('content_available replaces `apns` with a background block carrying the data in aps', () => {
    assert.deepEqual(
      fcm({ content_available: true, data: { k: 'v' }, apns: { headers: { 'apns-priority': '10' } } }),
      {
        data: { k: 'v' },
        apns: { headers: { 'apns-priority': '5' }, payload: { aps: { 'content-available': 1, k: 'v' } } },
      },
    );
  });

  it('mutable_content with content replaces `apns`; webpush passes through', () => {
    assert.deepEqual(
      fcm({
        title: 't',
        mutable_content: true,
        apns: { headers: { x: '1' } },
        webpush: { headers: { Urgency: 'high' }, notification: { dir: 'ltr' } },
      }),
      {
        notification: { title: 't' },
        apns: { payload: { aps: { 'mutable-content': 1 } } },
        webpush: { headers: { Urgency: 'high' }, notification: { dir: 'ltr' } },
      },
    );
  });

  it('a priority firebase-admin-go refuses fails the notification with its message', () => {
    const m = mapGorushNotification({ platform: 2, tokens: ['a'], priority: 'urgent' }, settings);
    assert.equal(m.kind, 'rejected');
    assert.equal(
      (m as { error: string }).error,
      "fcm service send message error: priority must be 'normal' or 'high'",
    );
  });

  it('tokens and a topic: a topic message and the token messages; `to` is sent but not counted', () => {
    const m = mapGorushNotification(
      { platform: 2, tokens: ['a'], to: 'b', topic: 'news', message: 'm' },
      settings,
    );
    assert.equal((m as { counts: number }).counts, 2);
    const [topic, tokens] = sends(m);
    assert.equal(topic!.target, 'topic');
    assert.equal(topic!.notification.fcm?.topic, 'news');
    assert.deepEqual(
      tokens!.devices.map((d) => d.token),
      ['a', 'b'],
    );
    assert.equal(tokens!.notification.fcm, undefined);
  });

  it('a condition: one condition message, counted 0 (gorush counts topics only)', () => {
    const m = mapGorushNotification({ platform: 2, condition: "'a' in topics", message: 'm' }, settings);
    assert.equal((m as { counts: number }).counts, 0);
    const [send] = sends(m);
    assert.deepEqual(fcmDelivery(send!.notification).target, {
      kind: 'condition',
      condition: "'a' in topics",
    });
  });

  it('topic and condition together are refused as firebase-admin-go refuses them', () => {
    const m = mapGorushNotification({ platform: 2, topic: 't', condition: 'c', tokens: ['x'] }, settings);
    assert.equal(m.kind, 'rejected');
    assert.deepEqual((m as { targets: string[] }).targets, ['x', 't', 'c']);
  });
});

describe('gorush Huawei rules and platforms', () => {
  it('priority high, collapse key, ttl, category, bi_tag, fast_app_target, sound', () => {
    const [send] = sends(
      mapGorushNotification(
        {
          platform: 3,
          tokens: ['h'],
          priority: 'high',
          huawei_collapse_key: 3,
          huawei_ttl: '60s',
          category: 'IM',
          bi_tag: 'b',
          fast_app_target: 2,
          sound: '/raw/shake',
          title: 't',
        },
        settings,
      ),
    );
    const hms = (send!.notification as { hms?: { android: Record<string, unknown> } }).hms!;
    assert.deepEqual(hms.android, {
      urgency: 'HIGH',
      ttl: '60s',
      collapse_key: 3,
      category: 'IM',
      bi_tag: 'b',
      fast_app_target: 2,
      notification: {
        default_sound: true,
        importance: 'NORMAL',
        click_action: { type: 1, action: 'Action' },
        visibility: 'PRIVATE',
        foreground_show: true,
        auto_cancel: true,
        title: 't',
        sound: '/raw/shake',
      },
    });
  });

  it('tokens and a topic together are refused (go-hms-push wants one target kind)', () => {
    const m = mapGorushNotification({ platform: 3, tokens: ['h'], topic: 't' }, settings);
    assert.equal((m as { error: string }).error, 'token, topics or condition must be choice one');
  });

  it('an unknown platform, or one the app has no provider for, is ignored and not counted', () => {
    assert.equal(mapGorushNotification({ platform: 4, tokens: ['x'] }, settings).kind, 'ignored');
    assert.equal(mapGorushNotification({ tokens: ['x'] }, settings).kind, 'ignored');
    const iosOnly: GorushMappingSettings = { defaultApp: 'a', apps: [{ name: 'a', platforms: ['ios'] }] };
    assert.equal(mapGorushNotification({ platform: 2, tokens: ['x'] }, iosOnly).kind, 'ignored');
    assert.equal(mapGorushNotification({ platform: 3, tokens: ['x'] }, iosOnly).kind, 'ignored');
  });

  it('several apps and no default: a notification that names no app fails clearly; an iOS topic still selects one', () => {
    const noDefault: GorushMappingSettings = { ...settings, defaultApp: undefined };
    for (const platform of [1, 2, 3]) {
      const m = mapGorushNotification({ platform, tokens: ['x'], message: 'm' }, noDefault);
      assert.equal(m.kind, 'rejected', `platform ${platform}`);
      assert.equal((m as { error: string }).error, NO_DEFAULT_APP);
      assert.equal((m as { counts: number }).counts, 1);
    }
    const byTopic = mapGorushNotification(
      { platform: 1, tokens: ['x'], topic: 'com.example.other' },
      noDefault,
    );
    assert.equal(sends(byTopic)[0]!.app, 'other');
  });

  it('the mapping is pure: the same input maps to equal output, and the input is untouched', () => {
    const input: GorushPushNotification = {
      platform: 2,
      tokens: ['a'],
      sound: 's',
      android: { priority: 'high', notification: { tag: 't' } },
      apns: { payload: { aps: { badge: 1 } } },
    };
    const copy = structuredClone(input);
    const first = mapGorushNotification(input, settings);
    assert.deepEqual(mapGorushNotification(input, settings), first);
    assert.deepEqual(input, copy);
  });
});

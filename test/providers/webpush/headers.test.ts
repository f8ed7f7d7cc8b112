import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushError } from '../../../src/errors.js';
import type { Notification } from '../../../src/notification.js';
import { DEFAULT_TTL_SECONDS, prepareHeaders } from '../../../src/providers/webpush/headers.js';
import { buildPlaintext } from '../../../src/providers/webpush/message.js';

function headersOf(notification: Notification, now = () => 0): Record<string, string | undefined> {
  const prepared = prepareHeaders(notification, now);
  return { ...prepared.fixed, ttl: prepared.ttl() };
}

function assertPushError(fn: () => unknown, code: string, pattern: RegExp) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof PushError);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('Web Push headers', () => {
  it('always sends TTL (default four weeks), aes128gcm and octet-stream', () => {
    assert.deepEqual(headersOf({ title: 'x' }), {
      'content-encoding': 'aes128gcm',
      'content-type': 'application/octet-stream',
      ttl: String(DEFAULT_TTL_SECONDS),
    });
    assert.equal(DEFAULT_TTL_SECONDS, 2_419_200);
  });

  it('maps priority to Urgency; the override can say very-low', () => {
    assert.equal(headersOf({ priority: 'high' }).urgency, 'high');
    assert.equal(headersOf({ priority: 'normal' }).urgency, 'normal');
    assert.equal(headersOf({ priority: 'low' }).urgency, 'low');
    assert.equal(headersOf({ priority: 'high', webpush: { urgency: 'very-low' } }).urgency, 'very-low');
    assert.equal(headersOf({}).urgency, undefined);
    assertPushError(
      () => headersOf({ webpush: { urgency: 'urgent' as never } }),
      'bad-request',
      /Urgency|urgency/,
    );
  });

  it('takes TTL from webpush.ttl, ttl, or the time left until expiresAt', () => {
    assert.equal(headersOf({ ttl: 0 }).ttl, '0');
    assert.equal(headersOf({ ttl: 60, webpush: { ttl: 5 } }).ttl, '5');
    let now = 1_000_000;
    const prepared = prepareHeaders({ expiresAt: new Date(1_000_000 + 90_500) }, () => now);
    assert.equal(prepared.ttl(), '91');
    now += 60_000;
    assert.equal(prepared.ttl(), '31', 'a retry later gets the time that is left');
    now += 120_000;
    assert.equal(prepared.ttl(), '0', 'past expiry: now or never');
    assertPushError(() => headersOf({ ttl: 5, expiresAt: new Date() }), 'bad-request', /exclusive/);
    assertPushError(() => headersOf({ ttl: -1 }), 'bad-request', /whole number/);
    assertPushError(() => headersOf({ ttl: 1.5 }), 'bad-request', /whole number/);
  });

  it('takes Topic from webpush.topic or collapseKey, ≤ 32 base64url characters', () => {
    assert.equal(headersOf({ collapseKey: 'news_sports-1' }).topic, 'news_sports-1');
    assert.equal(headersOf({ collapseKey: 'a', webpush: { topic: 'b' } }).topic, 'b');
    assert.equal(headersOf({ collapseKey: 'x'.repeat(32) }).topic, 'x'.repeat(32));
    assertPushError(() => headersOf({ collapseKey: 'x'.repeat(33) }), 'bad-request', /Topic/);
    assertPushError(() => headersOf({ collapseKey: 'news:sports' }), 'bad-request', /Topic/);
    assertPushError(() => headersOf({ webpush: { topic: '' } }), 'bad-request', /Topic/);
  });
});

describe('Web Push message', () => {
  it('is the documented JSON of the notification, fields present only when set', () => {
    const text = buildPlaintext({
      title: 'Hello',
      subtitle: 'Sub',
      body: 'World',
      image: 'https://example.com/i.png',
      badge: 3,
      threadId: 'thread-1',
      data: { referenceId: 123 },
      category: 'promo',
      silent: false,
      sound: 'default',
      priority: 'high',
      webpush: {
        icon: 'https://example.com/icon.png',
        badge: 'https://example.com/badge.png',
        url: 'https://example.com/product',
        actions: [{ action: 'open', title: 'Open' }],
        requireInteraction: true,
        renotify: true,
        lang: 'en',
        dir: 'ltr',
      },
    }).toString();
    assert.deepEqual(JSON.parse(text), {
      title: 'Hello',
      subtitle: 'Sub',
      body: 'World',
      icon: 'https://example.com/icon.png',
      image: 'https://example.com/i.png',
      badge: 'https://example.com/badge.png',
      badgeCount: 3,
      tag: 'thread-1',
      data: { referenceId: 123 },
      url: 'https://example.com/product',
      category: 'promo',
      actions: [{ action: 'open', title: 'Open' }],
      requireInteraction: true,
      renotify: true,
      lang: 'en',
      dir: 'ltr',
      silent: false,
      sound: 'default',
    });
    assert.equal(buildPlaintext({ title: 'T' }).toString(), '{"title":"T"}');
  });

  it('sends webpush.payload as given instead', () => {
    assert.equal(
      buildPlaintext({ title: 'ignored', webpush: { payload: 'raw text' } }).toString(),
      'raw text',
    );
    const bytes = Buffer.from([0, 1, 2, 255]);
    assert.deepEqual(buildPlaintext({ webpush: { payload: bytes } }), bytes);
  });

  it('refuses more than 3993 bytes with payload-too-large', () => {
    assert.equal(buildPlaintext({ webpush: { payload: 'x'.repeat(3993) } }).length, 3993);
    assertPushError(
      () => buildPlaintext({ webpush: { payload: 'x'.repeat(3994) } }),
      'payload-too-large',
      /3994 bytes/,
    );
    assertPushError(() => buildPlaintext({ body: 'é'.repeat(2000) }), 'payload-too-large', /at most 3993/);
  });
});

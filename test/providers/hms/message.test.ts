/** The v1 message built from the common notification and the `hms` block. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushError } from '../../../src/errors.js';
import { buildMessage, MessageTemplate } from '../../../src/providers/hms/message.js';

describe('hms message', () => {
  it('maps the common fields; the default click action opens the app', () => {
    const { message, dataMessage } = buildMessage(
      {
        title: 'T',
        body: 'B',
        image: 'https://example.com/i.png',
        data: { n: 1, s: 'x' },
        ttl: 99_999_999,
        collapseKey: 'score',
        threadId: 'match-7',
        sound: 'shake.mp3',
        badge: 3,
        priority: 'low',
      },
      { badgeClass: 'com.example.Main' },
    );
    assert.equal(dataMessage, false);
    assert.deepEqual(message, {
      data: '{"n":"1","s":"x"}',
      notification: { title: 'T', body: 'B', image: 'https://example.com/i.png' },
      android: {
        ttl: '1296000s',
        notification: {
          click_action: { type: 3 },
          default_sound: false,
          sound: '/raw/shake',
          tag: 'score',
          group: 'match-7',
          badge: { set_num: 3, class: 'com.example.Main' },
          importance: 'LOW',
        },
      },
    });
  });

  it('category becomes a custom-page action; no badge without the badge class', () => {
    const { message } = buildMessage({ title: 'T', body: 'B', category: 'com.example.OPEN', badge: 1 });
    const android = message['android'] as { notification: Record<string, unknown> };
    assert.deepEqual(android.notification['click_action'], { type: 1, action: 'com.example.OPEN' });
    assert.equal(android.notification['badge'], undefined);
  });

  it('silent or content-less notifications are data messages; high priority → urgency HIGH', () => {
    const silent = buildMessage({ silent: true, data: { a: 'b' }, priority: 'high', title: 'ignored' });
    assert.equal(silent.dataMessage, true);
    assert.deepEqual(silent.message, { data: '{"a":"b"}', android: { urgency: 'HIGH' } });
    const plain = buildMessage({ data: { a: 'b' } });
    assert.equal(plain.dataMessage, true);
  });

  it('a data message carries hms.android.data alone, without an empty message.data beside it', () => {
    const raw = buildMessage({ hms: { android: { data: '{"k":"v"}' } } });
    assert.equal(raw.dataMessage, true);
    assert.deepEqual(raw.message, { android: { data: '{"k":"v"}' } });
    const both = buildMessage({ data: { a: 'b' }, hms: { android: { data: 'raw' } } });
    assert.deepEqual(both.message, { data: '{"a":"b"}', android: { data: 'raw' } });
    // Nothing at all to carry: an empty object, or Huawei would see neither data nor notification.
    assert.deepEqual(buildMessage({ silent: true }).message, { data: '{}' });
  });

  it('hms.condition makes the condition the target, instead of tokens', () => {
    const { target: byCondition } = buildMessage({
      title: 'T',
      body: 'B',
      hms: { condition: "'a' in topics && 'b' in topics" },
    });
    assert.deepEqual(byCondition, { kind: 'condition', condition: "'a' in topics && 'b' in topics" });
  });

  it('the hms block merges over the built message and picks topic or condition', () => {
    const { message, target } = buildMessage({
      title: 'T',
      body: 'B',
      hms: {
        topic: 'news',
        android: {
          category: 'IM',
          notification: { channel_id: 'c', click_action: { type: 2, url: 'https://x' } },
        },
      },
    });
    assert.deepEqual(target, { kind: 'topic', topic: 'news' });
    const android = message['android'] as Record<string, Record<string, unknown>>;
    assert.equal(android['category'], 'IM' as unknown);
    assert.deepEqual(android['notification']!['click_action'], { type: 2, url: 'https://x' });
    assert.equal(android['notification']!['channel_id'], 'c');
    assert.throws(() => buildMessage({ hms: { topic: 'a', condition: "'b' in topics" } }), PushError);
  });

  it('a notification message needs a title and a body (Huawei refuses it otherwise)', () => {
    assert.throws(() => buildMessage({ body: 'only a body' }), /requires a title/);
    assert.doesNotThrow(() => buildMessage({ body: 'B', localization: { titleKey: 'greeting' } }));
  });

  it('the body is the message around the token list; validate_only when asked', () => {
    const template = new MessageTemplate({ data: 'x' }, 'token', true);
    const body = JSON.parse(template.body(['t1', 't2']));
    assert.deepEqual(body, { message: { data: 'x', token: ['t1', 't2'] }, validate_only: true });
    assert.equal(template.messageBytes, Buffer.byteLength(template.body([])) - 2);
  });
});

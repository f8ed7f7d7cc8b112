import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushError } from '../../../src/errors.js';
import type { Notification } from '../../../src/notification.js';
import { inferPushType } from '../../../src/providers/apns/headers.js';
import '../../../src/providers/apns/overrides.js';
import { buildPayload, encodePayload } from '../../../src/providers/apns/message.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

function build(n: Notification) {
  return buildPayload(n, inferPushType(n), NOW);
}

function assertBadRequest(fn: () => unknown, pattern: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PushError);
    assert.equal(e.code, 'bad-request');
    assert.match(e.message, pattern);
    assert.equal(e.retryable, false);
    return true;
  });
}

describe('apns payload: alert', () => {
  it('puts title, subtitle and body in aps.alert', () => {
    assert.deepEqual(build({ title: 'Hello', subtitle: 'Sub', body: 'World' }), {
      aps: { alert: { title: 'Hello', subtitle: 'Sub', body: 'World' } },
    });
  });

  it('maps localisation keys to Apple names', () => {
    const payload = build({
      localization: {
        titleKey: 'T',
        titleArgs: ['a'],
        subtitleKey: 'S',
        subtitleArgs: ['b'],
        bodyKey: 'B',
        bodyArgs: ['c', 'd'],
      },
    });
    assert.deepEqual(payload.aps.alert, {
      'title-loc-key': 'T',
      'title-loc-args': ['a'],
      'subtitle-loc-key': 'S',
      'subtitle-loc-args': ['b'],
      'loc-key': 'B',
      'loc-args': ['c', 'd'],
    });
  });

  it('lets apns.alert override fields and add launch-image', () => {
    const payload = build({
      title: 'common',
      body: 'b',
      apns: { alert: { title: 'apple', launchImage: 'L.png' } },
    });
    assert.deepEqual(payload.aps.alert, { title: 'apple', body: 'b', 'launch-image': 'L.png' });
  });

  it('takes a string apns.alert as the body', () => {
    assert.deepEqual(build({ title: 't', apns: { alert: 'just text' } }).aps.alert, {
      title: 't',
      body: 'just text',
    });
  });

  it('omits alert when nothing is shown', () => {
    assert.deepEqual(build({ badge: 3 }), { aps: { badge: 3 } });
  });

  it('refuses localisation args that are not strings', () => {
    assertBadRequest(() => build({ localization: { bodyArgs: [1 as unknown as string] } }), /bodyArgs/);
  });
});

describe('apns payload: other aps fields', () => {
  it('maps badge, sound, thread-id, category, mutable-content', () => {
    const payload = build({
      badge: 0,
      sound: 'default',
      threadId: 'th',
      category: 'CAT',
      mutableContent: true,
    });
    assert.deepEqual(payload.aps, {
      badge: 0,
      sound: 'default',
      'thread-id': 'th',
      category: 'CAT',
      'mutable-content': 1,
    });
  });

  it('prefers override values over common ones', () => {
    const payload = build({
      badge: 1,
      sound: 'a',
      threadId: 'x',
      category: 'y',
      mutableContent: true,
      apns: { badge: 2, sound: 'b', threadId: 'X', category: 'Y', mutableContent: false },
    });
    assert.deepEqual(payload.aps, { badge: 2, sound: 'b', 'thread-id': 'X', category: 'Y' });
  });

  it('encodes a critical sound dictionary', () => {
    const payload = build({ apns: { sound: { name: 'alarm.caf', critical: true, volume: 0.5 } } });
    assert.deepEqual(payload.aps.sound, { critical: 1, name: 'alarm.caf', volume: 0.5 });
  });

  it('refuses a volume outside 0..1 and a negative badge', () => {
    assertBadRequest(() => build({ apns: { sound: { name: 'a', volume: 2 } } }), /volume/);
    assertBadRequest(() => build({ badge: -1 }), /badge/);
    assertBadRequest(() => build({ badge: 1.5 }), /badge/);
  });

  it('maps interruption-level, relevance-score, target-content-id, filter-criteria, content-available', () => {
    const payload = build({
      body: 'x',
      apns: {
        interruptionLevel: 'time-sensitive',
        relevanceScore: 0.75,
        targetContentId: 'win',
        filterCriteria: 'work',
        contentAvailable: true,
      },
    });
    assert.deepEqual(payload.aps, {
      alert: { body: 'x' },
      'content-available': 1,
      'interruption-level': 'time-sensitive',
      'relevance-score': 0.75,
      'target-content-id': 'win',
      'filter-criteria': 'work',
    });
  });

  it('refuses an unknown interruption level', () => {
    assertBadRequest(
      () => build({ apns: { interruptionLevel: 'loud' as 'active' } }),
      /interruptionLevel must be one of passive, active, time-sensitive, critical/,
    );
  });

  it('merges apns.aps verbatim, last', () => {
    assert.deepEqual(build({ body: 'b', apns: { aps: { 'future-key': true } } }).aps, {
      alert: { body: 'b' },
      'future-key': true,
    });
  });
});

describe('apns payload: silent', () => {
  it('is content-available only', () => {
    assert.deepEqual(build({ silent: true, data: { sync: 1 } }), {
      aps: { 'content-available': 1 },
      sync: 1,
    });
  });

  it('an explicit background push type is silent too', () => {
    assert.deepEqual(build({ apns: { pushType: 'background' } }), { aps: { 'content-available': 1 } });
  });

  it('refuses alert, badge or sound on a silent push', () => {
    assertBadRequest(() => build({ silent: true, title: 'x' }), /silent .*shows nothing.*an alert/);
    assertBadRequest(() => build({ silent: true, badge: 1 }), /a badge/);
    assertBadRequest(() => build({ silent: true, sound: 'default' }), /a sound/);
    assertBadRequest(() => build({ apns: { pushType: 'background' }, body: 'x' }), /shows nothing/);
  });

  it('refuses silent with push type alert', () => {
    assertBadRequest(() => build({ silent: true, apns: { pushType: 'alert' } }), /silent contradicts/);
  });
});

describe('apns payload: live activity', () => {
  it('encodes an update with the prepare time as the default timestamp', () => {
    const stale = new Date(NOW + 3600_000);
    const payload = build({
      apns: { liveActivity: { event: 'update', contentState: { score: '2-1' }, staleDate: stale } },
    });
    assert.deepEqual(payload.aps, {
      timestamp: NOW / 1000,
      event: 'update',
      'content-state': { score: '2-1' },
      'stale-date': NOW / 1000 + 3600,
    });
  });

  it('encodes a start with attributes, alert and input-push-token', () => {
    const payload = build({
      title: 'Kick-off',
      apns: {
        liveActivity: {
          event: 'start',
          timestamp: 1_700_000_000,
          contentState: { score: '0-0' },
          attributesType: 'MatchAttributes',
          attributes: { home: 'A', away: 'B' },
          inputPushToken: true,
        },
      },
    });
    assert.deepEqual(payload.aps, {
      alert: { title: 'Kick-off' },
      timestamp: 1_700_000_000,
      event: 'start',
      'content-state': { score: '0-0' },
      'attributes-type': 'MatchAttributes',
      attributes: { home: 'A', away: 'B' },
      'input-push-token': 1,
    });
  });

  it('encodes an end with dismissal-date', () => {
    const payload = build({
      apns: { liveActivity: { event: 'end', timestamp: 10, dismissalDate: new Date(20_000) } },
    });
    assert.deepEqual(payload.aps, { timestamp: 10, event: 'end', 'dismissal-date': 20 });
  });

  it('validates what each event needs', () => {
    assertBadRequest(
      () => build({ apns: { liveActivity: { event: 'update' } } }),
      /needs apns.liveActivity.contentState/,
    );
    assertBadRequest(
      () => build({ apns: { liveActivity: { event: 'start', contentState: {} } } }),
      /start' needs apns.liveActivity.attributesType and attributes/,
    );
    assertBadRequest(
      () => build({ apns: { liveActivity: { event: 'update', contentState: {}, dismissalDate: 5 } } }),
      /dismissalDate is only for event 'end'/,
    );
    assertBadRequest(
      () => build({ apns: { liveActivity: { event: 'update', contentState: {}, attributesType: 'X' } } }),
      /only for event 'start'/,
    );
  });

  it('needs push type liveactivity, and a liveactivity push needs the block', () => {
    assertBadRequest(
      () => build({ apns: { pushType: 'alert', liveActivity: { event: 'end' } } }),
      /needs push type 'liveactivity'/,
    );
    assertBadRequest(() => build({ apns: { pushType: 'liveactivity' } }), /needs apns.liveActivity/);
  });
});

describe('apns payload: custom data', () => {
  it('goes beside aps, never inside', () => {
    const payload = build({ body: 'b', data: { referenceId: 123, nested: { a: [1] } } });
    assert.deepEqual(payload, { aps: { alert: { body: 'b' } }, referenceId: 123, nested: { a: [1] } });
  });

  it("refuses a data key named 'aps'", () => {
    assertBadRequest(() => build({ data: { aps: { badge: 1 } } }), /cannot have a key named 'aps'/);
  });
});

describe('apns payload: encoding and size', () => {
  it('encodes to UTF-8 JSON bytes', () => {
    const body = encodePayload(build({ body: 'héllo' }), 'alert');
    assert.ok(Buffer.isBuffer(body));
    assert.deepEqual(JSON.parse(body.toString('utf8')), { aps: { alert: { body: 'héllo' } } });
  });

  function payloadOfSize(bytes: number) {
    const base = Buffer.byteLength(JSON.stringify({ aps: {}, d: '' }));
    return { aps: {}, d: 'x'.repeat(bytes - base) };
  }

  it('accepts exactly 4096 bytes and refuses 4097, saying the size and the limit', () => {
    assert.equal(encodePayload(payloadOfSize(4096), 'alert').length, 4096);
    assert.throws(
      () => encodePayload(payloadOfSize(4097), 'alert'),
      (e: unknown) =>
        e instanceof PushError &&
        e.code === 'payload-too-large' &&
        /4097 bytes/.test(e.message) &&
        /at most 4096/.test(e.message),
    );
  });

  it('allows 5120 bytes for voip, not 5121', () => {
    assert.equal(encodePayload(payloadOfSize(5120), 'voip').length, 5120);
    assert.throws(
      () => encodePayload(payloadOfSize(5121), 'voip'),
      (e: unknown) =>
        e instanceof PushError && e.code === 'payload-too-large' && /at most 5120/.test(e.message),
    );
    assert.throws(() => encodePayload(payloadOfSize(4097), 'background'), /at most 4096/);
  });

  it('counts bytes, not characters', () => {
    const base = Buffer.byteLength(JSON.stringify({ aps: {}, d: '' }));
    // 2-byte characters: 2100 of them exceed 4096 bytes though they are fewer than 4096 characters.
    assert.throws(() => encodePayload({ aps: {}, d: 'é'.repeat(2100) }, 'alert'), /payload-too-large|bytes/);
    assert.equal(encodePayload({ aps: {}, d: 'é'.repeat((4096 - base) / 2) }, 'alert').length <= 4096, true);
  });
});

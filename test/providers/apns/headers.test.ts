import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushError } from '../../../src/errors.js';
import type { Notification } from '../../../src/notification.js';
import {
  buildHeaders,
  collapseIdFor,
  expirationFor,
  inferPushType,
  priorityFor,
  TOPIC_SUFFIX,
  topicFor,
} from '../../../src/providers/apns/headers.js';
import { APNS_PUSH_TYPES } from '../../../src/providers/apns/overrides.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const NOW_S = NOW / 1000;

function isBadRequest(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof PushError, 'a PushError');
    assert.equal(e.code, 'bad-request');
    assert.match(e.message, pattern);
    return true;
  };
}

describe('apns headers: push type', () => {
  it('infers alert, background for silent, liveactivity for a Live Activity', () => {
    assert.equal(inferPushType({ title: 'x' }), 'alert');
    assert.equal(inferPushType({}), 'alert');
    assert.equal(inferPushType({ silent: true }), 'background');
    assert.equal(inferPushType({ apns: { liveActivity: { event: 'end' } } }), 'liveactivity');
  });

  it('takes apns.pushType when given', () => {
    assert.equal(inferPushType({ silent: true, apns: { pushType: 'voip' } }), 'voip');
  });

  it('refuses an unknown push type', () => {
    assert.throws(
      () => inferPushType({ apns: { pushType: 'sms' as 'alert' } }),
      isBadRequest(/not one of alert/),
    );
  });
});

describe('apns headers: topic', () => {
  it('adds the suffix of each push type', () => {
    const expected: Record<string, string> = {
      alert: 'com.ex.app',
      background: 'com.ex.app',
      mdm: 'com.ex.app',
      voip: 'com.ex.app.voip',
      complication: 'com.ex.app.complication',
      fileprovider: 'com.ex.app.pushkit.fileprovider',
      liveactivity: 'com.ex.app.push-type.liveactivity',
      location: 'com.ex.app.location-query',
      pushtotalk: 'com.ex.app.voip-ptt',
      widgets: 'com.ex.app.push-type.widgets',
      controls: 'com.ex.app.push-type.controls',
    };
    for (const type of APNS_PUSH_TYPES) assert.equal(topicFor('com.ex.app', type), expected[type], type);
    assert.deepEqual(Object.keys(TOPIC_SUFFIX).sort(), [...APNS_PUSH_TYPES].sort());
  });

  it('does not double a suffix the caller already added', () => {
    assert.equal(topicFor('com.ex.app.voip', 'voip'), 'com.ex.app.voip');
  });
});

describe('apns headers: priority', () => {
  it('maps high/normal/low to 10/5/1 and defaults to 10', () => {
    assert.equal(priorityFor({ priority: 'high' }, 'alert'), 10);
    assert.equal(priorityFor({ priority: 'normal' }, 'alert'), 5);
    assert.equal(priorityFor({ priority: 'low' }, 'alert'), 1);
    assert.equal(priorityFor({}, 'alert'), 10);
  });

  it('lets apns.priority win', () => {
    assert.equal(priorityFor({ priority: 'high', apns: { priority: 1 } }, 'alert'), 1);
  });

  it('forces 5 for background pushes', () => {
    assert.equal(priorityFor({ silent: true }, 'background'), 5);
    assert.equal(priorityFor({ silent: true, priority: 'normal' }, 'background'), 5);
    assert.equal(priorityFor({ apns: { priority: 5 } }, 'background'), 5);
  });

  it('refuses a background push with priority high or low', () => {
    assert.throws(
      () => priorityFor({ silent: true, priority: 'high' }, 'background'),
      isBadRequest(/must use priority 5/),
    );
    assert.throws(
      () => priorityFor({ silent: true, priority: 'low' }, 'background'),
      isBadRequest(/got priority 'low'/),
    );
    assert.throws(
      () => priorityFor({ apns: { priority: 10 } }, 'background'),
      isBadRequest(/apns.priority 10/),
    );
  });

  it('refuses values outside the model', () => {
    assert.throws(() => priorityFor({ apns: { priority: 7 as 5 } }, 'alert'), isBadRequest(/10, 5 or 1/));
    assert.throws(
      () => priorityFor({ priority: 'urgent' as 'high' }, 'alert'),
      isBadRequest(/'high', 'normal' or 'low'/),
    );
  });
});

describe('apns headers: expiration', () => {
  it('is absent without ttl or expiresAt', () => {
    assert.equal(expirationFor({}, NOW), undefined);
  });

  it('is 0 for ttl 0 (deliver now or never)', () => {
    assert.equal(expirationFor({ ttl: 0 }, NOW), 0);
  });

  it('is now + ttl in UNIX seconds', () => {
    assert.equal(expirationFor({ ttl: 3600 }, NOW), NOW_S + 3600);
  });

  it('is expiresAt in UNIX seconds', () => {
    assert.equal(expirationFor({ expiresAt: new Date(NOW + 90_500) }, NOW), NOW_S + 90);
  });

  it('refuses both, a negative ttl and an invalid date', () => {
    assert.throws(() => expirationFor({ ttl: 1, expiresAt: new Date(NOW) }, NOW), isBadRequest(/exclusive/));
    assert.throws(() => expirationFor({ ttl: -1 }, NOW), isBadRequest(/ttl/));
    assert.throws(() => expirationFor({ expiresAt: new Date(Number.NaN) }, NOW), isBadRequest(/valid Date/));
  });
});

describe('apns headers: collapse id', () => {
  it('takes apns.collapseId, else collapseKey', () => {
    assert.equal(collapseIdFor({ collapseKey: 'a' }), 'a');
    assert.equal(collapseIdFor({ collapseKey: 'a', apns: { collapseId: 'b' } }), 'b');
    assert.equal(collapseIdFor({}), undefined);
  });

  it('allows 64 bytes and refuses 65 (counted in UTF-8 bytes)', () => {
    assert.equal(collapseIdFor({ collapseKey: 'x'.repeat(64) }), 'x'.repeat(64));
    assert.throws(
      () => collapseIdFor({ collapseKey: 'x'.repeat(65) }),
      isBadRequest(/65 bytes; APNs allows at most 64/),
    );
    assert.throws(() => collapseIdFor({ collapseKey: 'é'.repeat(33) }), isBadRequest(/66 bytes/));
  });
});

describe('apns headers: the whole set', () => {
  it('builds an alert push', () => {
    const n: Notification = { title: 'x', ttl: 60, collapseKey: 'score', priority: 'high' };
    assert.deepEqual(buildHeaders(n, inferPushType(n), 'com.ex.app', NOW), {
      'apns-push-type': 'alert',
      'apns-topic': 'com.ex.app',
      'apns-priority': '10',
      'apns-expiration': String(NOW_S + 60),
      'apns-collapse-id': 'score',
    });
  });

  it('builds a silent push', () => {
    const n: Notification = { silent: true };
    assert.deepEqual(buildHeaders(n, inferPushType(n), 'com.ex.app', NOW), {
      'apns-push-type': 'background',
      'apns-topic': 'com.ex.app',
      'apns-priority': '5',
    });
  });

  it('builds a Live Activity push', () => {
    const n: Notification = { apns: { liveActivity: { event: 'end' } }, ttl: 0 };
    assert.deepEqual(buildHeaders(n, inferPushType(n), 'com.ex.app', NOW), {
      'apns-push-type': 'liveactivity',
      'apns-topic': 'com.ex.app.push-type.liveactivity',
      'apns-priority': '10',
      'apns-expiration': '0',
    });
  });

  it('never sends apns-id (Apple generates one per request)', () => {
    const headers = buildHeaders({ title: 'x' }, 'alert', 'com.ex.app', NOW);
    assert.equal('apns-id' in headers, false);
  });
});

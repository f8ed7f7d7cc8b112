import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePushBody, pushBodySchema } from '../../../src/server/gorush/request.js';

function problem(body: unknown): string {
  const decoded = decodePushBody(body);
  assert.equal(decoded.ok, false, 'expected a refusal');
  return decoded.ok ? '' : decoded.problem;
}

describe('gorush request decoding (Go encoding/json rules)', () => {
  it('ignores unknown fields at every level', () => {
    const decoded = decodePushBody({
      notifications: [
        { platform: 2, tokens: ['a'], collapse_key: 'legacy', dry_run: true, alert: { nope: 1, title: 't' } },
      ],
      extra: 1,
    });
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.notifications, [{ platform: 2, tokens: ['a'], alert: { title: 't' } }]);
  });

  it('matches field names case-insensitively when no exact name matches; the later key wins', () => {
    const decoded = decodePushBody({ Notifications: [{ PLATFORM: 1, Tokens: ['a'], platform: 2 }] });
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.notifications, [{ platform: 2, tokens: ['a'] }]);
  });

  it('treats null as absent, and a null token as ""', () => {
    const decoded = decodePushBody({
      notifications: [{ platform: 1, tokens: ['a', null], badge: null }, null],
    });
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.notifications, [{ platform: 1, tokens: ['a', ''] }, {}]);
  });

  it('refuses a value of the wrong type, without coercion', () => {
    assert.match(
      problem({ notifications: [{ platform: '1' }] }),
      /notifications\[0\]\.platform: expected an integer/,
    );
    assert.match(
      problem({ notifications: [{ mutable_content: 1 }] }),
      /mutable_content: expected true or false/,
    );
    assert.match(problem({ notifications: [{ badge: 1.5 }] }), /badge: expected an integer/);
    assert.match(problem({ notifications: [{ tokens: 'abc' }] }), /tokens: expected an array/);
    assert.match(problem({ notifications: [{ data: [] }] }), /data: expected an object/);
    assert.match(problem({ notifications: [{ alert: { 'loc-args': [1] } }] }), /alert\.loc-args/);
    assert.match(problem({ notifications: [{ android: { data: { a: 1 } } }] }), /android\.data/);
    assert.match(problem({ notifications: [{ android: { ttl: 'soon' } }] }), /android\.ttl/);
    assert.match(problem({ notifications: [{ huawei_data: { a: 1 } }] }), /huawei_data: expected a string/);
  });

  it('refuses a missing or null notifications list and a body that is not an object; accepts an empty one', () => {
    problem({});
    problem({ notifications: null });
    problem(null);
    problem([]);
    problem({ notifications: {} });
    problem({ notifications: [1] });
    const empty = decodePushBody({ notifications: [] });
    assert.deepEqual(empty, { ok: true, notifications: [] });
  });

  it('accepts sound as anything (string or the critical dictionary)', () => {
    for (const sound of ['default', { critical: 1, name: 'x', volume: 0.5 }, 3]) {
      assert.ok(decodePushBody({ notifications: [{ sound }] }).ok);
    }
  });

  it('publishes a JSON schema that names every field', () => {
    const items = (
      pushBodySchema['properties'] as Record<string, { items: { properties: Record<string, unknown> } }>
    )['notifications']!.items;
    for (const field of [
      'tokens',
      'platform',
      'thread-id',
      'content-state',
      'huawei_notification',
      'relevance-score',
    ]) {
      assert.ok(field in items.properties, field);
    }
  });
});

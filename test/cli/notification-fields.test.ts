/**
 * A notification file with a field pushline does not know is refused, naming the field and
 * the closest known one: a misspelt `bodyy` must not send a push without a body.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EXIT } from '../../src/cli/exit-codes.js';
import { closest } from '../../src/cli/notification-fields.js';
import { notificationFrom } from '../../src/cli/notification-input.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-notification-fields-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function fileWith(value: unknown): string {
  const path = join(dir, `n${++files}.json`);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

function refusal(value: unknown): { message: string; exitCode: number } {
  const path = fileWith(value);
  try {
    notificationFrom({ notification: path });
  } catch (error) {
    return error as { message: string; exitCode: number };
  }
  assert.fail(`${JSON.stringify(value)} was accepted`);
}

describe('unknown fields in --notification file.json', () => {
  test('a misspelt top-level field is refused with a data error, naming it and the field meant', () => {
    const error = refusal({ title: 'Hi', bodyy: 'World' });
    assert.equal(error.exitCode, EXIT.data);
    assert.match(error.message, /unknown field 'bodyy' \(did you mean 'body'\?\)/);
    assert.match(error.message, /known fields: title, subtitle, body,/);
  });

  test('the override blocks and localization are checked too, with their path', () => {
    assert.match(
      refusal({ title: 'Hi', apns: { alrt: 'x' } }).message,
      /unknown field 'apns\.alrt' \(did you mean 'apns\.alert'\?\); known fields of apns: pushType/,
    );
    assert.match(
      refusal({ title: 'Hi', webpush: { requireInteration: true } }).message,
      /'webpush\.requireInteration' \(did you mean 'webpush\.requireInteraction'\?\)/,
    );
    assert.match(
      refusal({ title: 'Hi', fcm: { topc: 'news' } }).message,
      /'fcm\.topc' \(did you mean 'fcm\.topic'\?\)/,
    );
    assert.match(
      refusal({ localization: { bodyKey: 'k', body_args: ['a'] } }).message,
      /'localization\.body_args' \(did you mean 'localization\.bodyArgs'\?\)/,
    );
  });

  test('a field unlike any known one gets no suggestion, only the list', () => {
    const error = refusal({ title: 'Hi', campaign: 42 });
    assert.match(error.message, /unknown field 'campaign'; known fields: /);
  });

  test('every known field, and FCM message fields inside its blocks, pass', () => {
    const notification = notificationFrom({
      notification: fileWith({
        title: 'Hi',
        body: 'World',
        threadId: 't',
        expiresAt: '2030-01-01T00:00:00Z',
        localization: { titleKey: 'k' },
        apns: { interruptionLevel: 'active', aps: { 'custom-key': 1 } },
        fcm: { android: { notification: { channel_id: 'c' } } },
        webpush: { urgency: 'low', dir: 'ltr' },
      }),
    });
    assert.equal(notification.body, 'World');
    assert.deepEqual(notification.expiresAt, new Date('2030-01-01T00:00:00Z'));
  });

  test('closest(): case, _ and - ignored; swaps and typos within a third of the length', () => {
    assert.equal(closest('thread_id', ['threadId', 'title']), 'threadId');
    assert.equal(closest('titel', ['title', 'body']), 'title');
    assert.equal(closest('Title', ['title']), 'title');
    assert.equal(closest('xyz', ['title', 'body']), undefined);
  });
});

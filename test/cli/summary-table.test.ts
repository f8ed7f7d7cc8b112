/** The CLI says what a lost answer leaves uncertain (issue 13): in the table and in each --out line. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summaryTable } from '../../src/cli/summary-table.js';
import { SummaryCounter } from '../../src/engine/summary.js';
import { PushError } from '../../src/errors.js';
import type { Feedback } from '../../src/feedback.js';
import { feedbackLine } from '../../src/stores/ndjson-writer.js';

const device = { platform: 'android' as const, token: 't', id: 7 };
const lost = new PushError('unavailable', 'lost after sending', { provider: 'fcm', maybeDelivered: true });
const maybe: Feedback = {
  device,
  status: 'failed',
  provider: 'fcm',
  attempts: 3,
  error: lost,
  maybeDelivered: true,
};
const duplicate: Feedback = { device, status: 'sent', provider: 'fcm', attempts: 2, maybeDuplicate: true };
const plain: Feedback = { device, status: 'sent', provider: 'fcm', attempts: 1 };

test('the summary table counts maybe-delivered and possible duplicates, only when there are some', () => {
  const counter = new SummaryCounter();
  counter.count(plain);
  assert.doesNotMatch(summaryTable(counter.snapshot()), /maybe/);
  counter.count(maybe);
  counter.count(duplicate);
  counter.count(duplicate);
  const summary = counter.snapshot();
  assert.equal(summary.maybeDelivered, 1);
  assert.equal(summary.maybeDuplicates, 2);
  const table = summaryTable(summary);
  assert.match(table, /1 not sent may have been delivered/);
  assert.match(table, /2 sent may have been delivered twice/);
});

test('an --out line carries maybeDelivered / maybeDuplicate, and the error its own flag', () => {
  const line = JSON.parse(feedbackLine(maybe));
  assert.equal(line.maybeDelivered, true);
  assert.equal(line.error.maybeDelivered, true);
  assert.equal(JSON.parse(feedbackLine(duplicate)).maybeDuplicate, true);
  const usual = JSON.parse(feedbackLine(plain));
  assert.ok(!('maybeDelivered' in usual) && !('maybeDuplicate' in usual), 'absent in the usual case');
});

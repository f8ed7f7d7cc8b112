/**
 * The hot-path counters behind /metrics: a series per distinct label values, found again for the
 * same values (the last one without a walk), whatever order the calls come in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Tally } from '../../src/server/metrics-tally.js';

test('each distinct label values get one series, counted right whatever the order of calls', () => {
  const tally = new Tally<number>(['app', 'status', 'code'], () => 0);
  const calls: Array<[string, string, string | undefined]> = [
    ['a', 'sent', undefined],
    ['a', 'sent', undefined],
    ['a', 'failed', 'timeout'],
    ['a', 'sent', undefined],
    ['b', 'sent', undefined],
    ['a', 'failed', 'timeout'],
    ['a', 'failed', undefined],
  ];
  for (const values of calls) tally.at(...values).value++;
  const counts = tally.series.map((series) => [series.labels, series.value]);
  assert.deepEqual(counts, [
    [{ app: 'a', status: 'sent' }, 3],
    [{ app: 'a', status: 'failed', code: 'timeout' }, 2],
    [{ app: 'b', status: 'sent' }, 1],
    [{ app: 'a', status: 'failed' }, 1],
  ]);
});

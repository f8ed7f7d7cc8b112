/**
 * The heap policy `pushline` runs with (src/cli/heap-policy.ts): applied by default, never over
 * a heap flag the operator gave Node.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { applyHeapPolicy, HEAP_GROWING_PERCENT } from '../../src/cli/heap-policy.js';

test('applied by default: the old generation may double between full collections', () => {
  const set: string[] = [];
  assert.equal(
    applyHeapPolicy([], '', (flags) => set.push(flags)),
    true,
  );
  assert.deepEqual(set, [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
});

test("a heap flag given to Node is the operator's choice: the policy stays out of its way", () => {
  const given: Array<[string[], string]> = [
    [['--max-old-space-size=512'], ''],
    [['--heap-growing-percent=50'], ''],
    [['--heap_growing_percent=50'], ''],
    [[], '--max-old-space-size=256 --enable-source-maps'],
  ];
  for (const [execArgv, nodeOptions] of given) {
    const set: string[] = [];
    assert.equal(
      applyHeapPolicy(execArgv, nodeOptions, (flags) => set.push(flags)),
      false,
      execArgv.join(' ') || nodeOptions,
    );
    assert.deepEqual(set, []);
  }
  // A flag that merely starts the same way is not one of them.
  const set: string[] = [];
  assert.equal(
    applyHeapPolicy(['--max-old-space-size-extra'], '', (flags) => set.push(flags)),
    true,
  );
});

// V8 grows the old generation up to 4× only when the heap's limit is 2 GiB or more (a machine
// with 8 GiB); below, its own factor is already small and the comparison says nothing.
const smallHeap = getHeapStatistics().heap_size_limit < 2 * 1024 ** 3;

test('V8 takes the flag at run time: the old generation of a sender stays near twice what is live', {
  skip: smallHeap ? "V8's heap limit is under 2 GiB here: its own growth factor is already small" : false,
}, () => {
  // Like requests in flight: each object lives while 2,000 younger ones are made (long enough
  // to be promoted to the old generation), then is garbage; 60,000 of ~10 KB in all.
  const script = `
    const { applyHeapPolicy } = await import(${JSON.stringify(fileURLToPath(new URL('../../src/cli/heap-policy.ts', import.meta.url)))});
    if (process.argv[1] === 'policy') applyHeapPolicy([], '');
    const v8 = await import('node:v8');
    const ring = new Array(2000);
    let peak = 0;
    for (let i = 0; i < 60000; i++) {
      ring[i % ring.length] = new Array(1250).fill(i + 0.5);
      if (i % 100 === 0) peak = Math.max(peak, v8.getHeapStatistics().total_heap_size);
    }
    console.log(JSON.stringify({ peakMb: Math.round(peak / 1048576) }));
  `;
  const run = (mode: string) =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, mode], {
        encoding: 'utf8',
      }),
    ) as { peakMb: number };
  const withPolicy = run('policy');
  const without = run('none');
  assert.ok(
    withPolicy.peakMb < without.peakMb * 0.8,
    `peak heap with the policy ${withPolicy.peakMb} MB, without ${without.peakMb} MB`,
  );
});

/**
 * The V8 heap policy the `pushline` process runs with: a full garbage collection once the old
 * generation has doubled since the last one, instead of V8's up to 4× on a machine with ≥ 8 GiB
 * (V8 picks the factor from the heap's limit, a quarter of the memory: 1.3× on a small
 * container, 4× from 2 GiB of heap up).
 *
 * Why: a request in flight lives one round trip — 100 ms to Apple and Google, more under load
 * — so everything it holds survives the young generation's collections and lands in the old
 * one, where it is garbage a moment later; with 4× the old generation is mostly that garbage.
 * bench/latency.ts, 10,000 APNs requests in flight at 100 ms: peak RSS 137 MB without, 125 MB
 * with, at the same pushes per second (before requests in flight shed their promises, 184 and
 * 139 MB). The library cannot choose this for the process it runs in; `pushline` (send, serve,
 * worker) is its own process, and an application can do the same (README, "Performance").
 *
 * A heap flag given to Node (`--heap-growing-percent`, `--max-old-space-size`) is the
 * operator's choice, and wins.
 */
import { setFlagsFromString } from 'node:v8';

/** Old-generation growth between full collections, in percent (100: it may double). */
export const HEAP_GROWING_PERCENT = 100;

/** Flags that say the operator chose a heap policy of their own. */
const OPERATOR_FLAGS = /^--(heap[-_]growing[-_]percent|max[-_]old[-_]space[-_]size)(=|$)/;

/**
 * Applies the policy unless a heap flag was given to Node (on its command line or in
 * NODE_OPTIONS). True when it applied it.
 */
export function applyHeapPolicy(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env['NODE_OPTIONS'] ?? '',
  setFlags: (flags: string) => void = setFlagsFromString,
): boolean {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  if (given.some((flag) => OPERATOR_FLAGS.test(flag))) return false;
  // Read by V8 at each full collection: setting it now holds for the rest of the process.
  setFlags(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}

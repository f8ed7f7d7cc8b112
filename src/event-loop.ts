/** How busy this process's event loop is: the engine and the transport's limiter both ask. */
import { type EventLoopUtilization, performance } from 'node:perf_hooks';

/**
 * A reader of the share of time (0–1) the event loop was busy since the reader's previous call
 * (since its creation, for the first). Each caller keeps its own reader: its own interval.
 */
export function eventLoopBusy(): () => number {
  let before: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const share = performance.eventLoopUtilization(now, before).utilization;
    before = now;
    return share;
  };
}

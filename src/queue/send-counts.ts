/** A delivery's `Summary` as the seam's JSON {@link SendCounts} (no Date, no derived rates). */
import type { Summary } from '../engine/summary.js';
import type { SendCounts } from './dispatch.js';

/** Counts with nothing counted yet (a queued send). */
export function emptyCounts(): SendCounts {
  return {
    total: 0,
    sent: 0,
    validated: 0,
    invalidToken: 0,
    failed: 0,
    errors: {},
    providers: {},
    retries: 0,
    maybeDelivered: 0,
    maybeDuplicates: 0,
  };
}

/** The counts of a summary (a snapshot: later changes to the summary don't show). */
export function sendCounts(summary: Summary): SendCounts {
  return {
    total: summary.total,
    sent: summary.sent,
    validated: summary.validated,
    invalidToken: summary.invalidToken,
    failed: summary.failed,
    errors: { ...summary.errors },
    providers: structuredClone(summary.providers),
    retries: summary.retries,
    maybeDelivered: summary.maybeDelivered,
    maybeDuplicates: summary.maybeDuplicates,
  };
}

/** The end-of-run summary as a table for people (stdout), or a plain object for `--json`. */
import type { Summary } from '../engine/summary.js';
import { formatCount, formatDuration, table } from './format.js';

/** The summary as printed: per provider, then all of them, then failures by code. */
export function summaryTable(summary: Summary): string {
  const rows: string[][] = [['provider', 'sent', 'dead token', 'failed', 'total']];
  for (const [name, counts] of Object.entries(summary.providers).sort(([a], [b]) => a.localeCompare(b))) {
    const total = counts.sent + counts.invalidToken + counts.failed;
    rows.push([
      name,
      formatCount(counts.sent),
      formatCount(counts.invalidToken),
      formatCount(counts.failed),
      formatCount(total),
    ]);
  }
  rows.push([
    'all',
    formatCount(summary.sent),
    formatCount(summary.invalidToken),
    formatCount(summary.failed),
    formatCount(summary.total),
  ]);
  const lines = [table(rows)];
  const failures = Object.entries(summary.errors).filter(([code]) => code !== 'invalid-token');
  if (failures.length > 0) {
    lines.push(
      `  failures by code: ${failures.map(([code, count]) => `${code} ${formatCount(count)}`).join(', ')}`,
    );
  }
  // Said only when it happened: outcomes that a lost answer leaves uncertain (README, "How a send behaves").
  const uncertain: string[] = [];
  if (summary.maybeDelivered > 0) {
    uncertain.push(
      `${formatCount(summary.maybeDelivered)} not sent may have been delivered (maybeDelivered)`,
    );
  }
  if (summary.maybeDuplicates > 0) {
    uncertain.push(
      `${formatCount(summary.maybeDuplicates)} sent may have been delivered twice (maybeDuplicate)`,
    );
  }
  if (uncertain.length > 0) lines.push(`  answer lost after sending: ${uncertain.join(', ')}`);
  lines.push(
    `  ${formatDuration(summary.durationMs)} · ${formatCount(summary.perSecond)} devices/s · ${formatCount(summary.retries)} retries`,
  );
  return lines.join('\n');
}

/** The summary as JSON-ready data. */
export function summaryJson(summary: Summary): Record<string, unknown> {
  return { ...summary, startedAt: summary.startedAt.toISOString() };
}

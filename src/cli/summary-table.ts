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
  lines.push(
    `  ${formatDuration(summary.durationMs)} · ${formatCount(summary.perSecond)} devices/s · ${formatCount(summary.retries)} retries`,
  );
  return lines.join('\n');
}

/** The summary as JSON-ready data. */
export function summaryJson(summary: Summary): Record<string, unknown> {
  return { ...summary, startedAt: summary.startedAt.toISOString() };
}

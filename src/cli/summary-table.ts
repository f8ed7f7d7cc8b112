/** The end-of-run summary as a table for people (stdout), or a plain object for `--json`. */
import type { ProviderCounts, Summary } from '../engine/summary.js';
import type { DryRun, Provider } from '../provider.js';
import { formatCount, formatDuration, table } from './format.js';

/**
 * The summary as printed: per provider, then all of them, then failures by code. A dry run
 * shows `validated` where a send shows `sent` (nothing can be sent in one); `validated` also
 * shows whenever something was (FCM's `validateOnly`).
 */
export function summaryTable(summary: Summary, options: { dryRun?: boolean } = {}): string {
  const showSent = options.dryRun !== true;
  const showValidated = options.dryRun === true || summary.validated > 0;
  const header = ['provider'];
  if (showSent) header.push('sent');
  if (showValidated) header.push('validated');
  header.push('dead token', 'failed', 'total');
  const row = (name: string, c: ProviderCounts, total: number): string[] => {
    const cells = [name];
    if (showSent) cells.push(formatCount(c.sent));
    if (showValidated) cells.push(formatCount(c.validated));
    cells.push(formatCount(c.invalidToken), formatCount(c.failed), formatCount(total));
    return cells;
  };
  const rows: string[][] = [header];
  for (const [name, counts] of Object.entries(summary.providers).sort(([a], [b]) => a.localeCompare(b))) {
    rows.push(row(name, counts, counts.sent + counts.validated + counts.invalidToken + counts.failed));
  }
  rows.push(row('all', summary, summary.total));
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

/** How each provider that had devices checked them in a dry run (by provider name). */
export function dryRunChecks(
  summary: Summary,
  providers: readonly Provider[],
): Record<string, Pick<DryRun, 'mode' | 'checks'> | { mode: 'unsupported' }> {
  const checks: Record<string, Pick<DryRun, 'mode' | 'checks'> | { mode: 'unsupported' }> = {};
  for (const name of Object.keys(summary.providers).sort()) {
    const provider = providers.find((candidate) => candidate.name === name);
    if (provider === undefined) continue; // devices no provider took (`no-provider`)
    const dryRun = provider.dryRun;
    checks[name] = dryRun ? { mode: dryRun.mode, checks: dryRun.checks } : { mode: 'unsupported' };
  }
  return checks;
}

/** The dry-run lines printed above the table: what was validated, and how, per provider. */
export function dryRunLines(checks: ReturnType<typeof dryRunChecks>): string {
  const rows = Object.entries(checks).map(([name, how]) => [
    name,
    how.mode === 'remote'
      ? `checked remotely, nothing delivered: ${how.checks}`
      : how.mode === 'local'
        ? `checked locally, no request: ${how.checks}`
        : 'cannot dry-run: its devices were not sent (failed, config)',
  ]);
  return rows
    .map(([name, text]) => `  ${name!.padEnd(Math.max(...rows.map((r) => r[0]!.length)))}  ${text}`)
    .join('\n');
}

/** The summary as JSON-ready data. */
export function summaryJson(summary: Summary): Record<string, unknown> {
  return { ...summary, startedAt: summary.startedAt.toISOString() };
}

/** Number and duration formatting shared by the progress line and the summary table. */
import { sanitize } from './sanitize.js';

const counts = new Intl.NumberFormat('en-US');

/** 12345 → `12,345`. */
export const formatCount = (value: number): string => counts.format(value);

/** Milliseconds → `850 ms`, `4.2 s`, `3 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

/**
 * A table of rows (the first is the header); the first column left-aligned, the others right.
 * Cells are sanitised (see sanitize.ts): a name in a cell may come from a config or a server.
 */
export function table(cells: readonly (readonly string[])[], indent = '  '): string {
  const rows = cells.map((row) => row.map((cell) => sanitize(cell)));
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

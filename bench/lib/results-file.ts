/**
 * bench/RESULTS.md is written by several benchmarks: `npm run bench` (bench/run.ts) owns the top
 * of the file, and each separate benchmark owns one `## ` section of its own, replaced in place
 * when it runs again and kept when another benchmark rewrites its part.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PATH = fileURLToPath(new URL('../RESULTS.md', import.meta.url));

/** The headings of the sections the separate benchmarks own, in the order they are kept. */
export const OWN_SECTIONS = [
  '## Lanes in one mixed send', // bench/lanes.ts
  '## Server', // bench/server.ts
  '## HMS (Huawei Push Kit)', // bench/hms.ts
  '## Queue (Redis, BullMQ)', // bench/queue.ts
  '## Latency (a distant server)', // bench/latency.ts
] as const;

const read = () => (existsSync(PATH) ? readFileSync(PATH, 'utf8') : '');

/** Where the section under `heading` starts and ends in `text` (undefined when absent). */
function find(text: string, heading: string): { at: number; end: number } | undefined {
  const at = text.search(new RegExp(`^${heading.replace(/[()]/g, '\\$&')}$`, 'm'));
  if (at < 0) return undefined;
  const next = text.indexOf('\n## ', at + 1);
  return { at, end: next < 0 ? text.length : next + 1 };
}

/** Replaces (or appends) one benchmark's own section. */
export function writeSection(heading: (typeof OWN_SECTIONS)[number], section: string): void {
  const old = read();
  const place = find(old, heading);
  const body = `${section.trimEnd()}\n`;
  writeFileSync(
    PATH,
    place === undefined
      ? `${old.trimEnd()}\n\n${body}`
      : `${old.slice(0, place.at)}${body}${place.end < old.length ? `\n${old.slice(place.end)}` : ''}`,
  );
}

/** Writes `npm run bench`'s report, keeping every section the separate benchmarks own. */
export function writeMainReport(markdown: string): void {
  const old = read();
  const kept = OWN_SECTIONS.map((heading) => {
    const place = find(old, heading);
    return place === undefined ? '' : `\n${old.slice(place.at, place.end).trimEnd()}\n`;
  }).join('');
  writeFileSync(PATH, `${markdown.trimEnd()}\n${kept}`);
}

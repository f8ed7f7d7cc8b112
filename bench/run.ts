/**
 * `npm run bench`: runs each benchmark in a fresh child process (so peak RSS is that run's
 * alone), repeats it, and prints medians with their spread. Add `--json` for machines.
 * Benchmarks are not tests: the suite never times anything.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface EngineResult {
  devices: number;
  seconds: number;
  perSecond: number;
  peakRssMb: number;
  cpuSeconds: number;
}

const repeats = 3;
const json = process.argv.includes('--json');
const engineScript = fileURLToPath(new URL('./engine.ts', import.meta.url));

function runEngine(devices: number): EngineResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', engineScript, String(devices)], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as EngineResult;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const sizes = [100_000, 1_000_000];
const runs = new Map<number, EngineResult[]>(sizes.map((size) => [size, []]));
// Alternate sizes so drift on a noisy machine hits both alike.
for (let i = 0; i < repeats; i++) for (const size of sizes) runs.get(size)!.push(runEngine(size));

const rows = sizes.map((size) => {
  const results = runs.get(size)!;
  const perSecond = results.map((r) => r.perSecond);
  const rss = results.map((r) => r.peakRssMb);
  return {
    devices: size,
    perSecond: median(perSecond),
    perSecondRange: [Math.min(...perSecond), Math.max(...perSecond)],
    peakRssMb: median(rss),
    peakRssRange: [Math.min(...rss), Math.max(...rss)],
    cpuSecondsPer100k: Number(((median(results.map((r) => r.cpuSeconds)) * 100_000) / size).toFixed(3)),
  };
});
const rssGrowth = rows[1]!.peakRssMb / rows[0]!.peakRssMb - 1;

if (json) {
  console.log(JSON.stringify({ engine: rows, rssGrowth }, null, 2));
} else {
  console.log(
    `engine overhead: generator → instant provider, window 1000, ${repeats} runs each, medians [min–max]`,
  );
  for (const row of rows) {
    console.log(
      `  ${row.devices.toLocaleString('en').padStart(9)} devices  ${row.perSecond.toLocaleString('en').padStart(10)} devices/s [${row.perSecondRange.join('–')}]` +
        `  peak RSS ${row.peakRssMb} MB [${row.peakRssRange.join('–')}]  CPU ${row.cpuSecondsPer100k} s per 100k`,
    );
  }
  console.log(
    `  peak RSS 1M vs 100k: ${rssGrowth >= 0 ? '+' : ''}${(rssGrowth * 100).toFixed(0)}% (target: within 20%, under 150 MB)`,
  );
}

/**
 * FCM topic subscriptions/s: `client.subscribe(topic, devices)` moving N tokens (100,000 and
 * 1,000,000 by default), 1,000 a request, against the FCM emulator's Instance ID API in sink
 * mode, each run in its own process. Reports tokens/s, the sender's CPU seconds and peak RSS:
 * memory stays flat from 100k to 1M because devices are streamed, never buffered.
 *
 *   node --import tsx bench/topics.ts [--sizes 100000,1000000] [--runs 1] [--window N] [--json]
 *
 * Prints a Markdown table (bench/RESULTS.md is the coordinator's to update). Senders run
 * under tsx.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processCpuSeconds } from './lib/proc.js';
import type { ClientResult } from './lib/report.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    runs: { type: 'string', default: '1' },
    window: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const sizes = values.sizes.split(',').map(Number);
const runs = Number(values.runs);

const child = spawn(process.execPath, ['--import', 'tsx', here('./topics/emulator.ts')], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];

type Result = ClientResult & { sinkCpuSeconds?: number };
function runSender(tokens: number): Promise<Result> {
  const args = ['--import', 'tsx', here('./topics/sender.ts'), line, String(tokens)];
  if (values.window !== undefined) args.push(values.window);
  const before = processCpuSeconds(child.pid!);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { encoding: 'utf8', timeout: 900_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`sender: ${error.message}\n${stderr.slice(-2000)}`));
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Result;
      const after = processCpuSeconds(child.pid!);
      if (before !== undefined && after !== undefined)
        result.sinkCpuSeconds = Math.round((after - before) * 100) / 100;
      resolve(result);
    });
  });
}

const results: Result[] = [];
const loadBefore = loadavg()[0]!;
try {
  for (let run = 0; run < runs; run++) {
    for (const size of sizes) {
      const result = await runSender(size);
      results.push(result);
      if (!values.json) process.stderr.write(`run ${run + 1}, ${size}: ${JSON.stringify(result)}\n`);
    }
  }
} finally {
  child.stdin!.end();
  await once(child, 'exit');
}

const n = (x: number) => x.toLocaleString('en-US');
const table = [
  `\`node --import tsx bench/topics.ts --sizes ${values.sizes} --runs ${runs}${values.window ? ` --window ${values.window}` : ''}\` on ${new Date().toISOString()} (load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after; 2 cores, shared). \`client.subscribe('bench-news', devices)\` with \`fcm()\`, devices from a generator, 1,000 tokens a request, against the FCM emulator's Instance ID API in sink mode in its own process (token and headers checked, body parsed and validated). Senders run under tsx.`,
  '',
  '| tokens | tokens/s | seconds | sender CPU s | CPU s per 10k | peak RSS | emulator CPU s | failed |',
  '|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${n(r.pushes)} | ${n(r.perSecond)} | ${r.seconds} | ${r.cpuSeconds} | ${r.cpuPer10k} | ${r.peakRssMb} MB | ${r.sinkCpuSeconds ?? '—'} | ${r.failed} |`,
  ),
  '',
].join('\n');
if (values.json) console.log(JSON.stringify({ sizes, runs, results }));
else console.log(table);

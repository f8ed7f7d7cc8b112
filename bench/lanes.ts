/**
 * Lane independence in one mixed send (issue 13, point 4): APNs pushes/s while FCM, in the
 * same send and the same source (50/50 interleaved), is healthy, in a 100% 503 storm, or
 * answering after 1 s. Each case runs 3× (alternated), each run in fresh processes (emulators
 * in one, the sender in another); medians reported, with peak RSS of the sender.
 *
 *   node --import tsx bench/lanes.ts [--compare <dir>] [--runs 3] [--warmup 2] [--measure 4] [--json] [--write]
 *
 * `--write` puts the tables in bench/RESULTS.md, section "Lanes in one mixed send" (replaced
 * if there; `npm run bench` keeps it when it rewrites the file).
 *
 * `--compare` also runs another copy of pushline's sources (e.g. the commit before a change,
 * extracted with `git archive <commit> src | tar -x -C <dir>`, with a node_modules link),
 * alternating with this one run by run, so before and after meet the same machine load.
 * Senders run under tsx (not compiled), which adds ~40 MB to every peak RSS alike.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSection } from './lib/results-file.js';

const { values } = parseArgs({
  options: {
    compare: { type: 'string' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    measure: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
  },
});
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const runs = Number(values.runs);

interface SenderResult {
  apnsPerSecond: number;
  fcmSentPerSecond: number;
  fcmFailedPerSecond: number;
  fcmFailedFastPerSecond: number;
  peakRssMb: number;
  reasons: Record<string, number>;
}

const CASES = [
  { name: 'FCM healthy (baseline)', mode: 'healthy' },
  { name: 'FCM 100% 503', mode: '503' },
  { name: 'FCM answers after 1 s', mode: 'slow' },
] as const;

async function startEmulators(mode: string): Promise<{ child: ChildProcess; target: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', here('./lanes/emulators.ts'), mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, target: line };
}

function runSender(target: string, src: string | undefined): Promise<SenderResult> {
  const args = ['--import', 'tsx', here('./lanes/sender.ts'), target, values.warmup!, values.measure!];
  if (src) args.push(src);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`sender: ${error.message}\n${stderr.slice(-2000)}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as SenderResult);
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

/** This checkout's sources (undefined), and the ones to compare with. */
const sources: Array<string | undefined> = values.compare ? [values.compare, undefined] : [undefined];
const label = (src: string | undefined) => src ?? 'this checkout';
const results = new Map<string, SenderResult[]>();
for (let run = 0; run < runs; run++) {
  for (const c of CASES) {
    for (const src of sources) {
      const { child, target } = await startEmulators(c.mode);
      try {
        const result = await runSender(target, src);
        const key = `${label(src)}|${c.mode}`;
        results.set(key, [...(results.get(key) ?? []), result]);
        if (!values.json)
          process.stderr.write(`run ${run + 1} ${label(src)} ${c.name}: ${JSON.stringify(result)}\n`);
      } finally {
        child.stdin!.end();
        await once(child, 'exit');
      }
    }
  }
}

const tables = sources.map((src) => {
  const rows = CASES.map((c) => {
    const rs = results.get(`${label(src)}|${c.mode}`)!;
    return {
      case: c.name,
      apnsPerSecond: median(rs.map((r) => r.apnsPerSecond)),
      apnsRuns: rs.map((r) => r.apnsPerSecond),
      fcmSentPerSecond: median(rs.map((r) => r.fcmSentPerSecond)),
      fcmFailedPerSecond: median(rs.map((r) => r.fcmFailedPerSecond)),
      fcmFailedFastPerSecond: median(rs.map((r) => r.fcmFailedFastPerSecond)),
      peakRssMb: median(rs.map((r) => r.peakRssMb)),
    };
  });
  return { src: label(src), rows };
});
const n = (x: number) => x.toLocaleString('en-US');
const lines: string[] = [];
for (const { src, rows } of tables) {
  const baseline = rows[0]!.apnsPerSecond;
  lines.push(
    '',
    `Sources: ${src === 'this checkout' ? 'this commit' : `\`${src}\``}.`,
    '',
    '| case | APNs pushes/s, median (runs) | APNs vs baseline | FCM sent/s | FCM failed/s (of which without a request) | sender peak RSS |',
    '|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    const ratio = r === rows[0] ? '—' : `${Math.round((r.apnsPerSecond / baseline - 1) * 100)}%`;
    lines.push(
      `| ${r.case} | ${n(r.apnsPerSecond)} (${r.apnsRuns.map(n).join(', ')}) | ${ratio} | ${n(r.fcmSentPerSecond)} | ${n(r.fcmFailedPerSecond)} (${n(r.fcmFailedFastPerSecond)}) | ${r.peakRssMb} MB |`,
    );
  }
}
const section = [
  '## Lanes in one mixed send',
  '',
  `Generated by \`node --import tsx bench/lanes.ts${values.compare ? ' --compare <previous sources>' : ''}\` on ${new Date().toISOString()} (load average ${loadavg()[0]!.toFixed(1)} at the end, 2 cores). One \`PushClient\` with \`apns()\` and \`fcm()\`, one endless source alternating iOS and Android devices (50/50), against the emulators in their own process (APNs in sink mode; FCM in sink mode, in a 100% 503 storm, or answering after 1 s). ${values.warmup} s warm-up, then ${values.measure} s measured, then abort; ${runs} runs per case, each in fresh processes, cases${values.compare ? ' and sources' : ''} alternated; medians. Senders run under tsx.`,
  ...lines,
  '',
  'APNs pushes/s is the measure, each case against the baseline of the same sources. With independent lanes APNs may beat its baseline in the trouble cases: the baseline send is paced by both lanes (every other device is FCM\'s and is sent), while an FCM device failed fast (`attempts: 0`, "without a request") costs next to nothing. The issue\'s target: no case below −20%.',
  '',
].join('\n');
if (values.write) writeSection('## Lanes in one mixed send', section);
if (values.json) console.log(JSON.stringify({ runs, tables }));
else console.log(section);

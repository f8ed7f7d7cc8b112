/**
 * Personalised sends vs a shared notification, per provider, on the same loopback sink as
 * `npm run bench` (nginx when installed, else the emulators in sink mode); each run in its
 * own compiled client process, modes alternated round by round, medians printed.
 *
 *   node --import tsx bench/personalised.ts [pushes=20000] [rounds=3]
 *
 * Modes: see bench/clients/personalised.ts (shared, locales, equal, unique).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClients, type RunResult, runClient, which } from './lib/proc.js';
import { startSink } from './sink/index.js';

const pushes = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);
const kinds = ['apns', 'fcm', 'webpush'] as const;
const modes = ['shared', 'locales', 'equal', 'unique'] as const;
const log = (line: string) => process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'pushline-bench-personalised-'));
buildClients();
const sink = await startSink(which('nginx') ? 'nginx' : 'emulator', dir, 1000);
const targetPath = join(dir, 'target.json');
writeFileSync(targetPath, JSON.stringify(sink.target));
log(`sink: ${sink.description}`);

const results = new Map<string, RunResult[]>();
try {
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      // Web Push encrypts every message anyway: a quarter of the pushes keeps the run short.
      const count = kind === 'webpush' ? Math.ceil(pushes / 4) : pushes;
      for (const mode of modes) {
        const result = await runClient(
          'clients/personalised.ts',
          [targetPath, kind, String(count), mode],
          sink.pid,
        );
        if (result.failed > 0)
          log(`${kind} ${mode}: ${result.failed} failed ${JSON.stringify(result.failures)}`);
        const key = `${kind} ${mode}`;
        results.set(key, [...(results.get(key) ?? []), result]);
      }
    }
  }
} finally {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(
  `| provider | notification | pushes | pushes/s (median of ${rounds}) | CPU s per 10k | peak RSS MB |`,
);
console.log('|---|---|---:|---:|---:|---:|');
for (const [key, runs] of results) {
  const [kind, mode] = key.split(' ');
  console.log(
    `| ${kind} | ${mode} | ${runs[0]!.pushes} | ${median(runs.map((r) => r.perSecond))} | ${median(runs.map((r) => r.cpuPer10k))} | ${median(runs.map((r) => r.peakRssMb))} |`,
  );
}

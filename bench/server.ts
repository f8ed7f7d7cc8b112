/**
 * The server's cost (issue 14, point 9), against the same loopback sink as `npm run bench`
 * (nginx when installed, else the emulators in sink mode):
 *
 *  - library: one `PushClient` with `apns()` sends one notification to N generated devices
 *    (bench/clients/pushline.ts, its own compiled process);
 *  - library-ndjson: the same, with the server's input and output: the devices read from an
 *    NDJSON file of the lines the server is uploaded (`ndjsonDevices`), every feedback written
 *    as a JSON line to a file (`ndjsonFeedbackWriter`), as the server records it;
 *  - server: the same send through `pushline serve`'s app (`buildServer()` + the in-process
 *    `LocalDispatcher` over the same kind of client, its own compiled process, fresh for each
 *    run): uploaded as an NDJSON body to `POST /v1/sends` from this process, timed from the
 *    first byte of the upload until `GET /v1/sends/:id` says it has ended;
 *  - `/api/push`: gorush's route with one token a request, driven by autocannon from this
 *    process (`--connections` connections, `--warmup` s unmeasured, then `--duration` s).
 *
 * Cases take turns in every round (each round starts with the next one); medians over `--runs`
 * rounds. Server overhead = 1 − server pushes/s ÷ library pushes/s, against both libraries.
 *
 *   node --import tsx bench/server.ts [--devices 100000] [--runs 3] [--duration 10]
 *     [--connections 50] [--warmup 3] [--cases library,library-ndjson,server,api-push,api-push-sync] [--profile <dir>]
 *     [--json] [--write]
 *
 * `--write` puts the tables in bench/RESULTS.md, section "Server" (replaced if there).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateApiKey } from '../src/server/auth.js';
import { buildClients, peakRssMb, processCpuSeconds, type RunResult, runClient, which } from './lib/proc.js';
import { writeSection } from './lib/results-file.js';
import {
  getJson,
  loadApiPush,
  ndjsonDeviceLines,
  type SendStatusBody,
  startServer,
  uploadSend,
  waitForSend,
} from './server/client.js';
import { startSink } from './sink/index.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '3' },
    cases: { type: 'string', default: 'library,library-ndjson,server,api-push,api-push-sync' },
    profile: { type: 'string' },
    json: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
  },
});
const devices = Number(values.devices);
const runs = Number(values.runs);
const duration = Number(values.duration);
const connections = Number(values.connections);
const warmup = Number(values.warmup);
const cases = new Set(values.cases.split(','));
/**
 * `--profile <dir>`: every server process and library client writes a V8 CPU profile there
 * (`CPU.*.cpuprofile`, in the order they ran; read with bench/profile-summary.ts).
 */
const serverArgs = values.profile ? ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] : [];
const log = (line: string) => process.stderr.write(`${line}\n`);
const load = () => loadavg()[0]!.toFixed(1);
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** One run of the send through the server, as seen from outside. */
interface ServerSendResult {
  perSecond: number;
  seconds: number;
  sent: number;
  failed: number;
  /** The server process's CPU over the run, per 10k pushes. */
  cpuPer10k: number;
  sinkCpuPer10k: number;
  /** This process's CPU (making and uploading the NDJSON, polling), per 10k pushes. */
  uploaderCpuPer10k: number;
  peakRssMb: number;
  load: string;
}

interface GorushStat {
  ios: { push_success: number; push_error: number };
}

interface ApiPushResult {
  perSecond: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Pushes the server counted as sent (`/api/stat/app` ios.push_success) once the run ended. */
  pushesSent: number;
  /** Pushes it counted as failed (ios.push_error): refused by the dispatcher, or failed. */
  pushesFailed: number;
  /** Server CPU ms per request over the measured window. */
  cpuMsPerRequest: number;
  /** Share of one core the server used over the measured window. */
  cpuCores: number;
  peakRssMb: number;
  load: string;
}

const dir = mkdtempSync(join(tmpdir(), 'pushline-bench-server-'));
buildClients();
const sink = await startSink(which('nginx') ? 'nginx' : 'emulator', dir, 1);
const targetPath = join(dir, 'target.json');
writeFileSync(targetPath, JSON.stringify(sink.target));
const { key, hash } = generateApiKey();
const topic = sink.target.apns.topic;
log(`sink: ${sink.description}; load ${load()}`);

async function runLibrary(): Promise<RunResult & { load: string }> {
  const result = await runClient(
    'clients/pushline.ts',
    [targetPath, 'apns', String(devices)],
    sink.pid,
    180_000,
    serverArgs,
  );
  return { ...result, load: load() };
}

/** The devices the server is uploaded, as a file for the library's NDJSON run. */
const devicesFile = join(dir, 'devices.ndjson');
writeFileSync(devicesFile, ndjsonDeviceLines(0, devices));

async function runLibraryNdjson(): Promise<RunResult & { load: string }> {
  try {
    const result = await runClient(
      'clients/pushline.ts',
      [targetPath, 'apns', String(devices), 'ndjson', devicesFile],
      sink.pid,
      180_000,
      serverArgs,
    );
    return { ...result, load: load() };
  } finally {
    rmSync(`${devicesFile}.feedback.ndjson`, { force: true });
  }
}

async function runServerSend(): Promise<ServerSendResult> {
  const server = await startServer(targetPath, hash, serverArgs);
  try {
    const cpuBefore = processCpuSeconds(server.pid)!;
    const sinkBefore = processCpuSeconds(sink.pid)!;
    const ownBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const id = await uploadSend(server.port, key, 'bench', devices);
    const status: SendStatusBody = await waitForSend(server.port, key, id);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const own = process.cpuUsage(ownBefore);
    const cpu = processCpuSeconds(server.pid)! - cpuBefore;
    const sinkCpu = processCpuSeconds(sink.pid)! - sinkBefore;
    if (status.state !== 'done' || status.counts.total !== devices) {
      throw new Error(`the send ended ${status.state} with ${JSON.stringify(status.counts)}`);
    }
    const per10k = (x: number) => round3((x * 10_000) / devices);
    return {
      perSecond: Math.round(status.counts.sent / seconds),
      seconds: round3(seconds),
      sent: status.counts.sent,
      failed: status.counts.failed + status.counts.invalidToken,
      cpuPer10k: per10k(cpu),
      sinkCpuPer10k: per10k(sinkCpu),
      uploaderCpuPer10k: per10k((own.user + own.system) / 1e6),
      peakRssMb: peakRssMb(server.pid)!,
      load: load(),
    };
  } finally {
    await server.stop();
  }
}

async function runApiPush(sync: boolean): Promise<ApiPushResult> {
  const server = await startServer(targetPath, hash, serverArgs);
  try {
    if (warmup > 0) await loadApiPush(server.port, key, topic, warmup, connections, sync);
    const before = await getJson<GorushStat>(server.port, '/api/stat/app', key);
    const cpuBefore = processCpuSeconds(server.pid)!;
    const result = await loadApiPush(server.port, key, topic, duration, connections, sync);
    const cpu = processCpuSeconds(server.pid)! - cpuBefore;
    const rss = peakRssMb(server.pid)!;
    // The last requests' sends settle after their 200s: let them, then count what was sent.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = await getJson<GorushStat>(server.port, '/api/stat/app', key);
    const requests = result.requests.total;
    return {
      perSecond: Math.round(result['2xx'] / result.duration),
      p50: result.latency.p50,
      p99: result.latency.p99,
      requests,
      non2xx: result.non2xx,
      errors: result.errors,
      pushesSent: after.ios.push_success - before.ios.push_success,
      pushesFailed: after.ios.push_error - before.ios.push_error,
      cpuMsPerRequest: round3((cpu * 1000) / Math.max(1, requests)),
      cpuCores: Math.round((cpu / result.duration) * 100) / 100,
      peakRssMb: rss,
      load: load(),
    };
  } finally {
    await server.stop();
  }
}

const library: Array<RunResult & { load: string }> = [];
const libraryNdjson: Array<RunResult & { load: string }> = [];
const server: ServerSendResult[] = [];
const apiPush: ApiPushResult[] = [];
const apiPushSync: ApiPushResult[] = [];
try {
  for (let run = 0; run < runs; run++) {
    // Each round starts with the next case: none always runs first.
    const turns = [
      async () => {
        if (!cases.has('library')) return;
        const r = await runLibrary();
        library.push(r);
        log(`run ${run + 1} library: ${JSON.stringify(r)}`);
      },
      async () => {
        if (!cases.has('library-ndjson')) return;
        const r = await runLibraryNdjson();
        libraryNdjson.push(r);
        log(`run ${run + 1} library (NDJSON in and out): ${JSON.stringify(r)}`);
      },
      async () => {
        if (!cases.has('server')) return;
        const r = await runServerSend();
        server.push(r);
        log(`run ${run + 1} server: ${JSON.stringify(r)}`);
      },
    ];
    for (let turn = 0; turn < turns.length; turn++) await turns[(run + turn) % turns.length]!();
    for (const sync of [false, true]) {
      if (!cases.has(sync ? 'api-push-sync' : 'api-push')) continue;
      const r = await runApiPush(sync);
      (sync ? apiPushSync : apiPush).push(r);
      log(`run ${run + 1} /api/push${sync ? '?sync=true' : ''}: ${JSON.stringify(r)}`);
    }
  }
} finally {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
}

if (
  library.length === 0 ||
  libraryNdjson.length === 0 ||
  server.length === 0 ||
  apiPush.length === 0 ||
  apiPushSync.length === 0
) {
  // Some cases left out (--cases): no table, the runs as they are.
  console.log(JSON.stringify({ devices, runs, library, libraryNdjson, server, apiPush, apiPushSync }));
  process.exit(0);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};
const n = (x: number) => x.toLocaleString('en-US');
const pct = (x: number) => `${Math.round(x * 100)}%`;
const libraryRate = median(library.map((r) => r.perSecond));
const libraryNdjsonRate = median(libraryNdjson.map((r) => r.perSecond));
const serverRate = median(server.map((r) => r.perSecond));
const overhead = 1 - serverRate / libraryRate;
const ndjsonOverhead = 1 - serverRate / libraryNdjsonRate;
const pairedOverheads = server.map((s, i) => 1 - s.perSecond / library[i]!.perSecond);
const pairedNdjsonOverheads = server.map((s, i) => 1 - s.perSecond / libraryNdjson[i]!.perSecond);
const loads = [...library, ...libraryNdjson, ...server, ...apiPush, ...apiPushSync].map((r) =>
  Number(r.load),
);
const libraryRow = (path: string, rs: Array<RunResult & { load: string }>, rate: number) =>
  `| ${path} | ${n(rate)} (${rs.map((r) => n(r.perSecond)).join(', ')}) | ${median(rs.map((r) => r.cpuPer10k))} | ${median(rs.map((r) => r.sinkCpuPer10k ?? Number.NaN))} | — | ${median(rs.map((r) => r.peakRssMb))} MB | ${median(rs.map((r) => r.failed))} |`;

function apiPushRow(route: string, rs: ApiPushResult[]): string {
  const m = (pick: (r: ApiPushResult) => number) => median(rs.map(pick));
  return `| ${route} | ${n(m((r) => r.perSecond))} (${rs.map((r) => n(r.perSecond)).join(', ')}) | ${m((r) => r.p50)} ms | ${m((r) => r.p99)} ms | ${m((r) => r.cpuMsPerRequest)} | ${m((r) => r.cpuCores)} | ${m((r) => r.peakRssMb)} MB | ${m((r) => r.non2xx)} | ${m((r) => r.errors)} | ${rs.map((r) => `${n(r.pushesSent)} / ${n(r.pushesFailed)} / ${n(r.requests)}`).join(', ')} |`;
}

const section = [
  '## Server',
  '',
  `Generated by \`node --import tsx bench/server.ts --devices ${devices} --runs ${runs} --duration ${duration} --connections ${connections} --warmup ${warmup}\` on ${new Date().toISOString()}; sink: ${sink.description}. 2 cores; load average (1 min) after each run ${Math.min(...loads)}–${Math.max(...loads)}. ${runs} rounds, cases taking turns (each round starts with the next one); medians.`,
  '',
  `### One send of ${n(devices)} iOS devices: the library vs the server`,
  '',
  '| path | pushes/s, median (runs) | sender CPU s per 10k | sink CPU s per 10k | uploader CPU s per 10k | sender peak RSS | failed |',
  '|---|---|---|---|---|---|---|',
  libraryRow('library: `client.send(notification, devices)`, devices from a generator', library, libraryRate),
  libraryRow(
    "library, the server's input and output: devices from the same NDJSON lines (`ndjsonDevices(file)`), every feedback written as a JSON line (`ndjsonFeedbackWriter(file)`)",
    libraryNdjson,
    libraryNdjsonRate,
  ),
  `| server: NDJSON upload to \`POST /v1/sends\`, until \`GET /v1/sends/:id\` says done | ${n(serverRate)} (${server.map((r) => n(r.perSecond)).join(', ')}) | ${median(server.map((r) => r.cpuPer10k))} | ${median(server.map((r) => r.sinkCpuPer10k))} | ${median(server.map((r) => r.uploaderCpuPer10k))} | ${median(server.map((r) => r.peakRssMb))} MB | ${median(server.map((r) => r.failed))} |`,
  '',
  `Server overhead (1 − server ÷ library, medians): **${pct(overhead)}** against the library with generated devices and no record (per round: ${pairedOverheads.map(pct).join(', ')}); **${pct(ndjsonOverhead)}** against the library doing the same send — the same NDJSON in, a feedback line per device out — (per round: ${pairedNdjsonOverheads.map(pct).join(', ')}). The issue's target is ≤ 15%.`,
  '',
  "The three senders are compiled (tsc) and run in their own process with the same `apns()` options, fresh for each run (the server's timing starts after it listens); the runner runs under tsx. The first library's devices come from a generator in its process and its feedback is only counted; the second reads the same 100,000 NDJSON lines from a file and writes every feedback as a JSON line to a file, as the server does; the server's are uploaded over HTTP/1.1 from the runner (its CPU is the uploader column), parsed, and every device's feedback is recorded as a JSON line in the send's spool (what `GET /v1/sends/:id/feedback` serves). Against the first library the overhead is that per-device input and output plus the server's own work; against the second, the server's own work alone (HTTP, the dispatcher, the spool, metrics). The server runs as `pushline serve` would by default (its heap policy included) except: the in-process `LocalDispatcher` with its defaults (16 sends at once, 1,000 waiting) and the Prometheus metrics as `pushline serve` builds them (an observer of every feedback, `/metrics`, per-request samples) but no webhook or dead-token sink; JSON logs at info level to /dev/null; the rate-limit plugin on with a budget too large to bite (the default, 1,200 a minute, would be the figure otherwise); no TLS on the listener. The end of the send is seen by polling `GET /v1/sends/:id` every 10 ms. Sink, sender and runner share the machine's 2 cores with other work (the load average above): absolute figures move by tens of percent between runs, the per-round overheads show how much.",
  '',
  `### gorush's \`POST /api/push\`, one token a request`,
  '',
  `autocannon (one Node thread, in the runner's process) with ${connections} connections, ${warmup} s unmeasured, then ${duration} s measured, against a fresh server each run; gorush's body \`{"notifications":[{"tokens":["<64 hex>"],"platform":1,"message":"hi","topic":"<the app's topic>"}]}\` and the key. Without \`sync\` gorush's API answers 200 once the send is handed to the dispatcher — or refused by it when its queue is full (gorush's async semantics: the push is counted in \`/api/stat/app\` as an error and logged, the client is not told) — so requests/s is not pushes/s: the last column has the pushes \`/api/stat/app\` counted sent and failed over the measured window (plus the sends still settling 1 s after it), next to the requests answered. With \`?sync=true\` each answer waits for its push.`,
  '',
  '| route | requests/s, median (runs) | latency p50 | latency p99 | server CPU ms per request | server CPU (cores) | server peak RSS | non-2xx | errors | pushes sent / failed / requests |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...[
    ['`/api/push`', apiPush],
    ['`/api/push?sync=true`', apiPushSync],
  ].map(([route, rs]) => apiPushRow(route as string, rs as ApiPushResult[])),
  '',
].join('\n');

if (values.write) writeSection('## Server', section);
if (values.json)
  console.log(JSON.stringify({ devices, runs, library, libraryNdjson, server, apiPush, apiPushSync }));
else console.log(section);

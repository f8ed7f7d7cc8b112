/**
 * The queue's cost (issue 15, point 7): one send of N iOS devices (an APNs alert, well-formed
 * tokens) to the same loopback sink as `npm run bench` (nginx when installed, else the emulators
 * in sink mode):
 *
 *  - library: one `PushClient` with `apns()` (bench/clients/pushline.ts, compiled, its own process);
 *  - queue with W workers: a private redis-server (fresh for each configuration), W compiled
 *    `pushline worker` processes started and ready first, and a `BullMQDispatcher` in this
 *    process submitting the send as a *stream* of devices from a generator (what `pushline serve`
 *    does with an NDJSON upload: chunks of 1,000 enqueued as read, never the whole send in
 *    memory), timed from `submit` until `settled` says done.
 *
 * Measured per queue run: pushes/s and the ratio to the library; Redis commands per device
 * (INFO commandstats delta ÷ devices, Lua scripts' inner calls included); CPU s per 10k devices of
 * the workers, redis-server, the dispatcher (this process) and the sink (/proc/<pid>/stat);
 * Redis memory per device (used_memory after − before, with the send's feedback and records
 * still retained); peak RSS (VmHWM) of each worker; the 1-min load average sampled every second.
 *
 *   node --import tsx bench/queue.ts [--devices 1000000] [--workers 1,2,4] [--no-library]
 *     [--appendfsync always|everysec] [--concurrency 2] [--json] [--write]
 *
 * `--appendfsync always` (default) is the README's strict setting (AOF, fsync per write,
 * `noeviction`); `everysec` its relaxed one. `--write` puts the table in bench/RESULTS.md,
 * section "Queue (Redis, BullMQ)" (replaced if there).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Device } from '../src/index.js';
import { BullMQDispatcher, newSendId } from '../src/queue/bullmq.js';
import { startRedis } from '../test/queue/redis-server.js';
import { buildClients, peakRssMb, processCpuSeconds, type RunResult, runClient, which } from './lib/proc.js';
import {
  type BenchWorker,
  callsDelta,
  commandCalls,
  info,
  prepareCompiledCli,
  startBenchWorker,
  writeWorkerConfig,
} from './lib/queue.js';
import { writeSection } from './lib/results-file.js';
import { ALERT, hexToken } from './lib/target.js';
import { startSink } from './sink/index.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000000' },
    workers: { type: 'string', default: '1,2,4' },
    'no-library': { type: 'boolean', default: false },
    appendfsync: { type: 'string', default: 'always' },
    concurrency: { type: 'string' },
    json: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
  },
});
const devices = Number(values.devices);
const workerCounts = values.workers
  .split(',')
  .filter(Boolean)
  .map((w) => Number(w));
const appendfsync = values.appendfsync;
if (appendfsync !== 'always' && appendfsync !== 'everysec') throw new Error('--appendfsync always|everysec');
const workerFlags = values.concurrency ? ['--concurrency', values.concurrency] : [];
const log = (line: string) => process.stderr.write(`${line}\n`);
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const per10k = (x: number) => round3((x * 10_000) / devices);

/** Samples the 1-min load average every second while a run lasts. */
function loadSampler(): () => { min: number; mean: number; max: number } {
  const samples: number[] = [loadavg()[0]!];
  const timer = setInterval(() => samples.push(loadavg()[0]!), 1000);
  return () => {
    clearInterval(timer);
    samples.push(loadavg()[0]!);
    const r1 = (x: number) => Math.round(x * 10) / 10;
    return {
      min: r1(Math.min(...samples)),
      mean: r1(samples.reduce((a, b) => a + b, 0) / samples.length),
      max: r1(Math.max(...samples)),
    };
  };
}

interface QueueResult {
  workers: number;
  seconds: number;
  /** Seconds until `submit` returned: every chunk enqueued. */
  enqueueSeconds: number;
  perSecond: number;
  sent: number;
  failed: number;
  commandsPerDevice: number;
  /** The five commands called most, per device. */
  topCommands: Record<string, number>;
  /** CPU s per 10k devices. */
  workersCpuPer10k: number;
  redisCpuPer10k: number;
  dispatcherCpuPer10k: number;
  sinkCpuPer10k: number;
  redisBytesPerDevice: number;
  peakRssMb: number[];
  load: { min: number; mean: number; max: number };
}

const dir = mkdtempSync(join(tmpdir(), 'pushline-bench-queue-'));
buildClients();
prepareCompiledCli();
const sink = await startSink(which('nginx') ? 'nginx' : 'emulator', dir, 1);
const targetPath = join(dir, 'target.json');
writeFileSync(targetPath, JSON.stringify(sink.target));
const configFile = writeWorkerConfig(sink.target, dir);
log(`sink: ${sink.description}; load ${loadavg()[0]!.toFixed(1)}`);

function* generate(n: number): Generator<Device> {
  for (let i = 0; i < n; i++) yield { platform: 'ios', token: hexToken(i) };
}
async function* stream(n: number): AsyncGenerator<Device> {
  yield* generate(n);
}

async function runLibrary(): Promise<RunResult & { load: ReturnType<ReturnType<typeof loadSampler>> }> {
  const sampled = loadSampler();
  const result = await runClient(
    'clients/pushline.ts',
    [targetPath, 'apns', String(devices)],
    sink.pid,
    Math.max(180_000, devices),
  );
  return { ...result, load: sampled() };
}

async function runQueue(count: number): Promise<QueueResult> {
  const redis = await startRedis(['--appendfsync', appendfsync]);
  const admin = new Redis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  const workers: BenchWorker[] = [];
  let dispatcher: BullMQDispatcher | undefined;
  try {
    const redisPid = Number((await info(admin, 'server')).process_id);
    for (let i = 0; i < count; i++) workers.push(await startBenchWorker(redis.url, configFile, workerFlags));
    dispatcher = new BullMQDispatcher({ redis: redis.url, log });
    await dispatcher.check();
    const cpu = () => ({
      workers: workers.reduce((sum, w) => sum + processCpuSeconds(w.pid)!, 0),
      redis: processCpuSeconds(redisPid)!,
      sink: processCpuSeconds(sink.pid)!,
    });
    const callsBefore = await commandCalls(admin);
    const memoryBefore = Number((await info(admin, 'memory')).used_memory);
    const cpuBefore = cpu();
    const ownBefore = process.cpuUsage();
    const sampled = loadSampler();
    const started = process.hrtime.bigint();
    const id = newSendId();
    await dispatcher.submit({
      id,
      app: 'default',
      notification: ALERT,
      devices: { kind: 'stream', devices: stream(devices) },
      createdAt: new Date().toISOString(),
    });
    const enqueueSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const status = await dispatcher.settled(id);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const load = sampled();
    const own = process.cpuUsage(ownBefore);
    const cpuAfter = cpu();
    const memoryAfter = Number((await info(admin, 'memory')).used_memory);
    const calls = callsDelta(callsBefore, await commandCalls(admin));
    const peakRss = workers.map((w) => peakRssMb(w.pid)!);
    if (status.state !== 'done' || status.counts.total !== devices) {
      throw new Error(`the send ended ${status.state} with ${JSON.stringify(status.counts)}`);
    }
    const totalCalls = calls.reduce((sum, [, n]) => sum + n, 0);
    return {
      workers: count,
      seconds: round3(seconds),
      enqueueSeconds: round3(enqueueSeconds),
      perSecond: Math.round(status.counts.sent / seconds),
      sent: status.counts.sent,
      failed: status.counts.failed + status.counts.invalidToken,
      commandsPerDevice: round3(totalCalls / devices),
      topCommands: Object.fromEntries(calls.slice(0, 6).map(([name, n]) => [name, round3(n / devices)])),
      workersCpuPer10k: per10k(cpuAfter.workers - cpuBefore.workers),
      redisCpuPer10k: per10k(cpuAfter.redis - cpuBefore.redis),
      dispatcherCpuPer10k: per10k((own.user + own.system) / 1e6),
      sinkCpuPer10k: per10k(cpuAfter.sink - cpuBefore.sink),
      redisBytesPerDevice: Math.round((memoryAfter - memoryBefore) / devices),
      peakRssMb: peakRss,
      load,
    };
  } finally {
    await dispatcher?.close();
    await Promise.all(workers.map((w) => w.stop()));
    admin.disconnect();
    await redis.close();
  }
}

let library: (RunResult & { load: ReturnType<ReturnType<typeof loadSampler>> }) | undefined;
const queue: QueueResult[] = [];
try {
  if (!values['no-library']) {
    library = await runLibrary();
    log(`library: ${JSON.stringify(library)}`);
  }
  for (const count of workerCounts) {
    const r = await runQueue(count);
    queue.push(r);
    log(`queue, ${count} worker(s): ${JSON.stringify(r)}`);
  }
} finally {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
}

const n = (x: number) => x.toLocaleString('en-US');
const loadText = (l: { min: number; mean: number; max: number }) => `${l.mean} (${l.min}–${l.max})`;
const ratio = (x: number) => (library ? `${Math.round((x / library.perSecond) * 100)}%` : '—');
const rows = queue.map(
  (r) =>
    `| queue, ${r.workers} worker${r.workers > 1 ? 's' : ''} | ${n(r.perSecond)} | ${ratio(r.perSecond)} | ${r.seconds} s (enqueued in ${r.enqueueSeconds} s) | ${r.workersCpuPer10k} | ${r.redisCpuPer10k} | ${r.dispatcherCpuPer10k} | ${r.sinkCpuPer10k} | ${r.commandsPerDevice} | ${r.redisBytesPerDevice} B | ${r.peakRssMb.map((m) => `${m} MB`).join(', ')} | ${loadText(r.load)} | ${r.failed} |`,
);
const libraryRow = library
  ? `| library: \`client.send(notification, devices)\` | ${n(library.perSecond)} | 100% | ${library.seconds} s | ${library.cpuPer10k} (the sender) | — | — | ${library.sinkCpuPer10k ?? '—'} | — | — | ${library.peakRssMb} MB | ${loadText(library.load)} | ${library.failed} |`
  : undefined;

// Scale-out projection from the per-device costs: a worker on a core of its own is bound by its
// CPU per device; Redis (one thread) by its own.
const best =
  queue.length > 0 ? queue.reduce((a, b) => (a.workersCpuPer10k <= b.workersCpuPer10k ? a : b)) : undefined;
const projection = best
  ? `From these costs (the run with ${best.workers} worker(s)): a worker with a core of its own is CPU-bound at ≈ ${n(Math.round(10_000 / best.workersCpuPer10k))} pushes/s (10,000 ÷ ${best.workersCpuPer10k} CPU s per 10k); Redis, one thread, at ≈ ${n(Math.round(10_000 / best.redisCpuPer10k))} pushes/s (10,000 ÷ ${best.redisCpuPer10k}). With workers on machines of their own, throughput grows about linearly with them until it reaches the Redis bound: ≈ ${Math.round((best.workersCpuPer10k / best.redisCpuPer10k) * 10) / 10} fully busy worker cores.`
  : '';

const commandLine = `node --import tsx bench/queue.ts --devices ${devices} --workers ${workerCounts.join(',')}${values['no-library'] ? ' --no-library' : ''} --appendfsync ${appendfsync}${values.concurrency ? ` --concurrency ${values.concurrency}` : ''}`;
const section = [
  '## Queue (Redis, BullMQ)',
  '',
  `Generated by \`${commandLine}\` on ${new Date().toISOString()}; sink: ${sink.description}. 2 cores (shared with other work: the load column); redis-server ${appendfsync === 'always' ? 'with AOF, `appendfsync always`' : 'with AOF, `appendfsync everysec`'}, \`maxmemory-policy noeviction\`, fresh for each row. One run per row.`,
  '',
  `### One send of ${n(devices)} iOS devices: the library vs the queue`,
  '',
  '| path | pushes/s | of the library | submit → settled | workers CPU s per 10k | redis-server CPU s per 10k | dispatcher CPU s per 10k | sink CPU s per 10k | Redis commands per device | Redis memory per device | peak RSS per worker | load avg (1 min) mean (min–max) | failed |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...(libraryRow ? [libraryRow] : []),
  ...rows,
  '',
  'Commands per device, the most called: ' +
    queue.map((r) => `${r.workers} worker(s): ${JSON.stringify(r.topCommands)}`).join('; '),
  '',
  projection,
  '',
].join('\n');

if (values.write) writeSection('## Queue (Redis, BullMQ)', section);
if (values.json) console.log(JSON.stringify({ devices, appendfsync, library, queue }));
else console.log(section);

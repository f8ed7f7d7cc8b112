/**
 * Fast at a distance (issue #19): every sender against a sink that answers after 50, 100 and
 * 150 ms — where APNs and FCM are from most servers — instead of at once on loopback. There a
 * sender's throughput is its requests in flight divided by the round trip.
 *
 * The sink is Go's x/net/http2 (bench/sink/delay-sink/main.go, built on first use), with APNs'
 * 1,000 streams per connection; its own ceiling is measured in the same run by h2load (C,
 * nghttp2) with enough connections × streams in flight for the delay, before the senders and
 * again after them (the better of the two is the ceiling). Each contender runs in its
 * own process, one after another, with the 1-minute load average noted beside it (the machine
 * may be shared: compare figures of the same run, as ratios).
 *
 *   node --import tsx bench/latency.ts                 # 50/100/150 ms, 100k pushes (~6 min)
 *   node --import tsx bench/latency.ts --quick         # 100 ms only, 30k pushes, no RESULTS.md
 *   node --import tsx bench/latency.ts --delays 100 --pushes 50000 [--only h2load,pushline,node-apn,apns2] [--no-write]
 *
 * Writes the "Latency (a distant server)" section of bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import webpush from 'web-push';
import { HEAP_GROWING_PERCENT } from '../src/cli/heap-policy.js';
import { createServerTls } from '../src/emulator/tls.js';
import { machine } from './lib/machine.js';
import { alertBodies, buildClients, type RunResult, runClient, runH2load, which } from './lib/proc.js';
import { writeSection } from './lib/results-file.js';
import type { BenchTarget } from './lib/target.js';
import { delaySinkMissing, startDelaySink } from './sink/delay-sink.js';
import { benchServiceAccount } from './sink/index.js';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv[at + 1];
};
const quick = argv.includes('--quick');
const delays = (flag('--delays') ?? (quick ? '100' : '50,100,150')).split(',').map(Number);
const pushes = Number(flag('--pushes') ?? (quick ? 30_000 : 100_000));
/** apns2 sends a few hundred per second at a distance: fewer pushes keep its run under a minute. */
const slowPushes = Math.min(pushes, 20_000);
const only = flag('--only')?.split(',');
const runs = (group: string) => only === undefined || only.includes(group);
const write = !quick && !argv.includes('--no-write');
const log = (line: string) => process.stderr.write(`${line}\n`);

/** The tuned settings the issue measured best by hand: fixed, as a user would have to set them. */
const TUNED = { concurrency: 10_000, connections: 10 };
/** How `pushline` (the CLI) runs Node: src/cli/heap-policy.ts; the rows marked with it run so. */
const HEAP_POLICY = [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`];
const HEAP_POLICY_NOTE = `with \`pushline\`'s heap policy (node --heap-growing-percent=${HEAP_GROWING_PERCENT})`;
/** The fixed 1,000 in flight that memory per request in flight is measured against (at 100 ms). */
const PER_REQUEST_BASE = 'pushline apns(), concurrency: 1,000 (fixed)';
/** Streams per connection the sink grants (APNs' figure). */
const SINK_STREAMS = 1000;

interface Row {
  delayMs: number;
  protocol: 'apns' | 'fcm';
  name: string;
  result?: RunResult;
  error?: string;
  /** 1-minute load average when the run started. */
  load: number;
}

const missing = delaySinkMissing();
if (missing !== undefined) {
  log(`bench latency: cannot build the delayed sink: ${missing}`);
  process.exit(1);
}
const h2load = which('h2load');
if (!h2load) log('bench latency: h2load not installed (apt-get install nghttp2-client): no ceiling figure');

const dir = mkdtempSync(join(tmpdir(), 'pushline-latency-'));
log('bench latency: compiling src/ and the clients…');
buildClients();
const tls = createServerTls();
const apnsKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const { apns: apnsBody, fcm: fcmBody } = alertBodies();

const rows: Row[] = [];
try {
  for (const delayMs of delays) {
    const sink = await startDelaySink(
      dir,
      { certPem: tls.server.certPem, keyPem: tls.server.keyPem },
      delayMs,
    );
    const target: BenchTarget = {
      sink: 'delay',
      apns: {
        origin: sink.origin,
        host: '127.0.0.1',
        port: sink.port,
        teamId: 'BENCHTEAM1',
        keyId: 'BENCHKEY01',
        key: apnsKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        topic: 'com.example.bench',
        ca: tls.ca.certPem,
      },
      fcm: {
        origin: sink.origin,
        serviceAccount: benchServiceAccount(sink.origin, rsa.privateKey),
        ca: tls.ca.certPem,
      },
      webpush: {
        vapid: { subject: 'mailto:bench@example.com', ...webpush.generateVAPIDKeys() },
        allowHosts: ['127.0.0.1'],
        subscriptions: [],
        ca: tls.ca.certPem,
      },
    };
    const targetPath = join(dir, `target-${delayMs}.json`);
    writeFileSync(targetPath, JSON.stringify(target));
    log(`bench latency: ${delayMs} ms sink on ${sink.origin} (pid ${sink.pid})`);

    // In flight needed to reach ~60k/s at this delay, in whole connections of the sink's streams.
    const ceilingConnections = Math.max(4, Math.ceil((60_000 * delayMs) / 1000 / SINK_STREAMS));
    const client =
      (script: string, ...args: (string | number)[]) =>
      () =>
        runClient(script, [targetPath, ...args.map(String)], sink.pid, 300_000);
    const withHeapPolicy =
      (script: string, ...args: (string | number)[]) =>
      () =>
        runClient(script, [targetPath, ...args.map(String)], sink.pid, 300_000, HEAP_POLICY);
    const contenders: { protocol: 'apns' | 'fcm'; name: string; run: () => Promise<RunResult> }[] = [];
    /**
     * h2load's runs for both protocols. They go first and again last: the sink's ceiling is the
     * better of the two, as what the machine leaves the sink moves over a run of minutes (one
     * h2load run alone read 21,000 to 30,000/s at 100 ms on the same quiet machine).
     */
    const ceilingRuns = (when: 'first' | 'last') => {
      if (!h2load || !runs('h2load')) return [];
      const shape = { connections: ceilingConnections, streams: SINK_STREAMS };
      const name = `h2load (sink's ceiling, ${when}), ${shape.connections} connections × ${shape.streams} streams`;
      return [
        {
          protocol: 'apns' as const,
          name,
          run: () =>
            runH2load(
              h2load,
              'h2load',
              `${sink.origin}/3/device/${'ab'.repeat(32)}`,
              { 'apns-topic': target.apns.topic, 'apns-push-type': 'alert', authorization: 'bearer bench' },
              apnsBody,
              pushes,
              dir,
              sink.pid,
              shape,
            ),
        },
        {
          protocol: 'fcm' as const,
          name,
          run: () =>
            runH2load(
              h2load,
              'h2load',
              `${sink.origin}/v1/projects/${target.fcm.serviceAccount.project_id}/messages:send`,
              {
                'content-type': 'application/json; charset=UTF-8',
                authorization: 'Bearer bench-access-token',
              },
              fcmBody,
              pushes,
              dir,
              sink.pid,
              shape,
            ),
        },
      ];
    };
    contenders.push(...ceilingRuns('first'));
    const tuned = JSON.stringify(TUNED);
    const tunedName = `concurrency: ${TUNED.concurrency.toLocaleString('en')}, connections: ${TUNED.connections}`;
    if (runs('pushline')) {
      contenders.push(
        {
          protocol: 'apns',
          name: 'pushline apns(), defaults',
          run: client('clients/pushline.ts', 'apns', pushes),
        },
        {
          protocol: 'apns',
          name: `pushline apns(), ${tunedName}`,
          run: client('clients/pushline.ts', 'apns', pushes, 'generator', tuned),
        },
        ...(delayMs === 100
          ? [
              {
                protocol: 'apns' as const,
                name: `pushline apns(), defaults, ${HEAP_POLICY_NOTE}`,
                run: withHeapPolicy('clients/pushline.ts', 'apns', pushes),
              },
              {
                protocol: 'apns' as const,
                name: `pushline apns(), ${tunedName}, ${HEAP_POLICY_NOTE}`,
                run: withHeapPolicy('clients/pushline.ts', 'apns', pushes, 'generator', tuned),
              },
              {
                protocol: 'apns' as const,
                name: PER_REQUEST_BASE,
                run: client(
                  'clients/pushline.ts',
                  'apns',
                  pushes,
                  'generator',
                  JSON.stringify({ concurrency: 1000 }),
                ),
              },
            ]
          : []),
        {
          protocol: 'fcm',
          name: 'pushline fcm(), defaults',
          run: client('clients/pushline.ts', 'fcm', pushes),
        },
        {
          protocol: 'fcm',
          name: `pushline fcm(), ${tunedName}`,
          run: client('clients/pushline.ts', 'fcm', pushes, 'generator', tuned),
        },
        ...(delayMs === 100
          ? [
              {
                protocol: 'fcm' as const,
                name: `pushline fcm(), ${tunedName}, ${HEAP_POLICY_NOTE}`,
                run: withHeapPolicy('clients/pushline.ts', 'fcm', pushes, 'generator', tuned),
              },
            ]
          : []),
      );
    }
    if (runs('node-apn')) {
      contenders.push(
        {
          protocol: 'apns',
          name: '@parse/node-apn Provider, chunks of 1,000',
          run: client('clients/node-apn.ts', 'provider', pushes, 1000),
        },
        {
          protocol: 'apns',
          name: '@parse/node-apn MultiProvider (8 clients), chunks of 8,000',
          run: client('clients/node-apn.ts', 'multi', pushes, 8000, 8),
        },
      );
    }
    if (runs('apns2')) {
      contenders.push({
        protocol: 'apns',
        name: `apns2 (undici pool, 32 connections × 100 streams), sendMany chunks of 10,000${
          slowPushes < pushes ? ` (${slowPushes.toLocaleString('en')} pushes)` : ''
        }`,
        run: client('clients/apns2.ts', slowPushes, 10_000),
      });
    }
    contenders.push(...ceilingRuns('last'));
    try {
      for (const contender of contenders) {
        const load = loadavg()[0]!;
        log(
          `bench latency: ${delayMs} ms, ${contender.protocol}: ${contender.name} (load ${load.toFixed(2)})`,
        );
        const row: Row = { delayMs, protocol: contender.protocol, name: contender.name, load };
        try {
          row.result = await contender.run();
          log(`  ${row.result.perSecond.toLocaleString('en')}/s, peak RSS ${row.result.peakRssMb} MB`);
        } catch (error) {
          const message = (error as Error).message;
          row.error = /ETIMEDOUT|SIGTERM|killed/.test(message)
            ? 'did not finish within 300 s'
            : message.split('\n')[0]!.slice(0, 120);
          log(`  failed: ${(error as Error).message}`);
        }
        rows.push(row);
      }
    } finally {
      await sink.close();
    }
  }

  // Live bytes per request in flight (heap after a full GC, all 10,000 waiting on a 3 s sink).
  const memory: Record<string, number | string | boolean>[] = [];
  if (runs('pushline')) {
    for (const kind of ['apns', 'fcm']) {
      log(`bench latency: live memory per request in flight (${kind}, bench/latency-memory.ts)`);
      try {
        const out = execFileSync(
          process.execPath,
          [
            '--expose-gc',
            '--import',
            'tsx',
            fileURLToPath(new URL('./latency-memory.ts', import.meta.url)),
            kind,
          ],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 120_000 },
        );
        memory.push(JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number | string | boolean>);
      } catch (error) {
        log(`  failed: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  }
  const markdown = report(rows, memory);
  if (write) writeSection('## Latency (a distant server)', markdown);
  console.log(markdown);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The sink's ceiling among these rows: the better of h2load's runs (undefined without one). */
function ceilingOf(rows: Row[]): number | undefined {
  const rates = rows.filter((r) => r.name.startsWith('h2load') && r.result).map((r) => r.result!.perSecond);
  return rates.length === 0 ? undefined : Math.max(...rates);
}

function report(all: Row[], memory: Record<string, number | string | boolean>[]): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  const box = machine();
  const lines: string[] = [
    '## Latency (a distant server)',
    '',
    `\`node --import tsx bench/latency.ts\` (also run by \`npm run bench\`), ${box.date?.slice(0, 10)}, ${box.cpu}, Node ${box.node}, @parse/node-apn ${box['@parse/node-apn']}, apns2 ${box.apns2}. ${fmt(pushes)} alert pushes per run against`,
    "Go's `x/net/http2` server (bench/sink/delay-sink/main.go) answering every push after the delay, with",
    `APNs' ${fmt(SINK_STREAMS)} streams per connection; its ceiling is h2load's rate at the same delay with enough`,
    'streams in flight, the better of two runs (one before the senders, one after). One run per contender, one after another; the 1-minute load average when it started',
    'is beside each figure (the machine is shared: compare within a delay). "limit" is the in-flight limit the',
    'pushline provider ended with (adaptive by default; the fixed `concurrency` when set).',
    '',
  ];
  for (const protocol of ['apns', 'fcm'] as const) {
    lines.push(`### ${protocol === 'apns' ? 'APNs' : 'FCM'}`, '');
    lines.push(
      "| delay | sender | pushes/s | of the sink's ceiling | peak RSS | CPU s / 10k | limit | failed | load |",
      '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const delayMs of delays) {
      const here = all.filter((r) => r.delayMs === delayMs && r.protocol === protocol);
      const ceiling = ceilingOf(here);
      for (const row of here) {
        const r = row.result;
        if (r === undefined) {
          lines.push(
            `| ${delayMs} ms | ${row.name} | failed: ${row.error ?? '?'} | | | | | | ${row.load.toFixed(2)} |`,
          );
          continue;
        }
        const share =
          ceiling && !row.name.startsWith('h2load') ? `${Math.round((r.perSecond / ceiling) * 100)}%` : '';
        lines.push(
          `| ${delayMs} ms | ${row.name} | ${fmt(r.perSecond)} | ${share} | ${Number.isNaN(r.peakRssMb) ? '' : `${r.peakRssMb} MB`} | ${
            Number.isNaN(r.cpuPer10k) ? '' : r.cpuPer10k
          } | ${r.inFlightLimit === undefined ? '' : fmt(r.inFlightLimit)} | ${r.failed} | ${row.load.toFixed(2)} |`,
        );
      }
    }
    lines.push('');
  }
  const at100 = (protocol: 'apns' | 'fcm') => all.filter((r) => r.delayMs === 100 && r.protocol === protocol);
  const found = (protocol: 'apns' | 'fcm', test: (name: string) => boolean) =>
    at100(protocol).find((r) => test(r.name))?.result;
  const tunedRow = (protocol: 'apns' | 'fcm', policy: boolean) =>
    found(
      protocol,
      (name) =>
        name.startsWith(`pushline ${protocol}(), concurrency: 10,000`) &&
        name.includes('heap policy') === policy,
    );
  const base = found('apns', (name) => name === PER_REQUEST_BASE);
  const tuned = tunedRow('apns', false);
  if (base && tuned) {
    const perRequest = ((tuned.peakRssMb - base.peakRssMb) * 1024 * 1024) / (TUNED.concurrency - 1000);
    lines.push(
      `Memory per request in flight (APNs, 100 ms): peak RSS ${tuned.peakRssMb} MB with ${fmt(TUNED.concurrency)} in flight, ${base.peakRssMb} MB with 1,000: ${(perRequest / 1024).toFixed(1)} KB per request in flight.`,
      '',
    );
  }
  for (const protocol of ['apns', 'fcm'] as const) {
    const plain = tunedRow(protocol, false);
    const policy = tunedRow(protocol, true);
    if (plain === undefined || policy === undefined) continue;
    lines.push(
      `${fmt(TUNED.concurrency)} ${protocol === 'apns' ? 'APNs' : 'FCM'} requests in flight at 100 ms (target: peak RSS ≤ 150 MB): ${plain.peakRssMb} MB as a library in a plain \`node\`, ${policy.peakRssMb} MB ${HEAP_POLICY_NOTE}, at ${fmt(plain.perSecond)} and ${fmt(policy.perSecond)} pushes/s.`,
      '',
    );
  }
  lines.push(
    "Peak RSS beyond what is live is garbage: what a request holds lives through a round trip, so it is promoted to V8's old generation, which V8 lets grow to 4× what is live before collecting it on a machine with ≥ 8 GiB. The live part:",
    '',
  );
  for (const m of memory) {
    lines.push(
      `Live memory per request in flight (${m.kind === 'apns' ? 'APNs' : 'FCM'}, bench/latency-memory.ts: ${fmt(Number(m.inFlight))} in flight, heap after a full GC): ${fmt(Number(m.heapBytesPerRequest))} B of heap + ${fmt(Number(m.externalBytesPerRequest))} B of buffers${m.allStillInFlight ? '' : ' (some were answered before the measure)'}.`,
      '',
    );
  }
  for (const protocol of ['apns', 'fcm'] as const) {
    const ceiling = ceilingOf(at100(protocol));
    const defaults = found(protocol, (name) => name === `pushline ${protocol}(), defaults`)?.perSecond;
    if (ceiling && defaults) {
      lines.push(
        `At 100 ms, pushline ${protocol}()'s defaults reach ${Math.round((defaults / ceiling) * 100)}% of the sink's ceiling (target: ≥ 80%).`,
        '',
      );
    }
  }
  return lines.join('\n');
}

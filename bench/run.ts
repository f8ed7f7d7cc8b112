/**
 * `npm run bench`: pushline side by side with the Node libraries people use today, against the
 * SAME loopback sink, each contender in its own process (never the sink's), contenders
 * alternated round by round and repeated, medians with their spread. Writes bench/RESULTS.md.
 *
 *   npm run bench                  # full run (~10 min on 2 cores)
 *   npm run bench -- --quick       # smoke run: small counts, one round
 *   npm run bench -- --json        # machine-readable results on stdout
 *   npm run bench -- --sink emulator   # pushline's emulators in sink mode instead of nginx
 *   npm run bench -- --no-latency      # without the latency runs (bench/latency.ts, ~6 min)
 *
 * Sections: APNs (pushline, @parse/node-apn Provider/MultiProvider, apns2, bare node:http2,
 * h2load), FCM (pushline), Web Push (pushline, web-push), memory (100k and 1M devices streamed
 * from a generator and from SQLite vs @parse/node-apn given one array), engine overhead
 * (bench/engine.ts) and device sources (bench/stores.ts); then the latency runs (bench/latency.ts:
 * every sender against a sink that answers after 50/100/150 ms), which write their own section.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './lib/machine.js';
import {
  alertBodies,
  buildClients,
  type RunResult,
  runClient,
  runClientCapped,
  runH2load,
  which,
} from './lib/proc.js';
import { writeMainReport } from './lib/results-file.js';
import { startSink } from './sink/index.js';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const sinkKind = (argv[argv.indexOf('--sink') + 1] === 'emulator' ? 'emulator' : 'nginx') as
  | 'nginx'
  | 'emulator';
const chosenSink = sinkKind === 'nginx' && !which('nginx') ? 'emulator' : sinkKind;
const repeats = quick ? 1 : 3;
const pushes = quick ? 5_000 : 20_000;
const webPushes = quick ? 2_000 : 10_000;
const memorySizes = quick ? [20_000, 100_000] : [100_000, 1_000_000];
const log = (line: string) => process.stderr.write(`${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'pushline-bench-'));
log(`bench: compiling src/ and the clients (contenders run compiled, as users run them)…`);
buildClients();
const sink = await startSink(chosenSink, dir, 1000);
const targetPath = join(dir, 'target.json');
writeFileSync(targetPath, JSON.stringify(sink.target));
log(`bench: sink ${sink.description} (pid ${sink.pid})`);

interface Contender {
  section: 'apns' | 'fcm' | 'webpush';
  name: string;
  run: () => Promise<RunResult>;
}
const client =
  (script: string, ...args: (string | number)[]) =>
  () =>
    runClient(script, [targetPath, ...args.map(String)], sink.pid);
const { apns: apnsBody, fcm: fcmBody } = alertBodies();
const H2LOAD_APNS = 'h2load (C, nghttp2), 1 thread, 4 connections × 100 streams';
const H2LOAD_FCM = 'h2load (C, nghttp2), the same FCM request, 4 connections × 100 streams';
const h2load = which('h2load');

const contenders: Contender[] = [
  { section: 'apns', name: 'pushline apns()', run: client('clients/pushline.ts', 'apns', pushes) },
  {
    section: 'apns',
    name: "pushline apns(), transport: 'node-http2'",
    run: client('clients/pushline.ts', 'apns-node', pushes),
  },
  {
    section: 'apns',
    name: '@parse/node-apn Provider, chunks of 1,000',
    run: client('clients/node-apn.ts', 'provider', pushes, 1000),
  },
  {
    section: 'apns',
    name: '@parse/node-apn MultiProvider (4 clients), chunks of 1,000',
    run: client('clients/node-apn.ts', 'multi', pushes, 1000),
  },
  {
    section: 'apns',
    name: `@parse/node-apn Provider, all ${pushes.toLocaleString('en')} in one send()`,
    run: client('clients/node-apn.ts', 'provider', pushes, 0),
  },
  {
    section: 'apns',
    name: 'apns2 (undici pool, 32 connections), sendMany chunks of 1,000',
    run: client('clients/apns2.ts', pushes, 1000),
  },
  {
    section: 'apns',
    name: 'bare node:http2, 4 sessions, 1,000 in flight (floor of any Node client)',
    run: client('clients/raw-http2.ts', pushes),
  },
  { section: 'fcm', name: 'pushline fcm()', run: client('clients/pushline.ts', 'fcm', pushes) },
  {
    section: 'fcm',
    name: "pushline fcm(), transport: 'node-http2'",
    run: client('clients/pushline.ts', 'fcm-node', pushes),
  },
  {
    section: 'webpush',
    name: 'pushline webPush()',
    run: client('clients/pushline.ts', 'webpush', webPushes),
  },
  {
    section: 'webpush',
    name: "pushline webPush(), transport: 'node-http2'",
    run: client('clients/pushline.ts', 'webpush-node', webPushes),
  },
  {
    section: 'webpush',
    name: 'web-push sendNotification, 100 in flight, keep-alive agent',
    run: client('clients/web-push.ts', webPushes, 100),
  },
];
if (h2load) {
  // The ceiling: the same requests from C, at the same count, against the same sink.
  const ceiling = (name: string, url: string, headers: Record<string, string>, body: string) => () =>
    runH2load(h2load, name, url, headers, body, pushes, dir, sink.pid);
  contenders.splice(5, 0, {
    section: 'apns',
    name: H2LOAD_APNS,
    run: ceiling(
      H2LOAD_APNS,
      `${sink.target.apns.origin}/3/device/${'ab'.repeat(32)}`,
      { 'apns-topic': sink.target.apns.topic, 'apns-push-type': 'alert', authorization: 'bearer bench' },
      apnsBody,
    ),
  });
  contenders.splice(
    contenders.findIndex((c) => c.section === 'webpush'),
    0,
    {
      section: 'fcm',
      name: H2LOAD_FCM,
      run: ceiling(
        H2LOAD_FCM,
        `${sink.target.fcm.origin}/v1/projects/${sink.target.fcm.serviceAccount.project_id}/messages:send`,
        { 'content-type': 'application/json; charset=UTF-8', authorization: 'Bearer bench-access-token' },
        fcmBody,
      ),
    },
  );
} else {
  log('bench: h2load not installed (apt-get install nghttp2-client): no ceiling figure');
}

const results = new Map<string, RunResult[]>(contenders.map((c) => [c.name, []]));
const errors: string[] = [];
try {
  // Round-robin: every contender once per round, so drift on a noisy machine hits all alike.
  for (let round = 1; round <= repeats; round++) {
    for (const contender of contenders) {
      log(`bench: round ${round}/${repeats}: ${contender.name}`);
      try {
        results.get(contender.name)!.push(await contender.run());
      } catch (error) {
        errors.push(`${contender.name}: ${(error as Error).message.split('\n')[0]}`);
        log(`  failed: ${(error as Error).message}`);
      }
    }
  }

  /** Fills a store with `size` device rows, outside the timed part (bench/stores.ts prepare). */
  const prepareStore = (store: 'sqlite' | 'postgres', size: number, target: string): void => {
    const script = fileURLToPath(new URL('./stores.ts', import.meta.url));
    execFileSync(process.execPath, ['--import', 'tsx', script, 'prepare', store, String(size), target], {
      stdio: 'inherit',
    });
  };
  // Memory: one run per size and source (long runs; their RSS does not need a median).
  log('bench: memory runs');
  const memory: (RunResult & { finished?: boolean; source: string; size: number })[] = [];
  for (const size of memorySizes) {
    memory.push({
      ...(await runClient('clients/pushline.ts', [targetPath, 'apns', String(size)], sink.pid, 600_000)),
      source: 'generator',
      size,
    });
    memory.push({
      ...(await runClient('clients/pushline.ts', [targetPath, 'apns-node', String(size)], sink.pid, 600_000)),
      source: 'generator (node-http2)',
      size,
    });
    const db = join(dir, `devices-${size}.db`);
    prepareStore('sqlite', size, db);
    memory.push({
      ...(await runClient(
        'clients/pushline.ts',
        [targetPath, 'apns', String(size), 'sqlite', db],
        sink.pid,
        600_000,
      )),
      source: 'SQLite',
      size,
    });
    rmSync(db, { force: true });
    // PostgreSQL through a server-side cursor, when a server is there (.ci/services.sh starts one).
    const databaseUrl = process.env.DATABASE_URL;
    if (databaseUrl) {
      prepareStore('postgres', size, databaseUrl);
      memory.push({
        ...(await runClient(
          'clients/pushline.ts',
          [targetPath, 'apns', String(size), 'postgres', databaseUrl],
          sink.pid,
          600_000,
        )),
        source: 'PostgreSQL',
        size,
      });
    } else if (size === memorySizes[0]) {
      log('bench: DATABASE_URL is not set: the PostgreSQL memory runs are left out');
    }
  }
  // node-apn holds every token and every request: its 100k run alone needs more than a minute.
  const nodeApnSize = memorySizes[0]!;
  memory.push({
    ...(await runClientCapped(
      'clients/node-apn.ts',
      [targetPath, 'provider', String(nodeApnSize), '0'],
      quick ? 30_000 : 60_000,
      '@parse/node-apn Provider, one array',
      nodeApnSize,
    )),
    source: 'one array',
    size: nodeApnSize,
  });

  log('bench: engine overhead (bench/engine.ts) and device sources (bench/stores.ts)');
  const engine = [100_000, 1_000_000].map(
    (n) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(new URL('./engine.ts', import.meta.url)), String(n)],
          {
            encoding: 'utf8',
          },
        )
          .trim()
          .split('\n')
          .at(-1)!,
      ) as Record<string, number>,
  );
  const stores = quick
    ? undefined
    : (JSON.parse(
        execFileSync(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(new URL('./stores.ts', import.meta.url)), '--json'],
          {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        ),
      ) as { stores: Record<string, number | string>[] });

  const report = buildReport({ results, contenders, memory, engine, stores, errors });
  if (!quick) {
    // The sections the separate benchmarks write are kept: this run does not measure them.
    writeMainReport(report.markdown);
  }
  if (json) console.log(JSON.stringify(report.json, null, 2));
  else console.log(report.markdown);
} finally {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
}

if (!argv.includes('--no-latency')) {
  // After the loopback sink is gone: its own sink, its own section of RESULTS.md (not with --quick).
  log('bench: latency runs (bench/latency.ts)');
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./latency.ts', import.meta.url)),
      ...(quick ? ['--quick'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

// ---- report ------------------------------------------------------------------------------

interface Row {
  name: string;
  section: string;
  runs: number;
  perSecond: number;
  perSecondRange: [number, number];
  cpuPer10k: number;
  sinkCpuPer10k: number | undefined;
  peakRssMb: number;
  failed: number;
  failures: Record<string, number> | undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summarise(contenders: Contender[], results: Map<string, RunResult[]>): Row[] {
  return contenders
    .filter((c) => results.get(c.name)!.length > 0)
    .map((c) => {
      const runs = results.get(c.name)!;
      const perSecond = runs.map((r) => r.perSecond);
      const sinkCpu = runs.map((r) => r.sinkCpuPer10k).filter((v): v is number => v !== undefined);
      const failures: Record<string, number> = {};
      for (const r of runs)
        for (const [k, v] of Object.entries(r.failures ?? {})) failures[k] = (failures[k] ?? 0) + v;
      return {
        name: c.name,
        section: c.section,
        runs: runs.length,
        perSecond: Math.round(median(perSecond)),
        perSecondRange: [Math.min(...perSecond), Math.max(...perSecond)],
        cpuPer10k: Math.round(median(runs.map((r) => r.cpuPer10k)) * 1000) / 1000,
        sinkCpuPer10k: sinkCpu.length ? Math.round(median(sinkCpu) * 1000) / 1000 : undefined,
        peakRssMb: median(runs.map((r) => r.peakRssMb)),
        failed: median(runs.map((r) => r.failed)),
        failures: Object.keys(failures).length ? failures : undefined,
      };
    });
}

function buildReport(input: {
  results: Map<string, RunResult[]>;
  contenders: Contender[];
  memory: (RunResult & { finished?: boolean; source: string; size: number })[];
  engine: Record<string, number>[];
  stores: { stores: Record<string, number | string>[] } | undefined;
  errors: string[];
}) {
  const rows = summarise(input.contenders, input.results);
  const find = (prefix: string) => rows.find((r) => r.name.startsWith(prefix));
  const pl = find('pushline apns()');
  const fcmRow = find('pushline fcm()');
  const plNode = find("pushline apns(), transport: 'node-http2'");
  const nodeApnBest = Math.max(...rows.filter((r) => r.name.startsWith('@parse')).map((r) => r.perSecond), 0);
  const ceiling = find(H2LOAD_APNS);
  const fcmCeiling = find(H2LOAD_FCM);
  const floor = find('bare node:http2');
  const wpl = find('pushline webPush');
  const wp = find('web-push');
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b ? Math.round((a / b) * 100) / 100 : undefined;
  const mem = input.memory;
  const memOf = (source: string, size: number) => mem.find((m) => m.source === source && m.size === size);
  const [small, large] = memorySizes;
  const growth = (source: string) => {
    const a = memOf(source, small!);
    const b = memOf(source, large!);
    return a && b ? Math.round((b.peakRssMb / a.peakRssMb - 1) * 100) : undefined;
  };
  const headline = {
    apnsVsNodeApnBest: ratio(pl?.perSecond, nodeApnBest),
    apnsVsH2load: ratio(pl?.perSecond, ceiling?.perSecond),
    nodeHttp2ApnsVsBareNodeHttp2: ratio(plNode?.perSecond, floor?.perSecond),
    fcmVsNodeApnBest: ratio(fcmRow?.perSecond, nodeApnBest),
    fcmVsH2load: ratio(fcmRow?.perSecond, fcmCeiling?.perSecond),
    webPushVsWebPushLib: ratio(wpl?.perSecond, wp?.perSecond),
    pushlineApnsCpuPer10k: pl?.cpuPer10k,
    pushlineFcmCpuPer10k: fcmRow?.cpuPer10k,
    rssGrowthGenerator: growth('generator'),
    rssGrowthSqlite: growth('SQLite'),
    rssGrowthPostgres: growth('PostgreSQL'),
    pushlineFailedSends: [
      ...rows.filter((r) => r.name.startsWith('pushline')),
      ...mem.filter((m) => m.contender.startsWith('pushline')),
    ].reduce((n, r) => n + r.failed, 0),
  };
  const facts = machine();
  const fmt = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en'));
  const lines: string[] = [];
  lines.push('# pushline benchmark results', '');
  lines.push(
    `Generated by \`npm run bench\` on ${facts.date}. Regenerate on your machine: absolute figures drift with the machine and its load; ratios within one run hold.`,
    '',
  );
  lines.push('| machine / version | |', '|---|---|');
  for (const [k, v] of Object.entries(facts)) if (k !== 'date') lines.push(`| ${k} | ${v} |`);
  lines.push(`| sink | ${sink.description} |`, '');
  lines.push(
    `Every contender runs in its own process against the same sink on 127.0.0.1 (also its own process). ` +
      `${pushes.toLocaleString('en')} alert pushes of ~100 bytes per APNs/FCM run (h2load too), ` +
      `${webPushes.toLocaleString('en')} per Web Push run; ${repeats} rounds, contenders alternated in each round; medians [min–max]. ` +
      'CPU is the client process only (process.cpuUsage, GNU time for h2load); "sink CPU" is the sink process over the same run, from /proc — ' +
      "on 2 shared cores the client and the sink compete for them. Peak RSS is the client process's (getrusage maxRSS). " +
      'Clients run compiled (tsc), not under tsx.',
    '',
  );
  const table = (section: string, title: string) => {
    const sectionRows = rows.filter((r) => r.section === section);
    if (sectionRows.length === 0) return;
    lines.push(`## ${title}`, '');
    lines.push(
      '| sender | pushes/s [min–max] | CPU s per 10k | sink CPU s per 10k | peak RSS | failed (median) |',
      '|---|---|---|---|---|---|',
    );
    for (const r of sectionRows) {
      const failures = r.failures
        ? ` (all ${r.runs} runs: ${Object.entries(r.failures)
            .map(([k, v]) => `${k}: ${v}`)
            .join('; ')})`
        : '';
      lines.push(
        `| ${r.name} | ${fmt(r.perSecond)} [${fmt(r.perSecondRange[0])}–${fmt(r.perSecondRange[1])}] | ${fmt(r.cpuPer10k)} | ${fmt(r.sinkCpuPer10k)} | ${fmt(r.peakRssMb)} MB | ${fmt(r.failed)}${failures} |`,
      );
    }
    lines.push('');
  };
  table('apns', 'APNs (HTTP/2, token auth)');
  table('fcm', 'FCM HTTP v1');
  lines.push(
    "`firebase-admin`'s `sendEach` is not in this table: its FCM host is a constant (`fcm.googleapis.com` in `lib/messaging/messaging.js`) " +
      'and its default HTTP/2 transport calls `http2.connect()` on it with no agent, no endpoint option and no emulator variable for messaging, ' +
      'so it cannot be pointed at a loopback server on Node 20 without patching its code or intercepting DNS and TLS for fcm.googleapis.com.',
    '',
  );
  table('webpush', 'Web Push (VAPID + aes128gcm, a fresh ECDH key per message)');
  lines.push('## Memory: devices streamed vs held', '');
  lines.push(
    '| sender | devices | source | pushes/s | CPU s per 10k | peak RSS | failed |',
    '|---|---|---|---|---|---|---|',
  );
  for (const m of mem) {
    const done =
      m.finished === false ? ` — did not finish within its cap (${Math.round(m.seconds)} s), killed` : '';
    lines.push(
      `| ${m.contender} | ${fmt(m.size)} | ${m.source} | ${fmt(m.perSecond)} | ${fmt(m.cpuPer10k)} | ${fmt(m.peakRssMb)} MB | ${fmt(m.failed)}${done} |`,
    );
  }
  lines.push('');
  lines.push(
    '## Engine overhead (bench/engine.ts: generator → engine → a provider that answers at once)',
    '',
  );
  lines.push('| devices | devices/s | CPU s | peak RSS |', '|---|---|---|---|');
  for (const e of input.engine)
    lines.push(
      `| ${fmt(e['devices'])} | ${fmt(e['perSecond'])} | ${e['cpuSeconds']} | ${e['peakRssMb']} MB |`,
    );
  lines.push('');
  if (input.stores) {
    lines.push('## Device sources (bench/stores.ts: rows → engine → instant provider)', '');
    lines.push('| store | rows | devices/s | CPU s | peak RSS |', '|---|---|---|---|---|');
    for (const s of input.stores.stores)
      lines.push(
        `| ${s['store']} | ${fmt(s['devices'] as number)} | ${fmt(s['perSecond'] as number)} | ${s['cpuSeconds']} | ${s['peakRssMb']} MB |`,
      );
    lines.push('');
  }
  lines.push('## Headline ratios and targets (issue 7)', '');
  if (quick) {
    lines.push(
      `**Smoke run (\`--quick\`): ${pushes.toLocaleString('en')} pushes in one round is mostly JIT warm-up, so the ` +
        'targets below are judged on figures they were not set for. Run without `--quick` to judge them.**',
      '',
    );
  }
  const target = (label: string, value: string, goal: string, met: boolean | undefined) =>
    lines.push(`| ${label} | ${value} | ${goal} | ${met === undefined ? '—' : met ? 'met' : 'not met'} |`);
  lines.push('| measure | this run | target | |', '|---|---|---|---|');
  const x = (v: number | undefined) => (v === undefined ? '—' : `${v}×`);
  const atLeast = (value: number | undefined, bound: number) =>
    value === undefined ? undefined : value >= bound;
  const atMost = (value: number | undefined, bound: number) =>
    value === undefined ? undefined : value <= bound;
  target(
    'pushline APNs vs best @parse/node-apn',
    x(headline.apnsVsNodeApnBest),
    '≥ 3×',
    atLeast(headline.apnsVsNodeApnBest, 3),
  );
  target('pushline APNs vs h2load', x(headline.apnsVsH2load), '≥ 0.5×', atLeast(headline.apnsVsH2load, 0.5));
  target(
    "pushline APNs, transport: 'node-http2', vs bare node:http2",
    x(headline.nodeHttp2ApnsVsBareNodeHttp2),
    '(yardstick)',
    undefined,
  );
  target(
    'pushline FCM vs best @parse/node-apn',
    x(headline.fcmVsNodeApnBest),
    '≥ 3×',
    atLeast(headline.fcmVsNodeApnBest, 3),
  );
  target('pushline FCM vs h2load', x(headline.fcmVsH2load), '≥ 0.5×', atLeast(headline.fcmVsH2load, 0.5));
  target(
    'pushline APNs CPU s per 10k',
    fmt(headline.pushlineApnsCpuPer10k),
    '≤ 0.3',
    atMost(headline.pushlineApnsCpuPer10k, 0.3),
  );
  target(
    'pushline FCM CPU s per 10k',
    fmt(headline.pushlineFcmCpuPer10k),
    '≤ 0.3',
    atMost(headline.pushlineFcmCpuPer10k, 0.3),
  );
  target(
    'pushline Web Push vs web-push',
    x(headline.webPushVsWebPushLib),
    '≥ 5×',
    atLeast(headline.webPushVsWebPushLib, 5),
  );
  const largeGen = memOf('generator', large!)?.peakRssMb;
  target(
    `peak RSS at ${fmt(large)} devices (generator)`,
    `${fmt(largeGen)} MB`,
    '≤ 150 MB',
    atMost(largeGen, 150),
  );
  target(
    `peak RSS ${fmt(large)} vs ${fmt(small)} (generator)`,
    `${headline.rssGrowthGenerator ?? '—'}%`,
    'within 20%',
    headline.rssGrowthGenerator === undefined ? undefined : Math.abs(headline.rssGrowthGenerator) <= 20,
  );
  target(
    `peak RSS ${fmt(large)} vs ${fmt(small)} (SQLite)`,
    `${headline.rssGrowthSqlite ?? '—'}%`,
    'within 20%',
    headline.rssGrowthSqlite === undefined ? undefined : Math.abs(headline.rssGrowthSqlite) <= 20,
  );
  if (headline.rssGrowthPostgres !== undefined) {
    target(
      `peak RSS ${fmt(large)} vs ${fmt(small)} (PostgreSQL)`,
      `${headline.rssGrowthPostgres}%`,
      'within 20%',
      Math.abs(headline.rssGrowthPostgres) <= 20,
    );
  }
  target(
    'failed sends in pushline runs',
    String(headline.pushlineFailedSends),
    '0',
    headline.pushlineFailedSends === 0,
  );
  lines.push('');
  if (input.errors.length) {
    lines.push('## Runs that failed to complete', '');
    for (const e of input.errors) lines.push(`- ${e}`);
    lines.push('');
  }
  return {
    markdown: lines.join('\n'),
    json: {
      machine: facts,
      sink: sink.description,
      pushes,
      webPushes,
      repeats,
      rows,
      memory: mem,
      engine: input.engine,
      stores: input.stores,
      headline,
      errors: input.errors,
    },
  };
}

/**
 * Device sources under load: N rows streamed from SQLite and from PostgreSQL through the engine
 * to a provider that answers at once, so what is measured is the source's cost per device and
 * whether its memory stays flat as N grows (design contract 2).
 *
 *   node --import tsx bench/stores.ts              # 100k and 1M rows, each store, one process per run
 *   node --import tsx bench/stores.ts --json
 *
 * The rows are generated first, in a separate process, outside the timed part. PostgreSQL runs
 * only when DATABASE_URL is set (`eval "$(bash .ci/services.sh)"` starts a server).
 * Each run prints one JSON line: { store, devices, seconds, perSecond, peakRssMb, cpuSeconds }.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Device } from '../src/index.js';
import { PushClient } from '../src/index.js';
import type { Outcome, Provider } from '../src/provider.js';
import { postgresDevices, sqliteDevices } from '../src/stores/index.js';

type Store = 'sqlite' | 'postgres';
interface RunResult {
  store: Store;
  devices: number;
  seconds: number;
  perSecond: number;
  peakRssMb: number;
  cpuSeconds: number;
}

const PLATFORM_OF_I = "CASE i % 3 WHEN 0 THEN 'ios' WHEN 1 THEN 'android' ELSE 'huawei' END";
const TABLE = 'pushline_bench_devices';

async function prepare(store: Store, devices: number, target: string): Promise<void> {
  if (store === 'sqlite') {
    const db = new Database(target);
    db.exec(`CREATE TABLE devices (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, token TEXT NOT NULL, user_id TEXT);
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${devices})
      INSERT INTO devices SELECT i, ${PLATFORM_OF_I}, printf('%064x', i), 'user-' || i FROM n;`);
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await client.query(
    `CREATE TABLE ${TABLE} (id bigint PRIMARY KEY, platform text NOT NULL, token text NOT NULL, user_id text)`,
  );
  await client.query(
    `INSERT INTO ${TABLE} SELECT i, ${PLATFORM_OF_I}, lpad(to_hex(i), 64, '0'), 'user-' || i FROM generate_series(0, $1 - 1) AS i`,
    [devices],
  );
  await client.query(`VACUUM ANALYZE ${TABLE}`);
  await client.end();
}

async function run(store: Store, devices: number, target: string): Promise<RunResult> {
  const SENT: Promise<Outcome> = Promise.resolve({ ok: true, httpStatus: 200 });
  const instant: Provider = {
    name: 'instant',
    platforms: ['ios', 'android', 'huawei'],
    prepare: () => ({ send: () => SENT }),
    close: async () => {},
    destroy: async () => {},
  };
  const query = `SELECT id, platform, token, user_id FROM ${store === 'sqlite' ? 'devices' : TABLE}`;
  const source: AsyncIterable<Device> =
    store === 'sqlite'
      ? sqliteDevices(target, { query })
      : postgresDevices(target, { query, batchSize: 1000 });
  const client = new PushClient({ providers: [instant], window: 1000 });
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  let sent = 0;
  for await (const fb of client.send({ title: 'bench' }, source)) if (fb.status === 'sent') sent++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  await client.close();
  if (sent !== devices) throw new Error(`only ${sent} of ${devices} sent`);
  return {
    store,
    devices,
    seconds: Number(seconds.toFixed(3)),
    perSecond: Math.round(devices / seconds),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(3)),
  };
}

const script = fileURLToPath(import.meta.url);
const child = (...args: string[]) =>
  execFileSync(process.execPath, ['--import', 'tsx', script, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });

const [mode, store, size, target] = process.argv.slice(2);
if (mode === 'prepare') {
  await prepare(store as Store, Number(size), target!);
} else if (mode === 'run') {
  console.log(JSON.stringify(await run(store as Store, Number(size), target!)));
} else {
  const json = process.argv.includes('--json');
  const sizes = [100_000, 1_000_000];
  const stores: { store: Store; target: (size: number) => string }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'pushline-bench-'));
  stores.push({ store: 'sqlite', target: (size) => join(dir, `devices-${size}.db`) });
  if (process.env.DATABASE_URL) stores.push({ store: 'postgres', target: () => process.env.DATABASE_URL! });
  else console.error('bench/stores: DATABASE_URL is not set, PostgreSQL is left out');
  const results: RunResult[] = [];
  try {
    for (const { store, target } of stores) {
      for (const size of sizes) {
        child('prepare', store, String(size), target(size));
        results.push(
          JSON.parse(child('run', store, String(size), target(size)).trim().split('\n').at(-1)!) as RunResult,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) {
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
      await client.end();
    }
  }
  const growth = (store: Store) => {
    const [small, large] = results.filter((r) => r.store === store);
    return small && large ? large.peakRssMb / small.peakRssMb - 1 : undefined;
  };
  if (json) {
    console.log(
      JSON.stringify(
        { stores: results, rssGrowth: { sqlite: growth('sqlite'), postgres: growth('postgres') } },
        null,
        2,
      ),
    );
  } else {
    console.log('device sources: rows → engine → instant provider, window 1000, one process per run');
    for (const r of results) {
      console.log(
        `  ${r.store.padEnd(8)} ${r.devices.toLocaleString('en').padStart(9)} rows  ${r.perSecond.toLocaleString('en').padStart(9)} devices/s` +
          `  peak RSS ${r.peakRssMb} MB  CPU ${r.cpuSeconds} s`,
      );
    }
    for (const { store } of stores) {
      const g = growth(store)!;
      console.log(
        `  ${store} peak RSS 1M vs 100k: ${g >= 0 ? '+' : ''}${(g * 100).toFixed(0)}% (target: within 20%)`,
      );
    }
  }
}

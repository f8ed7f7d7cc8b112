/**
 * `pushline demo`: the whole idea in one command, on the embedded default. Starts the
 * emulators, fills a SQLite database with N devices (some dead, by the emulators' scenarios),
 * sends one notification to all of them through the real providers while streaming rows
 * from SQLite, removes the dead tokens with the SQLite feedback sink, and checks the result.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PushClient } from '../client.js';
import { apns } from '../providers/apns/index.js';
import { fcm } from '../providers/fcm/index.js';
import { hms } from '../providers/hms/index.js';
import { webPush } from '../providers/webpush/index.js';
import { sqliteDriver } from '../stores/drivers.js';
import { sqliteFeedbackSink } from '../stores/sqlite-sink.js';
import { sqliteDevices } from '../stores/sqlite-source.js';
import { closeClient } from './close-client.js';
import { deliver } from './deliver.js';
import { countByPlatform, DEFAULT_SHARES, deadStillPresent, type PlatformCounts } from './demo-db.js';
import { type DemoEmulators, startDemoEmulators } from './demo-emulators.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { formatCount, formatDuration, table } from './format.js';
import type { CliIO } from './io.js';
import { redrawsInPlace } from './progress.js';
import { summaryJson, summaryTable } from './summary-table.js';

export interface DemoFlags {
  devicesCount?: string;
  db?: string;
  webShare?: string;
  huaweiShare?: string;
  seed?: string;
  json?: boolean;
  progress?: boolean;
  progressInterval?: string;
}

const PLATFORMS = ['ios', 'android', 'huawei', 'web'] as const;
const PROVIDER_OF: Record<(typeof PLATFORMS)[number], string> = {
  ios: 'APNs',
  android: 'FCM',
  huawei: 'HMS',
  web: 'Web Push',
};

function parseNumber(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/[_,]/g, ''));
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new CliError(
      `${flag} must be a number from ${min} to ${formatCount(max)}, got '${value}'`,
      EXIT.usage,
    );
  }
  return parsed;
}

export async function runDemo(flags: DemoFlags, io: CliIO): Promise<ExitCode> {
  const count = Math.floor(parseNumber('--devices-count', flags.devicesCount, 100_000, 1, 10_000_000));
  const webShare = parseNumber('--web-share', flags.webShare, DEFAULT_SHARES.web, 0, 1);
  const huaweiShare = parseNumber('--huawei-share', flags.huaweiShare, DEFAULT_SHARES.huawei, 0, 1);
  if (webShare + huaweiShare > 1) {
    throw new CliError(
      `--web-share ${webShare} and --huawei-share ${huaweiShare} add up to more than 1`,
      EXIT.usage,
    );
  }
  const seed = Math.floor(parseNumber('--seed', flags.seed, 1, 0, 2 ** 31));
  const progressSeconds = parseNumber('--progress-interval', flags.progressInterval, 5, 0.05, 3600);
  const say = (text: string) => {
    if (!flags.json) io.stdout.write(`${text}\n`);
  };
  const tempDir = flags.db === undefined ? mkdtempSync(join(tmpdir(), 'pushline-demo-')) : undefined;
  const dbPath = flags.db === undefined ? join(tempDir!, 'devices.db') : resolve(flags.db);
  if (flags.db !== undefined && existsSync(dbPath)) {
    throw new CliError(
      `--db '${dbPath}' already exists: the demo makes a new database; remove it or pick another path`,
      EXIT.usage,
    );
  }

  // Loaded here first: the database is filled in the emulators' worker thread, whose errors
  // come back as plain errors (a missing better-sqlite3 would then read as a bug, exit 70).
  sqliteDriver();
  const started = Date.now();
  say(
    `pushline demo: ${formatCount(count)} devices in SQLite → APNs, FCM, HMS and Web Push emulators on 127.0.0.1`,
  );
  const shares = { ...DEFAULT_SHARES, web: webShare, huawei: huaweiShare };
  let emulators: DemoEmulators | undefined;
  let client: PushClient | undefined;
  try {
    emulators = await startDemoEmulators({ dbPath, count, shares, seed });
    const { created, providerOptions } = emulators;
    const deadTotal = created.dead.ios + created.dead.android + created.dead.web + created.dead.huawei;
    say(
      `  database   ${dbPath}${tempDir ? ' (temporary; keep one with --db FILE)' : ''}, made in ${formatDuration(Date.now() - started)}`,
    );
    for (const platform of PLATFORMS) {
      say(
        `  ${platform.padEnd(8)} ${formatCount(created.devices[platform]).padStart(9)} devices via ${PROVIDER_OF[platform].padEnd(8)}  ${formatCount(created.dead[platform]).padStart(7)} dead by the emulator's scenario`,
      );
    }
    say(
      `  web devices are ${Math.round(webShare * 100)}% of the total: Web Push encrypts each message per device (~150 µs), so the demo keeps them fewer (--web-share)`,
    );
    say('');

    client = new PushClient({
      providers: [
        apns(providerOptions.apns),
        fcm(providerOptions.fcm),
        webPush(providerOptions.webpush),
        hms(providerOptions.hms),
      ],
      // The demo runs every emulator in this process, so a lane's answer time includes that
      // emulator's own work here (the FCM emulator's is the largest): FCM's answers really are
      // slower than the others', which the lane-overflow guard (fail a slow lane's excess fast
      // while others have room) rightly reads as a slow provider — on a loaded machine, for
      // seconds at a time, 1,400–5,500 FCM devices failed `unavailable`. The demo checks exact
      // outcomes, so it waits for every lane.
      laneOverflow: 'wait',
    });
    // The sink opens its own connection first: it switches the file to WAL so it can write
    // while the source's read cursor stays open.
    const sink = sqliteFeedbackSink(dbPath, { table: 'devices', keyColumn: 'id', mode: 'delete' });
    const devices = sqliteDevices(dbPath, { query: 'SELECT id, user_id, platform, token FROM devices' });
    const notification = {
      title: 'Hello from pushline',
      body: 'One notification, every platform, dead tokens cleaned up.',
      data: { campaign: 'demo', seed },
    };
    const result = await deliver({
      client,
      notification,
      devices,
      sink,
      signal: io.signal,
      ...(io.abortSignal ? { abortSignal: io.abortSignal } : {}),
      notices: { stream: io.stderr, tty: redrawsInPlace(io.stderrIsTTY, io.env) },
      ...(flags.progress === false
        ? {}
        : {
            progress: {
              stream: io.stderr,
              tty: redrawsInPlace(io.stderrIsTTY, io.env),
              total: Promise.resolve(count),
              lineMs: progressSeconds * 1000,
            },
          }),
    });
    await closeClient(client);
    client = undefined;
    if (result.sourceError !== undefined) throw result.sourceError;
    if (result.sinkError !== undefined) throw result.sinkError;

    const after = countByPlatform(dbPath);
    const removed = {} as PlatformCounts;
    for (const platform of PLATFORMS) removed[platform] = created.devices[platform] - after[platform];
    const remaining = after.ios + after.android + after.web + after.huawei;
    const sinkRemoved = result.applied?.removed ?? 0;
    const stillDead = deadStillPresent(dbPath);
    const checks = {
      remainingIsCountMinusRemoved: remaining === count - sinkRemoved,
      everyDeadTokenRemoved: stillDead === 0,
      onlyDeadTokensRemoved: sinkRemoved === deadTotal,
    };
    const passed = !result.interrupted && Object.values(checks).every(Boolean);
    const summary = result.summary;
    const exitCode: ExitCode = result.interrupted
      ? EXIT.interrupted
      : !passed
        ? EXIT.software
        : summary.failed > 0
          ? EXIT.partial
          : EXIT.ok;

    if (flags.json) {
      io.stdout.write(
        `${JSON.stringify({
          devices: count,
          database: tempDir ? null : dbPath,
          webShare,
          huaweiShare,
          seed,
          created: created.devices,
          dead: created.dead,
          summary: summaryJson(summary),
          removed,
          remaining,
          checks,
          passed,
          exitCode,
        })}\n`,
      );
    } else {
      say('Summary');
      say(summaryTable(summary));
      say('');
      say('Dead tokens removed from the devices table (sqliteFeedbackSink)');
      const rows = [['platform', 'before', 'removed', 'remaining']];
      for (const platform of PLATFORMS) {
        rows.push([
          platform,
          formatCount(created.devices[platform]),
          formatCount(removed[platform]),
          formatCount(after[platform]),
        ]);
      }
      rows.push(['all', formatCount(count), formatCount(count - remaining), formatCount(remaining)]);
      say(table(rows));
      const mark = (ok: boolean) => (ok ? 'ok' : 'FAILED');
      say('');
      say(
        `  check: remaining rows ${formatCount(remaining)} = ${formatCount(count)} − ${formatCount(sinkRemoved)} removed: ${mark(checks.remainingIsCountMinusRemoved)}`,
      );
      if (result.interrupted) {
        say(
          `  interrupted: the send stopped after ${formatCount(summary.total)} of ${formatCount(count)} devices; the dead tokens among them were removed`,
        );
      } else {
        say(
          `  check: exactly the ${formatCount(deadTotal)} tokens the emulators made dead are gone (${formatCount(stillDead)} left): ${mark(checks.everyDeadTokenRemoved && checks.onlyDeadTokensRemoved)}`,
        );
      }
      say(`  done in ${formatDuration(Date.now() - started)} (setup included)`);
    }
    if (!passed && !result.interrupted) {
      io.stderr.write(
        "pushline: error: the demo's checks failed (see above): this is a bug, please report it\n",
      );
    }
    return exitCode;
  } finally {
    client?.destroy();
    await emulators?.close();
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  }
}

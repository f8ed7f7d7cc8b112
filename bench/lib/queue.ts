/**
 * The pieces bench/queue.ts needs around the BullMQ queue: a `pushline worker` config pointed at
 * the sink, compiled `pushline worker` processes, and Redis's own counters (INFO) read before and
 * after a send.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { BenchTarget } from './target.js';

/** The compiled CLI (`buildClients` compiles src/ too): workers run as users run them, not under tsx. */
const MAIN = fileURLToPath(new URL('../out/build/src/cli/main.js', import.meta.url));

/**
 * The compiled CLI reads its version from the package.json beside its tree (`src/cli/version.ts`):
 * put one there.
 */
export function prepareCompiledCli(): void {
  copyFileSync(
    fileURLToPath(new URL('../../package.json', import.meta.url)),
    fileURLToPath(new URL('../out/build/package.json', import.meta.url)),
  );
}

/**
 * Writes a config whose top-level `providers` (the app `default`) is `apns()` pointed at the
 * sink, with its key and CA as files, as a real deployment hands them to workers.
 */
export function writeWorkerConfig(target: BenchTarget, dir: string): string {
  const { apns } = target;
  writeFileSync(join(dir, 'apns-key.p8'), apns.key, { mode: 0o600 });
  writeFileSync(join(dir, 'apns-ca.pem'), apns.ca);
  const config = {
    providers: {
      apns: {
        teamId: apns.teamId,
        keyId: apns.keyId,
        keyFile: 'apns-key.p8',
        topic: apns.topic,
        endpoint: apns.origin,
        caFile: 'apns-ca.pem',
      },
    },
  };
  const path = join(dir, 'pushline.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export interface BenchWorker {
  pid: number;
  /** Everything it wrote on stderr. */
  readonly log: string;
  /** SIGTERM, then SIGKILL after `guardMs`; resolves on exit. */
  stop(guardMs?: number): Promise<void>;
}

/** Starts a compiled `pushline worker` and waits for its "started" line. */
export async function startBenchWorker(
  redisUrl: string,
  configFile: string,
  flags: string[] = [],
): Promise<BenchWorker> {
  const child: ChildProcess = spawn(
    process.execPath,
    [MAIN, 'worker', '--redis', redisUrl, '--config', configFile, ...flags],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (text: string) => {
      log += text;
      if (log.includes('started:')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`pushline worker exited (${code}) before starting:\n${log}`)),
    );
  });
  return {
    pid: child.pid!,
    get log() {
      return log;
    },
    async stop(guardMs = 60_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const guard = setTimeout(() => child.kill('SIGKILL'), guardMs);
      await exited.finally(() => clearTimeout(guard));
    },
  };
}

/** One INFO section as name → value. */
export async function info(redis: Redis, section: string): Promise<Record<string, string>> {
  const text = await redis.info(section);
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

/**
 * Calls per command since Redis started (INFO commandstats), Lua scripts' inner calls included
 * (they are counted under their own command, and the script under evalsha).
 */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const [name, value] of Object.entries(await info(redis, 'commandstats'))) {
    const match = /calls=(\d+)/.exec(value);
    if (match && name.startsWith('cmdstat_')) calls.set(name.slice('cmdstat_'.length), Number(match[1]));
  }
  return calls;
}

/** `after − before` per command, largest first. */
export function callsDelta(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  return [...after]
    .map(([name, n]) => [name, n - (before.get(name) ?? 0)] as [string, number])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
}

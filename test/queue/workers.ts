/**
 * Real `pushline worker` processes for the queue tests, pointed at a started emulator through
 * the config `writeEmulatorFiles` writes (with a small client window, so a killed worker's
 * in-flight limit is small and known).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeEmulatorFiles } from '../../src/cli/emulator-files.js';
import type { Emulator } from '../../src/emulator/index.js';

/** Longer than any grace period the tests give (30 s) plus the close's margin for Redis. */
const STOP_GUARD_MS = 60_000;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Writes the emulator's files into `dir` and a config with `client.window` = `window`. */
export function workerConfig(emulator: Emulator, dir: string, window: number, prefix: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = writeEmulatorFiles(emulator, dir, {});
  const config = JSON.parse(readFileSync(files.configFile, 'utf8'));
  config.client = { window };
  config.redis = { prefix };
  writeFileSync(files.configFile, JSON.stringify(config));
  return files.configFile;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything it wrote on stderr. */
  readonly log: string;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `pushline worker` and waits for its "started" line. */
export async function startWorkerProcess(
  redisUrl: string,
  configFile: string,
  flags: string[] = [],
): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'worker', '--redis', redisUrl, '--config', configFile, ...flags],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.setEncoding('utf8');
  const started = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (text: string) => {
      log += text;
      if (log.includes('started:')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`pushline worker exited (${code}) before starting:\n${log}`)),
    );
  });
  await started;
  return {
    child,
    get log() {
      return log;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) {
        return { code: child.exitCode, signal: child.signalCode };
      }
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill(signal);
      // A worker that does not stop must fail its test with its log, not hold the file until the
      // runner's timeout (a grace period, then Redis's margin, is all a stop may take).
      const guard = setTimeout(() => child.kill('SIGKILL'), STOP_GUARD_MS);
      const [code, signalCode] = await exited.finally(() => clearTimeout(guard));
      if (signal !== 'SIGKILL' && signalCode === 'SIGKILL') {
        throw new Error(`pushline worker did not stop on ${signal} within ${STOP_GUARD_MS} ms:\n${log}`);
      }
      return { code, signal: signalCode };
    },
  };
}

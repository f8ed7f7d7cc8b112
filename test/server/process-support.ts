/**
 * A real `pushline serve` process for the tests that need one: spawned through tsx as
 * `npm run pushline serve` would be, its JSON log read from stdout until it says where it
 * listens, and killed (SIGKILL) by the test's cleanup if it is still running.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cleanEnv, ROOT } from '../cli/support.js';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  /** Base URL, once listening. */
  url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills it if it is still running (for `t.after`). */
  kill(): Promise<void>;
}

/** Starts `pushline serve …` and resolves once it listens (rejects if it exits first). */
export async function startServe(
  args: string[],
  env: Record<string, string | undefined> = {},
  startTimeoutMs = 90_000,
): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    env: cleanEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pushline serve did not listen in time:\n${stderr}`)),
      startTimeoutMs,
    );
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      for (const line of stdout.split('\n')) {
        if (!line.includes('"listening"')) continue;
        const parsed = JSON.parse(line) as { msg?: string; url?: string };
        if (parsed.msg === 'listening' && parsed.url) {
          clearTimeout(timer);
          resolve(parsed.url);
        }
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`pushline serve exited (${code}) before listening:\n${stderr}`));
    });
  }).catch(async (error) => {
    await kill();
    throw error;
  });
  return { child, url, stdout: () => stdout, stderr: () => stderr, exited, kill };
}

/** A process's resident memory now and at its peak, in MiB, from /proc/<pid>/status. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** Calls the server with a key; JSON in and out. */
export async function call(
  url: string,
  key: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : JSON.parse(text), headers: response.headers };
}

/** Polls a send until it has ended. */
export async function settled(
  url: string,
  key: string,
  id: string,
  timeoutMs = 120_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { json } = await call(url, key, 'GET', `/v1/sends/${id}`);
    if (json['state'] !== 'running' && json['state'] !== 'queued') return json;
    if (Date.now() > deadline) throw new Error(`send ${id} still ${String(json['state'])}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

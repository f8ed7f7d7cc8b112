/**
 * Runs `pushline` as a real subprocess (through tsx, as `npm start` does) and collects its
 * exit code and output; plus helpers to make the devices a test sends to.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  /** Leave stdin open after `input` (a source that is still being read): end it through `child`. */
  keepStdinOpen?: boolean;
  timeoutMs?: number;
}

/** The environment without any PUSHLINE_* / Google variable of the machine running the tests. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('PUSHLINE_') && name !== 'GOOGLE_APPLICATION_CREDENTIALS') env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) env[name] = value;
  return env;
}

export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliRun> {
  return startCli(args, options).done;
}

/** A `pushline` subprocess still running: signal it through `child`, await `done` for its run. */
export interface StartedCli {
  child: ChildProcessWithoutNullStreams;
  done: Promise<CliRun>;
  /** stderr so far. */
  stderr(): string;
}

/** Starts `pushline` and returns at once, for tests that signal it mid-run. */
export function startCli(args: string[], options: CliRunOptions = {}): StartedCli {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: cleanEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<CliRun>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 40_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  if (options.keepStdinOpen) child.stdin.write(options.input ?? '');
  else child.stdin.end(options.input ?? '');
  return { child, done, stderr: () => stderr };
}

/** A well-formed APNs device token. */
export const iosToken = (): string => randomBytes(32).toString('hex');
/** A token the FCM emulator accepts as well-formed. */
export const fcmToken = (): string =>
  `${randomBytes(16).toString('base64url')}:APA91b${randomBytes(96).toString('base64url')}`;

/** One line of `--out`, as the tests read it. */
export interface FeedbackLine {
  device: { id?: unknown; n?: unknown; line?: number; token?: string | { endpoint: string } };
  status: string;
  error?: { code: string };
}

/** Parses NDJSON feedback text. */
export const ndjson = (text: string): FeedbackLine[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));

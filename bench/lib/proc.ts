/**
 * The parent side: run one contender in its own process, read its JSON line, and measure the
 * sink's CPU over the same run from /proc/<pid>/stat (Linux; omitted elsewhere).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMessage, MessageTemplate } from '../../src/providers/fcm/message.js';
import type { ClientResult } from './report.js';
import { ALERT, hexToken } from './target.js';

export interface RunResult extends ClientResult {
  /** CPU the sink spent during this run, per 10k pushes (it shares the cores with the client). */
  sinkCpuPer10k?: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux Node supports.

/** utime + stime of a process in seconds, or undefined where /proc is not there. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

const benchDir = fileURLToPath(new URL('..', import.meta.url));
/** Where `buildClients` puts the compiled clients (bench/out is git-ignored). */
const buildDir = join(benchDir, 'out', 'build', 'bench');

/**
 * Compiles src/ and the bench clients to plain JavaScript once per run, so contenders run as
 * users run them (compiled), not under tsx, whose transpiler would add ~40 MB RSS and CPU to
 * every client and blur the memory figures.
 */
export function buildClients(): void {
  const tsc = join(benchDir, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(benchDir, 'tsconfig.json')], { stdio: 'inherit' });
}

export function runNode(
  script: string,
  args: string[],
  timeoutMs: number,
  extraArgs: string[] = [],
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...extraArgs, join(buildDir, script.replace(/\.ts$/, '.js')), ...args],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${script} ${args.slice(1).join(' ')}: ${error.message}\n${stderr.slice(-2000)}`));
        else resolve(stdout);
      },
    );
  });
}

/** Runs a client script; returns its result with the sink's CPU for the same span. */
export async function runClient(
  script: string,
  args: string[],
  sinkPid: number,
  timeoutMs = 180_000,
  nodeArgs: string[] = [],
): Promise<RunResult> {
  const sinkBefore = processCpuSeconds(sinkPid);
  const stdout = await runNode(script, args, timeoutMs, nodeArgs);
  const sinkAfter = processCpuSeconds(sinkPid);
  const line = stdout.trim().split('\n').at(-1)!;
  const result = JSON.parse(line) as RunResult;
  if (sinkBefore !== undefined && sinkAfter !== undefined) {
    result.sinkCpuPer10k = Math.round(((sinkAfter - sinkBefore) * 10_000 * 1000) / result.pushes) / 1000;
  }
  return result;
}

/** Whether an executable is on PATH. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/**
 * The request bodies h2load sends: byte for byte what `apns()` and `fcm()` send for ALERT to the
 * bench's first device, so the ceiling carries the same bytes as the senders.
 */
export function alertBodies(): { apns: string; fcm: string } {
  return {
    apns: JSON.stringify({ aps: { alert: { title: ALERT.title, body: ALERT.body } } }),
    fcm: new MessageTemplate(buildMessage(ALERT, { platforms: ['android'] }).message, 'token', false).body(
      hexToken(0),
    ),
  };
}

/**
 * h2load (nghttp2's load generator, C) against the APNs-like path: the practical ceiling.
 * Run under GNU time when present for its CPU and peak RSS.
 */
export async function runH2load(
  h2load: string,
  contender: string,
  url: string,
  headers: Record<string, string>,
  body: string,
  pushes: number,
  dir: string,
  sinkPid: number,
  shape: { connections: number; streams: number } = { connections: 4, streams: 100 },
): Promise<RunResult> {
  const bodyFile = join(dir, `h2load-body-${pushes}-${body.length}.json`);
  writeFileSync(bodyFile, body);
  const h2Args = [
    '-n',
    String(pushes),
    '-c',
    String(shape.connections),
    '-m',
    String(shape.streams),
    '-t',
    '1',
  ];
  h2Args.push('-d', bodyFile);
  for (const [name, value] of Object.entries(headers)) h2Args.push('-H', `${name}: ${value}`);
  h2Args.push(url);
  const time = which('time') ?? (existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined);
  const file = time ?? h2load;
  const args = time ? ['-f', 'TIME %U %S %M', h2load, ...h2Args] : h2Args;
  const sinkBefore = processCpuSeconds(sinkPid);
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`h2load: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
  const sinkAfter = processCpuSeconds(sinkPid);
  const finished = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(stdout);
  const requests =
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  const status = /status codes: (\d+) 2xx/.exec(stdout);
  if (!finished || !requests) throw new Error(`h2load output not understood:\n${stdout}`);
  const seconds = Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1);
  const ok = status ? Number(status[1]) : Number(requests[1]);
  const timed = time ? /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr) : null;
  const cpuSeconds = timed ? Number(timed[1]) + Number(timed[2]) : Number.NaN;
  const result: RunResult = {
    contender,
    pushes,
    sent: ok,
    failed: pushes - ok,
    seconds,
    perSecond: Math.round(Number(finished[3])),
    cpuSeconds,
    cpuPer10k: Math.round(((cpuSeconds * 10_000) / pushes) * 1000) / 1000,
    peakRssMb: timed ? Math.round(Number(timed[3]) / 1024) : Number.NaN,
  };
  if (sinkBefore !== undefined && sinkAfter !== undefined) {
    result.sinkCpuPer10k = Math.round(((sinkAfter - sinkBefore) * 10_000 * 1000) / pushes) / 1000;
  }
  return result;
}

/** Peak RSS so far (VmHWM) of a live process in MB, from /proc. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Like {@link runClient}, but a run that passes `capMs` is killed and reported as not
 * finished, with the peak RSS it had reached (sampled from /proc while it ran).
 */
export function runClientCapped(
  script: string,
  args: string[],
  capMs: number,
  contender: string,
  pushes: number,
): Promise<RunResult & { finished: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(buildDir, script.replace(/\.ts$/, '.js')), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    let peak = 0;
    const cpuStart = Date.now();
    const sampler = setInterval(() => {
      peak = Math.max(peak, peakRssMb(child.pid!) ?? 0);
    }, 200);
    let killed = false;
    let cpuAtKill: number | undefined;
    const cap = setTimeout(() => {
      killed = true;
      peak = Math.max(peak, peakRssMb(child.pid!) ?? 0);
      cpuAtKill = processCpuSeconds(child.pid!);
      child.kill('SIGKILL');
    }, capMs);
    child.once('exit', (code) => {
      clearInterval(sampler);
      clearTimeout(cap);
      if (killed) {
        const seconds = (Date.now() - cpuStart) / 1000;
        resolve({
          contender,
          pushes,
          sent: 0,
          failed: 0,
          seconds,
          perSecond: 0,
          cpuSeconds: cpuAtKill ?? Number.NaN,
          cpuPer10k: Number.NaN,
          peakRssMb: peak,
          finished: false,
        });
      } else if (code !== 0) {
        reject(new Error(`${script} exited with ${code}: ${stderr.slice(-2000)}`));
      } else {
        resolve({ ...(JSON.parse(stdout.trim().split('\n').at(-1)!) as RunResult), finished: true });
      }
    });
  });
}

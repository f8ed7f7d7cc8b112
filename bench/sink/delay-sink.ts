/**
 * The latency benchmark's sink: bench/sink/delay-sink/main.go, Go's x/net/http2 server that
 * answers APNs and FCM pushes after a fixed delay, in its own process. Built here on first use
 * (offline, against Debian's golang-go and golang-golang-x-net-dev, like the conformance
 * suite's Go server) into a cache directory outside the repository, and rebuilt when its
 * source is newer than the binary:
 *
 *   apt-get install golang-go golang-golang-x-net-dev
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { which } from '../lib/proc.js';

// Run from source by the orchestrator (bench/latency.ts, under tsx), never from bench/out.
const SOURCE = fileURLToPath(new URL('./delay-sink/main.go', import.meta.url));
/** Where the binary is kept between runs (PUSHLINE_BENCH_CACHE, else the temp dir). */
const CACHE = process.env.PUSHLINE_BENCH_CACHE ?? join(tmpdir(), 'pushline-bench-cache');
const BINARY = join(CACHE, 'delay-sink');
const GOPATH = '/usr/share/gocode';

/** Why the sink cannot be built here, or undefined when it can (or already is). */
export function delaySinkMissing(): string | undefined {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return undefined;
  if (!which('go')) return 'go is not installed (apt-get install golang-go golang-golang-x-net-dev)';
  if (!existsSync(join(GOPATH, 'src/golang.org/x/net/http2'))) {
    return "Go's x/net/http2 is not installed (apt-get install golang-golang-x-net-dev)";
  }
  return undefined;
}

/** Builds the sink when its binary is missing or older than its source; returns its path. */
export function buildDelaySink(): string {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs) return BINARY;
  mkdirSync(CACHE, { recursive: true });
  const build = mkdtempSync(join(tmpdir(), 'pushline-go-build-'));
  try {
    // Offline: Debian's packaged x/net in GOPATH, no modules, no proxy; caches in a temp dir.
    execFileSync('go', ['build', '-o', `${BINARY}.new`, SOURCE], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH,
        GOPROXY: 'off',
        GOFLAGS: '',
        GOCACHE: join(build, 'cache'),
      },
    });
    renameSync(`${BINARY}.new`, BINARY);
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
  return BINARY;
}

export interface DelaySink {
  origin: string;
  port: number;
  pid: number;
  delayMs: number;
  maxStreams: number;
  close(): Promise<void>;
}

/** Starts the sink answering after `delayMs`, with APNs' 1,000 streams per connection. */
export async function startDelaySink(
  dir: string,
  tls: { certPem: string; keyPem: string },
  delayMs: number,
  maxStreams = 1000,
): Promise<DelaySink> {
  const binary = buildDelaySink();
  writeFileSync(join(dir, 'delay-cert.pem'), tls.certPem);
  writeFileSync(join(dir, 'delay-key.pem'), tls.keyPem);
  const child: ChildProcess = spawn(
    binary,
    [
      '-cert',
      join(dir, 'delay-cert.pem'),
      '-key',
      join(dir, 'delay-key.pem'),
      '-delay',
      `${delayMs}ms`,
      '-max-concurrent-streams',
      String(maxStreams),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8');
  while (!out.includes('\n')) {
    const chunk = await Promise.race([once(child.stdout!, 'data'), once(child, 'exit')]);
    if (child.exitCode !== null) throw new Error(`delay sink exited (${String(chunk)})`);
    out += String(chunk[0]);
  }
  const address = /listening (\S+)/.exec(out)?.[1];
  if (address === undefined) throw new Error(`delay sink said: ${out}`);
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  const exited = once(child, 'exit');
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    delayMs,
    maxStreams,
    async close() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

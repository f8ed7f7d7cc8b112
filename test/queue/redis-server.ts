/**
 * A private redis-server for the queue tests: Debian's binary, on a free 127.0.0.1 port, in
 * its own temp directory, killed afterwards. When the binary is missing the tests skip with a
 * loud message (never a silent pass): `.ci/services.sh` installs it in CI.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BINARY = process.env.PUSHLINE_REDIS_SERVER ?? 'redis-server';

/** Why the Redis tests cannot run here, or undefined when they can. */
export function redisUnavailable(): string | undefined {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const message = `REDIS TESTS SKIPPED: '${BINARY}' is not installed (apt-get install redis-server, or run .ci/services.sh); the BullMQ queue is NOT tested here`;
    process.stderr.write(`\n${'!'.repeat(100)}\n${message}\n${'!'.repeat(100)}\n\n`);
    return message;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Kills the server (SIGKILL: no final save unless AOF has it) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (with what AOF kept). */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const { Socket } = await import('node:net');
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server did not listen on ${port}`);
}

/** Starts a redis-server with AOF (appendfsync always) and `noeviction`, as the README advises. */
export async function startRedis(extra: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pushline-redis-'));
  let child: ChildProcess;
  const start = async () => {
    child = spawn(
      BINARY,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
        ...extra,
      ],
      { stdio: 'ignore' },
    );
    await waitForPort(port, child);
  };
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    restart: start,
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

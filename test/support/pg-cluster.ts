/**
 * A private, throwaway PostgreSQL cluster for tests that must stop and restart the server
 * (the shared one named by DATABASE_URL is used by others and must never be restarted).
 *
 * It uses the distribution's own binaries (Debian: /usr/lib/postgresql/<version>/bin, which
 * `.ci/services.sh` installs), in a temp directory, on a free port on 127.0.0.1, with trust
 * authentication and fsync off (nothing in it matters after the test). PostgreSQL refuses to
 * run as root, so as root every command runs as the `postgres` user through `runuser`.
 * `pgClusterUnavailable()` says why a cluster cannot be made here, for a loud skip.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOTS = ['/usr/lib/postgresql'];
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'];

/** The newest installed server's bin directory, if any. */
function binDir(): string | undefined {
  for (const root of ROOTS) {
    if (!existsSync(root)) continue;
    const versions = readdirSync(root)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = join(root, version, 'bin');
      if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
    }
  }
  return undefined;
}

const isRoot = () => process.getuid?.() === 0;
const runuser = () => RUNUSER.find((path) => existsSync(path));

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** Why a private cluster cannot be started here, or undefined when it can. */
export function pgClusterUnavailable(): string | undefined {
  if (!binDir()) return 'no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin';
  if (isRoot()) {
    if (!runuser()) return 'running as root and runuser is missing (PostgreSQL refuses to run as root)';
    if (!postgresIds()) return 'running as root and there is no postgres user to run the server as';
  }
  return undefined;
}

export interface PgCluster {
  /** `postgres://pushline@127.0.0.1:<port>/postgres` (trust auth: no password). */
  readonly url: string;
  readonly port: number;
  /** Stops the server; `immediate` is a crash-like stop (connections cut, no checkpoint). */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server (if running) and removes every file. */
  destroy(): Promise<void>;
  /** The server log so far, for failure messages. */
  log(): string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Makes and starts a cluster. Throws with the reason when it cannot (check `pgClusterUnavailable` first). */
export async function startPgCluster(): Promise<PgCluster> {
  const reason = pgClusterUnavailable();
  if (reason) throw new Error(`cannot start a private PostgreSQL cluster: ${reason}`);
  const bin = binDir()!;
  const dir = mkdtempSync(join(tmpdir(), 'pushline-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (isRoot()) {
    const ids = postgresIds()!;
    chownSync(dir, ids.uid, ids.gid);
  }
  const run = (tool: string, args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const command = isRoot() ? runuser()! : join(bin, tool);
      const argv = isRoot() ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
      execFile(command, argv, { timeout: 60_000, cwd: dir }, (error, _stdout, stderr) => {
        if (error) reject(new Error(`${tool} ${args.join(' ')} failed: ${stderr || error.message}`));
        else resolve();
      });
    });

  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`, // its Unix socket in our directory, not /var/run/postgresql
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c full_page_writes=off',
  ].join(' ');
  let running = false;
  const cluster: PgCluster = {
    url: `postgres://pushline@127.0.0.1:${port}/postgres`,
    port,
    async stop(mode = 'immediate') {
      await run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
      running = false;
    },
    async start() {
      await run('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
      running = true;
    },
    async destroy() {
      if (running) await cluster.stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  try {
    await run('initdb', ['-D', data, '-U', 'pushline', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await cluster.start();
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}

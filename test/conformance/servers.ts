/**
 * Starts HTTP/2 servers pushline did not write — nghttpd, nginx and Go's x/net/http2 server —
 * on 127.0.0.1 with the test CA's certificate, each in its own process, behind one interface
 * the scenarios in ./scenarios.ts drive. `.ci/conformance-servers.sh` installs them and
 * prints PUSHLINE_NGHTTPD, PUSHLINE_NGINX and PUSHLINE_GO_H2_SERVER.
 *
 * Every server counts what it processed per path (nghttpd from its `-v` frame log, nginx
 * from its access log, Go from its own counter), so a scenario that sends each request to
 * its own path sees losses and duplicates on the server side, not only on the client's.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import type { Pool, TransportRequest } from '../../src/transport/types.js';
import { serverTls } from '../transport/helpers.js';

export type ServerKind = 'nghttpd' | 'nginx' | 'go';

export interface ServerOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS the server announces. */
  maxConcurrentStreams?: number;
  /** nginx only: requests per connection before nginx sends GOAWAY (keepalive_requests). */
  requestsPerConnection?: number;
}

export interface ConformanceServer {
  kind: ServerKind;
  origin: string;
  port: number;
  /** PEM of the CA that signed the server's certificate. */
  ca: string;
  /** A small request to `/r/<i>` and the body its answer must carry. */
  small(i: number): { request: TransportRequest; expect: Buffer };
  /** Sends `body` up under `name` and returns what the server sends back for it. */
  roundTrip(pool: Pool, name: string, body: Buffer): Promise<Buffer>;
  /** Requests processed per path, over every life of the server (Go: since the last start). */
  counts(): Promise<Map<string, number>>;
  /** RST_STREAM(REFUSED_STREAM) the server sent, where its log shows them (else undefined). */
  refusals(): number | undefined;
  /** Graceful GOAWAY on the connections open now, the listener staying up (Go only). */
  goaway?(): Promise<void>;
  /** SIGKILL: no GOAWAY, no close_notify, sockets reset by the kernel. */
  kill(): Promise<void>;
  /** Starts the server again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Environment variable naming each server's binary. */
export const BINARY_ENV: Record<ServerKind, string> = {
  nghttpd: 'PUSHLINE_NGHTTPD',
  nginx: 'PUSHLINE_NGINX',
  go: 'PUSHLINE_GO_H2_SERVER',
};

/** The binary for `kind`: from its environment variable, else (nghttpd, nginx) from PATH or /usr/sbin. */
export function findBinary(kind: ServerKind): string | undefined {
  const fromEnv = process.env[BINARY_ENV[kind]];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  if (kind === 'go') {
    const built = '/var/lib/pushline-ci/go-h2-server';
    return existsSync(built) ? built : undefined;
  }
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    if (dir && existsSync(join(dir, kind))) return join(dir, kind);
  }
  return undefined;
}

/** A free loopback port (nghttpd and nginx take theirs on the command line / in their config). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function handshakes(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(
      { host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] },
      () => {
        socket.destroy();
        resolve(true);
      },
    );
    socket.once('error', () => resolve(false));
    // A port that accepts but never finishes the handshake is not ready either.
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A server process: spawned, ready once a TLS handshake succeeds on its port. */
class Process {
  child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: string,
    private readonly command: string,
    private readonly args: () => string[],
  ) {}

  /** Resolves with the port it answers on (`port`, or the one it announced when undefined). */
  async start(port: number | undefined, onOutput?: (text: string) => void): Promise<number> {
    const child = spawn(this.command, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let startupOutput = '';
    for (const stream of [child.stdout!, child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => {
        if (startupOutput.length < 10_000) startupOutput += text;
        onOutput?.(text);
      });
    }
    for (let i = 0; ; i++) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${this.name} exited at start: ${startupOutput}`);
      }
      const p = port ?? this.portFrom(startupOutput);
      if (p !== undefined && (await handshakes(p))) return p;
      if (i > 200) throw new Error(`${this.name} did not come up: ${startupOutput}`);
      await sleep(25);
    }
  }

  /** Go prints `listening 127.0.0.1:<port>`. */
  portFrom(text: string): number | undefined {
    const match = /listening [\d.]+:(\d+)/.exec(text);
    return match ? Number(match[1]) : undefined;
  }

  async stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await Promise.race([this.exited, sleep(3000)]);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await this.exited;
    }
  }
}

function countLines(paths: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const path of paths) counts.set(path, (counts.get(path) ?? 0) + 1);
  return counts;
}

/** For servers that echo a POST's body: a small request to `/r/<i>` answered with its own body. */
const echoSmall = (i: number): { request: TransportRequest; expect: Buffer } => {
  const body = Buffer.from(`small ${i}`);
  return { request: { method: 'POST', path: `/r/${i}`, body }, expect: body };
};

const echoRoundTrip = async (pool: Pool, name: string, body: Buffer): Promise<Buffer> => {
  const response = await pool.request({ method: 'POST', path: `/big/${name}`, body });
  if (response.status !== 200) throw new Error(`POST /big/${name}: status ${response.status}`);
  return response.body;
};

/** nghttp2's reference server: --echo-upload answers a POST with its body; `-v` logs every frame. */
async function startNghttpd(binary: string, dir: string, options: ServerOptions): Promise<ConformanceServer> {
  const tls = serverTls();
  writeFileSync(join(dir, 'cert.pem'), tls.server.certPem);
  writeFileSync(join(dir, 'key.pem'), tls.server.keyPem);
  mkdirSync(join(dir, 'htdocs'), { recursive: true });
  const port = await freePort();
  // The frame log of every life of the server (so counts survive a kill).
  let log = '';
  const args = [
    '-v',
    '--echo-upload',
    '-a',
    '127.0.0.1',
    '-d',
    join(dir, 'htdocs'),
    ...(options.maxConcurrentStreams ? ['-m', String(options.maxConcurrentStreams)] : []),
    String(port),
    join(dir, 'key.pem'),
    join(dir, 'cert.pem'),
  ];
  const process_ = new Process('nghttpd', binary, () => args);
  const start = async () => {
    await process_.start(port, (text) => {
      log += text;
    });
  };
  await start();
  return {
    kind: 'nghttpd',
    origin: `https://127.0.0.1:${port}`,
    port,
    ca: tls.ca.certPem,
    small: echoSmall,
    roundTrip: echoRoundTrip,
    async counts() {
      return countLines([...log.matchAll(/recv \(stream_id=\d+\) :path: (\S+)/g)].map((m) => m[1]!));
    },
    refusals: () => [...log.matchAll(/send RST_STREAM frame[^\n]*\n\s*\(error_code=REFUSED_STREAM/g)].length,
    kill: () => process_.stop('SIGKILL'),
    restart: start,
    close: () => process_.stop('SIGTERM'),
  };
}

/**
 * nginx: `return 200 $uri` for /r/ (the body is read and discarded, as nginx does when the
 * answer does not depend on it), WebDAV PUT + GET for big bodies, an access log for counts.
 */
async function startNginx(binary: string, dir: string, options: ServerOptions): Promise<ConformanceServer> {
  const tls = serverTls();
  const port = await freePort();
  for (const sub of ['logs', 'htdocs/big', 'body']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'cert.pem'), tls.server.certPem);
  writeFileSync(join(dir, 'key.pem'), tls.server.keyPem);
  const conf = `
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log info;
events { worker_connections 4096; }
http {
  log_format counts '$request_uri';
  access_log ${dir}/logs/access.log counts;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 8m;
  keepalive_requests ${options.requestsPerConnection ?? 100_000_000};
  keepalive_timeout 600s;
  http2_max_concurrent_streams ${options.maxConcurrentStreams ?? 128};
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    root ${dir}/htdocs;
    location /r/ { default_type text/plain; return 200 $uri; }
    location /big/ { dav_methods PUT; }
    location / { return 404; }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const process_ = new Process('nginx', binary, () => ['-p', dir, '-c', join(dir, 'nginx.conf')]);
  await process_.start(port);
  const read = (file: string) => {
    try {
      return readFileSync(join(dir, 'logs', file), 'utf8');
    } catch {
      return '';
    }
  };
  return {
    kind: 'nginx',
    origin: `https://127.0.0.1:${port}`,
    port,
    ca: tls.ca.certPem,
    small: (i) => ({
      request: { method: 'POST', path: `/r/${i}`, body: `small ${i}` },
      expect: Buffer.from(`/r/${i}`),
    }),
    async roundTrip(pool, name, body) {
      const put = await pool.request({ method: 'PUT', path: `/big/${name}`, body });
      if (put.status !== 201 && put.status !== 204) throw new Error(`PUT /big/${name}: status ${put.status}`);
      const get = await pool.request({ method: 'GET', path: `/big/${name}` });
      if (get.status !== 200) throw new Error(`GET /big/${name}: status ${get.status}`);
      return get.body;
    },
    async counts() {
      return countLines(read('access.log').split('\n').filter(Boolean));
    },
    // nginx logs each stream it refuses over the limit at info level.
    refusals: () => (read('error.log').match(/concurrent streams exceeded/g) ?? []).length,
    kill: () => process_.stop('SIGKILL'),
    async restart() {
      await process_.start(port);
    },
    close: () => process_.stop('SIGQUIT'),
  };
}

/** Go's golang.org/x/net/http2 server built from ./go-server/main.go. */
async function startGo(binary: string, dir: string, options: ServerOptions): Promise<ConformanceServer> {
  const tls = serverTls();
  writeFileSync(join(dir, 'cert.pem'), tls.server.certPem);
  writeFileSync(join(dir, 'key.pem'), tls.server.keyPem);
  let port = 0;
  const process_ = new Process('go-h2-server', binary, () => [
    '-addr',
    `127.0.0.1:${port}`,
    '-cert',
    join(dir, 'cert.pem'),
    '-key',
    join(dir, 'key.pem'),
    '-max-concurrent-streams',
    String(options.maxConcurrentStreams ?? 250),
  ]);
  // The first start takes the port the OS gives; restarts bind that port again.
  port = await process_.start(undefined);
  const origin = `https://127.0.0.1:${port}`;
  // Control requests go over their own node:http2 session, not the pool under test.
  const control = async (method: string, path: string): Promise<string> => {
    const { connect: h2connect } = await import('node:http2');
    const session = h2connect(origin, { ca: tls.ca.certPem });
    try {
      return await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':method': method, ':path': path });
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          text += chunk;
        });
        stream.on('end', () => resolve(text));
        stream.on('error', reject);
        session.on('error', reject);
        stream.end();
      });
    } finally {
      session.close();
    }
  };
  return {
    kind: 'go',
    origin,
    port,
    ca: tls.ca.certPem,
    small: echoSmall,
    roundTrip: echoRoundTrip,
    async counts() {
      return new Map(Object.entries(JSON.parse(await control('GET', '/_counts')) as Record<string, number>));
    },
    refusals: () => undefined,
    async goaway() {
      await control('POST', '/_goaway');
    },
    kill: () => process_.stop('SIGKILL'),
    async restart() {
      await process_.start(port);
    },
    close: () => process_.stop('SIGTERM'),
  };
}

/** Starts a server of `kind` in a fresh temporary directory (removed on close). */
export async function startServer(
  kind: ServerKind,
  binary: string,
  options: ServerOptions = {},
): Promise<ConformanceServer> {
  const dir = mkdtempSync(join(tmpdir(), `pushline-conformance-${kind}-`));
  const server =
    kind === 'nghttpd'
      ? await startNghttpd(binary, dir, options)
      : kind === 'nginx'
        ? await startNginx(binary, dir, options)
        : await startGo(binary, dir, options);
  const close = server.close;
  server.close = async () => {
    try {
      await close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return server;
}

/** `nginx -v` / `nghttpd --version`, for test names (Go's server names its library). */
export function versionOf(kind: ServerKind, binary: string): string {
  if (kind === 'go') return 'Go golang.org/x/net/http2';
  const run = spawnSync(binary, [kind === 'nginx' ? '-v' : '--version'], { encoding: 'utf8' });
  // nginx prints its version on stderr.
  const line = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n')[0] ?? kind;
  return line.replace(/^nginx version: /, '');
}

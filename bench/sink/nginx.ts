/**
 * The nginx sink: HTTP/2 over TLS on 127.0.0.1 answering every push at once, in its own
 * process (one worker, no master, so the pid watched is the one doing the work).
 *  - APNs  POST /3/device/<token>                  → 200 + apns-id
 *  - FCM   POST /token (OAuth)                     → 200 {"access_token": …}
 *          POST /v1/projects/<id>/messages:send    → 200 {"name": …}
 *  - Web Push POST /wp/<id>                        → 201 + Location
 * nginx cannot check JWTs or decrypt: a 200 sink measures the sender, which is the point.
 * http2_max_concurrent_streams is raised from nginx's default 128 to 1000 (what APNs
 * announces) so senders are not capped artificially; keepalive_requests is raised so
 * nginx does not GOAWAY a connection after its default 1000 requests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';

export interface NginxSink {
  origin: string;
  port: number;
  pid: number;
  version: string;
  close(): Promise<void>;
}

export const NGINX_MAX_STREAMS = 1000;

/** A free loopback port (nginx needs it in its config; the OS picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startNginxSink(
  dir: string,
  tls: { certPem: string; keyPem: string },
  nginxPath = 'nginx',
): Promise<NginxSink> {
  const port = await freePort();
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(join(dir, 'cert.pem'), tls.certPem);
  writeFileSync(join(dir, 'key.pem'), tls.keyPem);
  const conf = `
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 600s;
  http2_max_concurrent_streams ${NGINX_MAX_STREAMS};
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location /3/device/ { add_header apns-id $request_id always; return 200; }
    location = /token {
      default_type application/json;
      return 200 '{"access_token":"bench-access-token","expires_in":3600,"token_type":"Bearer"}';
    }
    location /v1/projects/ {
      default_type application/json;
      return 200 '{"name":"projects/pushline-bench/messages/0:1700000000000000%0"}';
    }
    location /wp/ { add_header location https://127.0.0.1:${port}/m/$request_id always; return 201; }
    location / { return 404; }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(nginxPath, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Ready when a TLS handshake succeeds.
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) break;
    if (i > 100) throw new Error(`nginx did not come up: ${stderr}`);
    await sleep(50);
  }
  const version = await new Promise<string>((resolve) => {
    const v = spawn(nginxPath, ['-v'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let out = '';
    v.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
    });
    v.once('exit', () => resolve(out.trim().replace(/^nginx version: /, '')));
  });
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    version,
    async close() {
      child.kill('SIGQUIT');
      await Promise.race([exited, sleep(3000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

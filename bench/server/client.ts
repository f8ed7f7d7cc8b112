/**
 * The HTTP client side of bench/server.ts: spawns the server process (serve.ts), uploads a
 * send as NDJSON and waits for it to end, and drives gorush's `/api/push` with autocannon.
 * Runs in the runner's process; its own CPU is measured and reported apart from the server's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';
import { ALERT, hexToken } from '../lib/target.js';

export interface ServerProcess {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

const buildDir = fileURLToPath(new URL('../out/build/bench/server/', import.meta.url));

/** Starts the compiled server (bench/server/serve.ts) in its own process; resolves once it listens. */
export async function startServer(
  targetPath: string,
  keyHash: string,
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const script = join(buildDir, 'serve.js');
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, script, targetPath, keyHash], {
    // stdout (the JSON logs) to /dev/null: made and written, not read by anyone.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = once(child, 'message') as Promise<[{ port: number }]>;
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the server process exited (${String(code)}) before it listened`);
  });
  const [{ port }] = await Promise.race([ready, exited]);
  exited.catch(() => undefined);
  return {
    pid: child.pid!,
    port,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = once(child, 'exit');
      child.send('stop');
      await Promise.race([gone, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** GET a JSON document. */
export function getJson<T>(port: number, path: string, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${key}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode} ${body}`));
          else resolve(JSON.parse(body) as T);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The NDJSON lines of the bench's iOS devices `from` to `to` (excluded), each with its newline. */
export function ndjsonDeviceLines(from: number, to: number): string {
  let lines = '';
  for (let i = from; i < to; i++) lines += `{"platform":"ios","token":"${hexToken(i)}"}\n`;
  return lines;
}

/**
 * POST /v1/sends with an NDJSON body: the send on line 1, then `devices` iOS devices, written
 * 1,000 lines at a time as fast as the server reads them. Resolves with the send's id (the
 * server answers 202 once it has read the whole body).
 */
export function uploadSend(port: number, key: string, app: string, devices: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/sends',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${key}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          if (res.statusCode !== 202) reject(new Error(`POST /v1/sends: ${res.statusCode} ${body}`));
          else resolve((JSON.parse(body) as { id: string }).id);
        });
      },
    );
    req.on('error', reject);
    (async () => {
      req.write(`${JSON.stringify({ app, notification: ALERT })}\n`);
      for (let i = 0; i < devices; i += 1000) {
        if (!req.write(ndjsonDeviceLines(i, Math.min(devices, i + 1000)))) await once(req, 'drain');
      }
      req.end();
    })().catch(reject);
  });
}

export interface SendStatusBody {
  state: string;
  accepted: number;
  counts: {
    total: number;
    sent: number;
    failed: number;
    invalidToken: number;
    errors: Record<string, number>;
  };
}

/** Polls GET /v1/sends/:id every `everyMs` until the send has ended; its last status. */
export async function waitForSend(
  port: number,
  key: string,
  id: string,
  everyMs = 10,
): Promise<SendStatusBody> {
  for (;;) {
    const status = await getJson<SendStatusBody>(port, `/v1/sends/${id}`, key);
    if (status.state !== 'queued' && status.state !== 'running') return status;
    await sleep(everyMs);
  }
}

/** gorush's request for one iOS token: `{"notifications":[{"tokens":[…],"platform":1,…}]}`. */
export function gorushBody(topic: string): string {
  return JSON.stringify({
    notifications: [{ tokens: [hexToken(4711)], platform: 1, message: 'hi', topic }],
  });
}

/**
 * autocannon against POST /api/push for `seconds`, with `connections` connections; `sync`
 * adds gorush's `?sync=true` (each answer waits for its push).
 */
export function loadApiPush(
  port: number,
  key: string,
  topic: string,
  seconds: number,
  connections: number,
  sync = false,
): Promise<Result> {
  return autocannon({
    url: `http://127.0.0.1:${port}/api/push${sync ? '?sync=true' : ''}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: gorushBody(topic),
    connections,
    duration: seconds,
  });
}

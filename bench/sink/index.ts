/**
 * Starts the sink every contender sends to, in its own process: nginx (HTTP/2 + TLS) when
 * installed, else pushline's emulators in sink mode. Returns the target the clients read and
 * the sink's pid (its CPU is measured too: on 2 shared cores client and sink compete).
 */
import { spawn } from 'node:child_process';
import { createECDH, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import webpush from 'web-push';
import { createServerTls } from '../../src/emulator/tls.js';
import type { BenchTarget, WebPushSubscriptionJson } from '../lib/target.js';
import { startNginxSink } from './nginx.js';

/** The FCM service account of a bench sink: its token endpoint is the sink's own `/token`. */
export function benchServiceAccount(origin: string, privateKey: KeyObject) {
  return {
    type: 'service_account',
    project_id: 'pushline-bench',
    private_key_id: 'bench-key',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'bench@pushline-bench.iam.gserviceaccount.com',
    client_id: '1',
    token_uri: `${origin}/token`,
  };
}

export interface Sink {
  kind: 'nginx' | 'emulator';
  /** e.g. `nginx 1.22.1 (HTTP/2, TLS, http2_max_concurrent_streams 1000)`. */
  description: string;
  pid: number;
  target: BenchTarget;
  close(): Promise<void>;
}

export async function startSink(
  kind: 'nginx' | 'emulator',
  dir: string,
  subscriptions: number,
): Promise<Sink> {
  if (kind === 'nginx') return nginxSink(dir, subscriptions);
  return emulatorSink(subscriptions);
}

async function nginxSink(dir: string, subscriptionCount: number): Promise<Sink> {
  const tls = createServerTls();
  const nginx = await startNginxSink(dir, { certPem: tls.server.certPem, keyPem: tls.server.keyPem });
  const ca = tls.ca.certPem;
  const apnsKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const subscriptions: WebPushSubscriptionJson[] = Array.from({ length: subscriptionCount }, (_, i) => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    return {
      endpoint: `${nginx.origin}/wp/${i.toString(36)}-${randomBytes(8).toString('base64url')}`,
      keys: {
        p256dh: ecdh.getPublicKey().toString('base64url'),
        auth: randomBytes(16).toString('base64url'),
      },
    };
  });
  const target: BenchTarget = {
    sink: 'nginx',
    apns: {
      origin: nginx.origin,
      host: '127.0.0.1',
      port: nginx.port,
      teamId: 'BENCHTEAM1',
      keyId: 'BENCHKEY01',
      key: apnsKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      topic: 'com.example.bench',
      ca,
    },
    fcm: {
      origin: nginx.origin,
      serviceAccount: benchServiceAccount(nginx.origin, rsa.privateKey),
      ca,
    },
    webpush: {
      vapid: { subject: 'mailto:bench@example.com', ...webpush.generateVAPIDKeys() },
      allowHosts: ['127.0.0.1'],
      subscriptions,
      ca,
    },
  };
  return {
    kind: 'nginx',
    description: `nginx ${nginx.version}, HTTP/2 over TLS, 1 worker, http2_max_concurrent_streams 1000 (default 128)`,
    pid: nginx.pid,
    target,
    close: () => nginx.close(),
  };
}

async function emulatorSink(subscriptions: number): Promise<Sink> {
  const script = fileURLToPath(new URL('../out/build/bench/sink/emulator-process.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(subscriptions)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  while (!out.includes('\n')) {
    const [chunk] = (await once(child.stdout!, 'data')) as [string];
    out += chunk;
  }
  const target = JSON.parse(out.split('\n')[0]!) as BenchTarget;
  return {
    kind: 'emulator',
    description: "pushline's emulators in sink mode (Node, HTTP/2 over TLS; APNs answers without validation)",
    pid: child.pid!,
    target,
    async close() {
      child.stdin!.end();
      await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

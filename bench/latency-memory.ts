/**
 * What one request in flight costs: pushline sends N pushes to the delayed sink answering
 * after 3 s, and while all N are in flight (none answered yet) the heap is measured after a
 * full GC, against the same process before the send. Live bytes, not garbage: peak RSS also
 * holds garbage not yet collected, which this separates out.
 *
 *   node --expose-gc --import tsx bench/latency-memory.ts [apns|fcm] [in flight, default 10000]
 *
 * Prints one JSON line: heap, external and RSS growth per request in flight.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServerTls } from '../src/emulator/tls.js';
import { apns, type Device, fcm, PushClient } from '../src/index.js';
import { ALERT, hexToken } from './lib/target.js';
import { startDelaySink } from './sink/delay-sink.js';

const kind = process.argv[2] === 'fcm' ? 'fcm' : 'apns';
const inFlight = Number(process.argv[3] ?? 10_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const dir = mkdtempSync(join(tmpdir(), 'pushline-latency-memory-'));
const tls = createServerTls();
const sink = await startDelaySink(dir, { certPem: tls.server.certPem, keyPem: tls.server.keyPem }, 3000);
try {
  const connections = Math.ceil(inFlight / 1000);
  const provider =
    kind === 'apns'
      ? apns({
          endpoint: sink.origin,
          ca: tls.ca.certPem,
          teamId: 'BENCHTEAM1',
          keyId: 'BENCHKEY01',
          key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
            .privateKey.export({ type: 'pkcs8', format: 'pem' })
            .toString(),
          topic: 'com.example.bench',
          concurrency: inFlight,
          connections,
        })
      : fcm({
          serviceAccount: {
            type: 'service_account',
            project_id: 'pushline-bench',
            private_key_id: 'bench-key',
            private_key: generateKeyPairSync('rsa', { modulusLength: 2048 })
              .privateKey.export({ type: 'pkcs8', format: 'pem' })
              .toString(),
            client_email: 'bench@pushline-bench.iam.gserviceaccount.com',
            client_id: '1',
            token_uri: `${sink.origin}/token`,
          },
          endpoint: sink.origin,
          ca: tls.ca.certPem,
          concurrency: inFlight,
          connections,
        });
  const client = new PushClient({ providers: [provider] });
  // Warm up (connections, TLS, JIT) with one small send, so the measured growth is per request.
  const platform = kind === 'apns' ? 'ios' : 'android';
  const devices = (n: number, offset: number): Device[] =>
    Array.from({ length: n }, (_, i) => ({ platform, token: hexToken(offset + i) }));
  for await (const _ of client.send(ALERT, devices(connections * 200, 0))) {
  }
  gc();
  const before = process.memoryUsage();
  let answered = 0;
  const sending = (async () => {
    for await (const _ of client.send(ALERT, devices(inFlight, 1_000_000))) answered++;
  })();
  // All N go out within the first second; none is answered before 3 s.
  await sleep(2000);
  gc();
  const during = process.memoryUsage();
  const stillInFlight = answered === 0;
  if (process.env.HEAP_SNAPSHOT) (await import('node:v8')).writeHeapSnapshot(process.env.HEAP_SNAPSHOT);
  await sending;
  const per = (key: keyof NodeJS.MemoryUsage) => Math.round((during[key] - before[key]) / inFlight);
  console.log(
    JSON.stringify({
      kind,
      inFlight,
      allStillInFlight: stillInFlight,
      heapBytesPerRequest: per('heapUsed'),
      externalBytesPerRequest: per('external'),
      rssBytesPerRequest: per('rss'),
      heapUsedMb: Math.round(during.heapUsed / 2 ** 20),
      rssMb: Math.round(during.rss / 2 ** 20),
    }),
  );
  await client.close();
} finally {
  await sink.close();
  rmSync(dir, { recursive: true, force: true });
}

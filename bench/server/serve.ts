/**
 * The server side of bench/server.ts, in its own process so its CPU and RSS are its own:
 * `buildServer()` with the in-process `LocalDispatcher` over one `PushClient` with `apns()`
 * pointed at the sink (as bench/clients/pushline.ts builds it), one app, one API key, JSON
 * logs at info level on stdout (the parent sends stdout to /dev/null: the lines are still
 * made), listening on 127.0.0.1:0. Tells the parent its port over the IPC channel and serves
 * until the parent sends `stop` or goes away.
 *
 *   (spawned by bench/server.ts) node bench/out/build/bench/server/serve.js <target.json> <key hash>
 *
 * The key's hash comes in, never the key. The key gets no rate limit of its own (the plugin
 * still runs and counts: a budget too large to bite), so the benchmark measures the server,
 * not its default 1,200 requests a minute.
 */
import { randomUUID } from 'node:crypto';
import { apns, PushClient } from '../../src/index.js';
import { LocalDispatcher } from '../../src/queue/local.js';
import { buildServer } from '../../src/server/app.js';
import { authorizeApps } from '../../src/server/auth.js';
import {
  type GorushDeps,
  GorushStats,
  gorushDirectory,
  gorushRoutes,
} from '../../src/server/gorush/index.js';
import { readTarget } from '../lib/target.js';

/** The one app of the benchmark server. */
export const BENCH_APP = 'bench';

const [targetPath, keyHash] = process.argv.slice(2);
if (!targetPath || !keyHash || !process.send) {
  throw new Error('usage: spawned by bench/server.ts with an IPC channel: serve.js <target.json> <key hash>');
}
const target = readTarget(targetPath);
const { origin, ca, teamId, keyId, key, topic } = target.apns;

const client = new PushClient({ providers: [apns({ endpoint: origin, ca, teamId, keyId, key, topic })] });
const dispatcher = new LocalDispatcher({ clients: new Map([[BENCH_APP, client]]) });
const apps = { [BENCH_APP]: { platforms: ['ios' as const], apnsTopics: [topic] } };
const version = 'bench';
const app = await buildServer({
  server: { host: '127.0.0.1', port: 0 },
  apiKeys: {
    bench: {
      hash: keyHash,
      apps: [BENCH_APP],
      permissions: ['send', 'read'],
      rateLimit: { max: Number.MAX_SAFE_INTEGER, timeWindowMs: 60_000 },
    },
  },
  apps,
  dispatcher,
  version,
  logger: { level: 'info', stream: process.stdout },
});

// gorush's routes, registered as app.ts's registration point says, until buildServer does it
// itself (w14-wire): then this is skipped.
if (!app.hasRoute({ method: 'POST', url: '/api/push' })) {
  await app.register(gorushRoutes, {
    dispatcher,
    directory: gorushDirectory(apps),
    settings: { sync: false, maxNotification: 100, maskTokens: true, bodyLimit: 1024 * 1024 },
    stats: new GorushStats(),
    newId: randomUUID,
    version,
    defaultAppFor: (request) => request.apiKey?.defaultApp,
    authorize: authorizeApps,
    submittedBy: (request) => request.apiKey?.id,
  } satisfies GorushDeps);
}

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
const port = typeof address === 'object' && address !== null ? address.port : 0;

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.shutdown(0);
  await dispatcher.close(0);
  await client.close();
  process.exit(0);
}
process.on('message', (message) => {
  if (message === 'stop') void stop();
});
process.once('disconnect', () => void stop());
process.send({ port });

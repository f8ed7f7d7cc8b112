/**
 * The server side of bench/server.ts, in its own process so its CPU and RSS are its own:
 * `buildServer()` with the in-process `LocalDispatcher` over one `PushClient` with `apns()`
 * pointed at the sink (as bench/clients/pushline.ts builds it), one app, one API key, the
 * Prometheus metrics as `pushline serve` builds them (an observer of every feedback, `/metrics`,
 * per-request samples, gorush's counters), JSON logs at info level on stdout (the parent sends
 * stdout to /dev/null: the lines are still made), listening on 127.0.0.1:0. gorush's routes
 * are buildServer's own. The heap policy `pushline` runs with (src/cli/heap-policy.ts) is
 * applied first, as the CLI applies it. Tells the parent its port over the IPC channel and
 * serves until the parent sends `stop` or goes away.
 *
 *   (spawned by bench/server.ts) node bench/out/build/bench/server/serve.js <target.json> <key hash>
 *
 * The key's hash comes in, never the key. The key gets no rate limit of its own (the plugin
 * still runs and counts: a budget too large to bite), so the benchmark measures the server,
 * not its default 1,200 requests a minute.
 */
import { applyHeapPolicy } from '../../src/cli/heap-policy.js';
import { apns, PushClient } from '../../src/index.js';
import { LocalDispatcher } from '../../src/queue/local.js';
import { buildServer } from '../../src/server/app.js';
import { GORUSH_METRICS, GorushStats } from '../../src/server/gorush/index.js';
import { createMetrics } from '../../src/server/metrics.js';
import { readTarget } from '../lib/target.js';

/** The one app of the benchmark server. */
export const BENCH_APP = 'bench';

const [targetPath, keyHash] = process.argv.slice(2);
if (!targetPath || !keyHash || !process.send) {
  throw new Error('usage: spawned by bench/server.ts with an IPC channel: serve.js <target.json> <key hash>');
}
applyHeapPolicy();
const target = readTarget(targetPath);
const { origin, ca, teamId, keyId, key, topic } = target.apns;

const version = 'bench';
const client = new PushClient({ providers: [apns({ endpoint: origin, ca, teamId, keyId, key, topic })] });
const gorushStats = new GorushStats();
const metrics = createMetrics({ gorush: { metrics: GORUSH_METRICS, stats: () => gorushStats.app(version) } });
const dispatcher = new LocalDispatcher({ clients: new Map([[BENCH_APP, client]]), observers: [metrics] });
metrics.setQueueDepth(() => dispatcher.queuedSends);
metrics.setInFlight(() => dispatcher.devicesInFlight());
const apps = { [BENCH_APP]: { platforms: ['ios' as const], apnsTopics: [topic] } };
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
  gorush: { stats: gorushStats },
  metrics,
  logger: { level: 'info', stream: process.stdout },
});

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

/**
 * Starts a sink and keeps it up, for profiling one client by hand:
 *   node --import tsx bench/sink/serve.ts nginx|emulator <dir>   # writes <dir>/target.json, Ctrl-C to stop
 *   node --cpu-prof bench/out/build/bench/clients/pushline.js <dir>/target.json apns 20000
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSink } from './index.js';

const kind = (process.argv[2] ?? 'nginx') as 'nginx' | 'emulator';
const dir = process.argv[3] ?? '/tmp/pushline-sink';
mkdirSync(dir, { recursive: true });
const sink = await startSink(kind, dir, 1000);
writeFileSync(join(dir, 'target.json'), JSON.stringify(sink.target));
console.log(`${sink.description}: pid ${sink.pid}, target ${join(dir, 'target.json')}`);
const stop = async () => {
  await sink.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

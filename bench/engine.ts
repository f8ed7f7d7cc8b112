/**
 * Engine overhead: N devices from a generator through a provider that answers at once, so
 * what is measured is pushline's own cost per device (routing, lanes, feedback, summary).
 * Run in its own process per size so peak RSS is that size's alone:
 *   node --import tsx bench/engine.ts 1000000
 * Prints one JSON line: { devices, seconds, perSecond, peakRssMb, cpuSeconds }.
 */
import type { Device } from '../src/index.js';
import { PushClient } from '../src/index.js';
import type { Outcome, Provider } from '../src/provider.js';

const devices = Number(process.argv[2] ?? 1_000_000);
const window = Number(process.argv[3] ?? 1000);

const SENT: Promise<Outcome> = Promise.resolve({ ok: true, httpStatus: 200 });
const instant: Provider = {
  name: 'instant',
  platforms: ['android'],
  prepare: () => ({ send: () => SENT }),
  close: async () => {},
  destroy: async () => {},
};

function* generate(n: number): Generator<Device> {
  for (let i = 0; i < n; i++) yield { platform: 'android', token: `token-${i}`, rowId: i };
}

const client = new PushClient({ providers: [instant], window });
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
let sent = 0;
for await (const fb of client.send({ title: 'bench' }, generate(devices))) if (fb.status === 'sent') sent++;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
await client.close();
if (sent !== devices) throw new Error(`only ${sent} of ${devices} sent`);
console.log(
  JSON.stringify({
    devices,
    window,
    seconds: Number(seconds.toFixed(3)),
    perSecond: Math.round(devices / seconds),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(3)),
  }),
);

/**
 * The HMS emulator for the HMS benchmark, in its own process, in sink mode: it checks each
 * request's access token and answers 80000000 without reading the message. Prints the
 * provider options on one line, then serves until stdin closes.
 *
 *   node --import tsx bench/hms/emulator.ts
 */
import { startHmsEmulator } from '../../src/emulator/hms/index.js';

const emu = await startHmsEmulator({ sink: true, maxRecorded: 0 });
process.stdout.write(`${JSON.stringify(emu.providerOptions)}\n`);
process.stdin.resume();
process.stdin.once('end', async () => {
  process.stderr.write(`hms sink: ${emu.stats.sendRequests} requests\n`);
  await emu.close();
  process.exit(0);
});

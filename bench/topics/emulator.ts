/**
 * The FCM emulator for the topic benchmark, in its own process, in sink mode: each
 * `/iid/v1:batchAdd` request's access token and headers are checked, the body is parsed and
 * validated (topic name, ≤ 1,000 tokens), every token answered done; nothing is recorded.
 * Prints the provider options on one line, then serves until stdin closes.
 *
 *   node --import tsx bench/topics/emulator.ts
 */
import { startFcmEmulator } from '../../src/emulator/fcm/index.js';

const emu = await startFcmEmulator({ sink: true, maxRecorded: 0 });
process.stdout.write(`${JSON.stringify(emu.providerOptions)}\n`);
process.stdin.resume();
process.stdin.once('end', async () => {
  process.stderr.write(
    `topic sink: ${emu.stats.topicRequests} requests, ${emu.stats.topicTokensDone} tokens\n`,
  );
  await emu.close();
  process.exit(0);
});

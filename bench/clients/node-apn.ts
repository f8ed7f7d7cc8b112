/**
 * @parse/node-apn as its users run it: `Provider` (or `MultiProvider` with 4 clients) and
 * `send(notification, tokens)` awaited chunk after chunk, or all tokens as one array.
 * Pointed at the sink with its own documented options (`address`, `port`, `ca`).
 *
 *   node --import tsx bench/clients/node-apn.ts <target.json> provider|multi <pushes> <chunk|0 for one array> [clients, default 4]
 */
import apn from '@parse/node-apn';
import { count, print, startTimer } from '../lib/report.js';
import { ALERT, hexToken, readTarget } from '../lib/target.js';

const [targetPath, mode, pushesArg, chunkArg, clientsArg] = process.argv.slice(2);
const clientCount = Number(clientsArg) || 4;
const target = readTarget(targetPath!);
const pushes = Number(pushesArg);
const chunk = Number(chunkArg) || pushes;

const options: apn.ProviderOptions = {
  token: { key: target.apns.key, keyId: target.apns.keyId, teamId: target.apns.teamId },
  address: target.apns.host,
  port: target.apns.port,
  ca: [target.apns.ca],
  production: false,
};
const provider =
  mode === 'multi' ? new apn.MultiProvider({ ...options, clientCount }) : new apn.Provider(options);

const note = new apn.Notification({ alert: { title: ALERT.title, body: ALERT.body } });
note.topic = target.apns.topic;
note.pushType = 'alert';

// Users hold the token list in memory: build it before timing, as they would have it.
const tokens = Array.from({ length: pushes }, (_, i) => hexToken(i));
const failures: Record<string, number> = {};
let sent = 0;
const timer = startTimer();
for (let i = 0; i < tokens.length; i += chunk) {
  const result = await provider.send(note, tokens.slice(i, i + chunk));
  sent += result.sent.length;
  for (const f of result.failed) count(failures, f.response?.reason ?? f.error?.message ?? f.status);
}
const label = `@parse/node-apn ${mode === 'multi' ? `MultiProvider (${clientCount} clients)` : 'Provider'}, ${
  chunk === pushes ? 'one array' : `chunks of ${chunk.toLocaleString('en')}`
}`;
const result = timer.stop(label, pushes, sent, failures);
await provider.shutdown();
print(result);
// node-apn may keep timers alive after shutdown; the figures are out, so end here.
process.exit(0);

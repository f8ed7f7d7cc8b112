/**
 * apns2 as its users run it: `sendMany` awaited chunk after chunk. apns2 builds its undici
 * Pool for `https://<host>:443` in the constructor, so a loopback port cannot be given as an
 * option; the bench swaps in an undici Pool with apns2's OWN settings (32 connections,
 * allowH2, 100 streams each — copied from apns2 12.2's constructor) pointed at the sink and
 * trusting its CA. apns2's code is not patched: only its public `client` property is set.
 *
 *   node --import tsx bench/clients/apns2.ts <target.json> <pushes> <chunk>
 */
import { ApnsClient, Notification } from 'apns2';
import { Pool } from 'undici';
import { count, print, startTimer } from '../lib/report.js';
import { ALERT, hexToken, readTarget } from '../lib/target.js';

const [targetPath, pushesArg, chunkArg] = process.argv.slice(2);
const target = readTarget(targetPath!);
const pushes = Number(pushesArg);
const chunk = Number(chunkArg) || pushes;

const client = new ApnsClient({
  team: target.apns.teamId,
  keyId: target.apns.keyId,
  signingKey: target.apns.key,
  defaultTopic: target.apns.topic,
  host: target.apns.host,
});
await client.client.close();
(client as unknown as { client: Pool }).client = new Pool(target.apns.origin, {
  connections: 32,
  pipelining: 1,
  allowH2: true,
  maxConcurrentStreams: 100,
  connect: { ca: target.apns.ca },
});

const tokens = Array.from({ length: pushes }, (_, i) => hexToken(i));
const failures: Record<string, number> = {};
let sent = 0;
const timer = startTimer();
for (let i = 0; i < tokens.length; i += chunk) {
  const notes = tokens
    .slice(i, i + chunk)
    .map((token) => new Notification(token, { alert: { title: ALERT.title, body: ALERT.body } }));
  const results = await client.sendMany(notes);
  for (const r of results) {
    if ('error' in r) count(failures, (r.error as { reason?: string; message?: string }).reason ?? r.error);
    else sent++;
  }
}
const result = timer.stop(
  `apns2 (undici pool, 32 connections), sendMany chunks of ${chunk.toLocaleString('en')}`,
  pushes,
  sent,
  failures,
);
await client.close();
print(result);
process.exit(0);

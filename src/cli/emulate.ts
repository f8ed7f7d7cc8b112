/**
 * `pushline emulate`: the APNs, FCM, Web Push and HMS emulators in the foreground, with their
 * credentials written to files and a ready config, until SIGINT or SIGTERM.
 */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Inbox, startInboxServer } from '../emulator/inbox/index.js';
import { startEmulator } from '../emulator/index.js';
import { writeEmulatorFiles } from './emulator-files.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';
import { sanitize } from './sanitize.js';

export interface EmulateFlags {
  unregisteredRate?: string;
  latency?: string;
  subscriptions?: string;
  tokens?: string;
  topic?: string;
  dir?: string;
  json?: boolean;
}

function number(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new CliError(`${flag} must be a number from ${min} to ${max}, got '${value}'`, EXIT.usage);
  }
  return parsed;
}

export async function runEmulate(flags: EmulateFlags, io: CliIO): Promise<ExitCode> {
  const rate = number('--unregistered-rate', flags.unregisteredRate, 0, 1) ?? 0;
  const latency = number('--latency', flags.latency, 0, 60_000) ?? 0;
  const subscriptions = number('--subscriptions', flags.subscriptions, 0, 100_000) ?? 3;
  const tokens = number('--tokens', flags.tokens, 0, 100_000) ?? 2;
  const ownDir = flags.dir === undefined;
  const dir = ownDir ? mkdtempSync(join(tmpdir(), 'pushline-emulate-')) : resolve(flags.dir!);
  if (!ownDir) {
    try {
      // Only the owner may enter a directory made for keys; an existing one is checked as it is written to.
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new CliError(
        code === 'EEXIST' || code === 'ENOTDIR'
          ? `--dir '${dir}' exists and is not a directory: give a directory for the emulator's files`
          : `cannot create --dir '${dir}' (${code ?? 'unwritable'}): check the path and its permissions`,
        EXIT.usage,
        { cause: error },
      );
    }
  }

  const emulator = await startEmulator({
    apns: {
      ...(flags.topic ? { topic: flags.topic } : {}),
      scenarios: {
        ...(rate > 0 ? { unregistered: { rate } } : {}),
        ...(latency > 0 ? { latencyMs: latency } : {}),
      },
    },
    fcm: latency > 0 ? { latencyMs: latency } : {},
    webpush: latency > 0 ? { latencyMs: latency } : {},
    hms: latency > 0 ? { latencyMs: latency } : {},
  });
  // The inbox: what the emulators accepted, drawn as devices show it, on its own listener.
  const inbox = new Inbox(emulator);
  const inboxServer = await startInboxServer(inbox).catch(async (error: unknown) => {
    inbox.close();
    await emulator.close();
    throw error;
  });
  try {
    const files = writeEmulatorFiles(emulator, dir, { subscriptions, tokens, unregisteredRate: rate });
    const { apns, fcm, webpush, hms } = emulator;
    const sendCommand = `pushline send --config ${files.configFile} --devices ${files.devicesFile} --title Hello --body 'from pushline' --out results.ndjson`;
    if (flags.json) {
      io.stdout.write(
        `${JSON.stringify({
          apns: {
            origin: apns.origin,
            teamId: apns.teamId,
            keyId: apns.keyId,
            topic: apns.topic,
            keyFile: files.apnsKeyFile,
          },
          fcm: { origin: fcm.origin, projectId: fcm.projectId, serviceAccountFile: files.serviceAccountFile },
          webpush: {
            origins: webpush.origins,
            vapidPublicKey: webpush.vapid.publicKey,
            subject: webpush.vapid.subject,
          },
          hms: {
            origin: hms.origin,
            appId: hms.appId,
            authEndpoint: hms.providerOptions.authEndpoint,
            clientSecretFile: files.hmsClientSecretFile,
          },
          caFiles: files.caFiles,
          configFile: files.configFile,
          devicesFile: files.devicesFile,
          devices: files.devices,
          dead: files.dead,
          scenarios: { unregisteredRate: rate, latencyMs: latency },
          inbox: inboxServer.url,
        })}\n`,
      );
    } else {
      const lines = [
        'pushline emulate: APNs, FCM, Web Push and HMS emulators on 127.0.0.1 (Ctrl-C to stop)',
        '',
        `  APNs      ${apns.origin}   team ${apns.teamId} · key ${apns.keyId} · topic ${apns.topic}`,
        `            .p8 key          ${files.apnsKeyFile}`,
        `  FCM       ${fcm.origin}   project ${fcm.projectId} (OAuth token endpoint ${fcm.origin}/token)`,
        `            service account  ${files.serviceAccountFile}`,
        `  Web Push  ${webpush.origins.join(', ')}`,
        `            VAPID public key ${webpush.vapid.publicKey}`,
        `            VAPID subject    ${webpush.vapid.subject}  (private key in ${files.vapidPrivateKeyFile})`,
        `  HMS       ${hms.origin}   app ${hms.appId} (OAuth token endpoint ${hms.providerOptions.authEndpoint})`,
        `            client secret    ${files.hmsClientSecretFile}`,
        `  CAs       ${files.caFiles.apns}, ${files.caFiles.fcm}, ${files.caFiles.webpush}, ${files.caFiles.hms}`,
        '            (trust them: caFile in each provider section of the config)',
        `  config    ${files.configFile}`,
        `  devices   ${files.devicesFile}  (${files.devices.ios} iOS, ${files.devices.android} Android, ${files.devices.huawei} Huawei, ${files.devices.web} web subscriptions; ${files.dead.length} dead)`,
        `  scenarios unregistered rate ${rate} · latency ${latency} ms`,
        `  inbox     ${inboxServer.url}  (every notification accepted, as the device shows it)`,
        '',
        'Try, in another shell:',
        `  ${sendCommand}`,
        '',
      ];
      // Paths and the topic come from the command line: shown escaped, like any outside text.
      io.stdout.write(`${lines.map((line) => sanitize(line)).join('\n')}\n`);
    }
    if (!io.signal.aborted) await once(io.signal, 'abort');
    if (!flags.json) io.stdout.write('pushline emulate: stopping\n');
    return EXIT.ok;
  } finally {
    inbox.close();
    await inboxServer.close();
    await emulator.close();
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  }
}

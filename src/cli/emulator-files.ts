/**
 * What `pushline emulate` hands a client: the emulators' credentials and CA as files (the
 * way real credentials arrive), a ready config file for `pushline send --config`, and a
 * small devices file with tokens and web subscriptions the emulators know.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  openSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Emulator } from '../emulator/index.js';
import { CliError, EXIT } from './exit-codes.js';

export interface EmulatorFiles {
  dir: string;
  /**
   * Each emulator's CA certificate (they are separate CAs with the same name, so they are
   * kept in separate files: a bundle would make TLS check against the wrong one).
   */
  caFiles: { apns: string; fcm: string; webpush: string; hms: string };
  /** The APNs signing key, named as Apple names it. */
  apnsKeyFile: string;
  serviceAccountFile: string;
  vapidPrivateKeyFile: string;
  /** The HMS emulator's OAuth client secret. */
  hmsClientSecretFile: string;
  /** A config file for `pushline send --config`. */
  configFile: string;
  /** NDJSON devices: iOS, Android and Huawei tokens and web subscriptions. */
  devicesFile: string;
  devices: { ios: number; android: number; web: number; huawei: number };
  /** The devices the scenarios make dead (unregistered), by token or endpoint. */
  dead: string[];
}

export interface EmulatorFilesOptions {
  /** Web subscriptions to issue. Default 3. */
  subscriptions?: number;
  /** iOS, Android and Huawei tokens to write, each. Default 2. */
  tokens?: number;
  /** Share of the written devices that are dead (APNs by the emulator's hash rule). Default 0. */
  unregisteredRate?: number;
}

/**
 * Writes one file, never through a symbolic link and never into a file someone else owns: the
 * directory may be a shared one where another user planted `AuthKey_….p8 -> ~victim/.bashrc`
 * or a world-writable file of the same name. The mode is set on the open descriptor, so a file
 * that existed with 0644 ends as 0600 too (the mode given to open() applies only to new files).
 */
function writeFile(path: string, text: string, mode: 0o600 | 0o644): void {
  let fd: number;
  try {
    // O_NOFOLLOW: open() fails with ELOOP when the last part of the path is a symbolic link.
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      mode,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      throw new CliError(
        `refusing to write '${path}': it is a symbolic link, and a key written through it would land wherever it points; remove it or use another --dir`,
        EXIT.usage,
        { cause: error },
      );
    }
    throw new CliError(
      `cannot write '${path}' (${code ?? 'unwritable'}): check --dir and its permissions`,
      EXIT.usage,
      {
        cause: error,
      },
    );
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new CliError(
        `refusing to write '${path}': it is not a regular file; remove it or use another --dir`,
        EXIT.usage,
      );
    }
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid) {
      throw new CliError(
        `refusing to write '${path}': it belongs to another user, who could read or replace what is written; remove it or use another --dir`,
        EXIT.usage,
      );
    }
    fchmodSync(fd, mode);
    // Truncated only now that it is known to be ours (O_TRUNC would have emptied anyone's file).
    ftruncateSync(fd, 0);
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/**
 * The directory must be a directory, and not one another user controls (they could swap the
 * files under us): when it, or the symbolic link naming it, belongs to someone else (root aside),
 * nothing is written.
 */
function checkDir(dir: string): void {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(`cannot use --dir '${dir}' (${code})`, EXIT.usage, { cause: error });
  }
  if (!stat.isDirectory()) throw new CliError(`--dir '${dir}' exists and is not a directory`, EXIT.usage);
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const link = lstatSync(dir);
  for (const [what, owner] of [
    ['the directory', stat.uid],
    ['the symbolic link naming it', link.uid],
  ] as const) {
    if (owner !== uid && owner !== 0) {
      throw new CliError(
        `refusing to write into --dir '${dir}': ${what} belongs to another user, who could read or replace the keys; use a directory of your own`,
        EXIT.usage,
      );
    }
  }
}

const writeSecret = (path: string, text: string) => writeFile(path, text, 0o600);
const writePublic = (path: string, text: string) => writeFile(path, text, 0o644);

/**
 * Writes the files into `dir` (which must exist) and sets the scenarios for the written devices.
 * Keys are written with mode 0600, the rest 0644, never through a symbolic link (a
 * {@link CliError} says so instead).
 */
export function writeEmulatorFiles(
  emulator: Emulator,
  dir: string,
  options: EmulatorFilesOptions = {},
): EmulatorFiles {
  checkDir(dir);
  const { apns, fcm, webpush, hms } = emulator;
  const rate = options.unregisteredRate ?? 0;
  const caFiles = {
    apns: join(dir, 'apns-ca.pem'),
    fcm: join(dir, 'fcm-ca.pem'),
    webpush: join(dir, 'webpush-ca.pem'),
    hms: join(dir, 'hms-ca.pem'),
  };
  writePublic(caFiles.apns, apns.ca);
  writePublic(caFiles.fcm, fcm.ca);
  writePublic(caFiles.webpush, webpush.ca);
  writePublic(caFiles.hms, hms.ca);
  const apnsKeyFile = join(dir, `AuthKey_${apns.keyId}.p8`);
  writeSecret(apnsKeyFile, apns.key);
  const serviceAccountFile = join(dir, 'service-account.json');
  writeSecret(serviceAccountFile, `${JSON.stringify(fcm.serviceAccount, null, 2)}\n`);
  const vapidPrivateKeyFile = join(dir, 'vapid-private-key.txt');
  writeSecret(vapidPrivateKeyFile, `${webpush.vapid.privateKey}\n`);
  const hmsClientSecretFile = join(dir, 'hms-client-secret.txt');
  writeSecret(hmsClientSecretFile, `${hms.clientSecret}\n`);

  const configFile = join(dir, 'pushline.json');
  const config = {
    providers: {
      apns: {
        teamId: apns.teamId,
        keyId: apns.keyId,
        keyFile: `AuthKey_${apns.keyId}.p8`,
        topic: apns.topic,
        endpoint: apns.origin,
        caFile: 'apns-ca.pem',
      },
      fcm: {
        serviceAccountFile: 'service-account.json',
        endpoint: fcm.origin,
        topicEndpoint: fcm.origin,
        caFile: 'fcm-ca.pem',
      },
      webpush: {
        subject: webpush.vapid.subject,
        publicKey: webpush.vapid.publicKey,
        privateKeyFile: 'vapid-private-key.txt',
        allowHosts: ['127.0.0.1'],
        caFile: 'webpush-ca.pem',
      },
      hms: {
        appId: hms.appId,
        clientSecretFile: 'hms-client-secret.txt',
        endpoint: hms.origin,
        authEndpoint: hms.providerOptions.authEndpoint,
        caFile: 'hms-ca.pem',
      },
    },
  };
  writePublic(configFile, `${JSON.stringify(config, null, 2)}\n`);

  const tokens = options.tokens ?? 2;
  const lines: string[] = [];
  const dead: string[] = [];
  const fcmDead: string[] = [];
  let id = 1;
  for (let i = 0; i < tokens; i++) {
    const token = randomBytes(32).toString('hex');
    if (apns.classify(token) === 'unregistered') dead.push(token);
    lines.push(JSON.stringify({ id: id++, platform: 'ios', token }));
  }
  // FCM's scenarios take token lists, so the same share is picked here, by position.
  const every = rate > 0 ? Math.max(1, Math.round(1 / rate)) : 0;
  for (let i = 0; i < tokens; i++) {
    const token = `${randomBytes(16).toString('base64url')}:APA91b${randomBytes(96).toString('base64url')}`;
    if (every > 0 && i % every === every - 1) fcmDead.push(token);
    lines.push(JSON.stringify({ id: id++, platform: 'android', token }));
  }
  const subscriptions = options.subscriptions ?? 3;
  for (let i = 0; i < subscriptions; i++) {
    const subscription = webpush.subscribe();
    if (every > 0 && i % every === every - 1) {
      webpush.unsubscribe(subscription);
      dead.push(subscription.endpoint);
    }
    lines.push(JSON.stringify({ id: id++, platform: 'web', token: subscription }));
  }
  // Huawei tokens: the same share dead, by position, given to the HMS emulator's list.
  const hmsDead: string[] = [];
  for (let i = 0; i < tokens; i++) {
    const token = `IQAAAACy0${randomBytes(96).toString('base64')}`;
    if (every > 0 && i % every === every - 1) hmsDead.push(token);
    lines.push(JSON.stringify({ id: id++, platform: 'huawei', token }));
  }
  if (hmsDead.length > 0) hms.setScenarios({ deadTokens: hmsDead });
  dead.push(...hmsDead);
  if (fcmDead.length > 0) fcm.setScenarios({ unregisteredTokens: fcmDead });
  dead.push(...fcmDead);
  const devicesFile = join(dir, 'devices.ndjson');
  writePublic(devicesFile, `${lines.join('\n')}\n`);
  return {
    dir,
    caFiles,
    apnsKeyFile,
    serviceAccountFile,
    vapidPrivateKeyFile,
    hmsClientSecretFile,
    configFile,
    devicesFile,
    devices: { ios: tokens, android: tokens, web: subscriptions, huawei: tokens },
    dead,
  };
}

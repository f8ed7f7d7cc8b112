/**
 * What `pushline emulate` hands a client: the emulators' credentials and CA as files (the
 * way real credentials arrive), a ready config file for `pushline send --config`, and a
 * small devices file with tokens and web subscriptions the emulators know.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Emulator } from '../emulator/index.js';

export interface EmulatorFiles {
  dir: string;
  /**
   * Each emulator's CA certificate (they are separate CAs with the same name, so they are
   * kept in separate files: a bundle would make TLS check against the wrong one).
   */
  caFiles: { apns: string; fcm: string; webpush: string };
  /** The APNs signing key, named as Apple names it. */
  apnsKeyFile: string;
  serviceAccountFile: string;
  vapidPrivateKeyFile: string;
  /** A config file for `pushline send --config`. */
  configFile: string;
  /** NDJSON devices: iOS and Android tokens and web subscriptions. */
  devicesFile: string;
  devices: { ios: number; android: number; web: number };
  /** The devices the scenarios make dead (unregistered), by token or endpoint. */
  dead: string[];
}

export interface EmulatorFilesOptions {
  /** Web subscriptions to issue. Default 3. */
  subscriptions?: number;
  /** iOS and Android tokens to write, each. Default 2. */
  tokens?: number;
  /** Share of the written devices that are dead (APNs by the emulator's hash rule). Default 0. */
  unregisteredRate?: number;
}

const writeSecret = (path: string, text: string) => writeFileSync(path, text, { mode: 0o600 });

/** Writes the files into `dir` (which must exist) and sets the scenarios for the written devices. */
export function writeEmulatorFiles(
  emulator: Emulator,
  dir: string,
  options: EmulatorFilesOptions = {},
): EmulatorFiles {
  const { apns, fcm, webpush } = emulator;
  const rate = options.unregisteredRate ?? 0;
  const caFiles = {
    apns: join(dir, 'apns-ca.pem'),
    fcm: join(dir, 'fcm-ca.pem'),
    webpush: join(dir, 'webpush-ca.pem'),
  };
  writeFileSync(caFiles.apns, apns.ca);
  writeFileSync(caFiles.fcm, fcm.ca);
  writeFileSync(caFiles.webpush, webpush.ca);
  const apnsKeyFile = join(dir, `AuthKey_${apns.keyId}.p8`);
  writeSecret(apnsKeyFile, apns.key);
  const serviceAccountFile = join(dir, 'service-account.json');
  writeSecret(serviceAccountFile, `${JSON.stringify(fcm.serviceAccount, null, 2)}\n`);
  const vapidPrivateKeyFile = join(dir, 'vapid-private-key.txt');
  writeSecret(vapidPrivateKeyFile, `${webpush.vapid.privateKey}\n`);

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
      fcm: { serviceAccountFile: 'service-account.json', endpoint: fcm.origin, caFile: 'fcm-ca.pem' },
      webpush: {
        subject: webpush.vapid.subject,
        publicKey: webpush.vapid.publicKey,
        privateKeyFile: 'vapid-private-key.txt',
        allowHosts: ['127.0.0.1'],
        caFile: 'webpush-ca.pem',
      },
    },
  };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);

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
  if (fcmDead.length > 0) fcm.setScenarios({ unregisteredTokens: fcmDead });
  dead.push(...fcmDead);
  const devicesFile = join(dir, 'devices.ndjson');
  writeFileSync(devicesFile, `${lines.join('\n')}\n`);
  return {
    dir,
    caFiles,
    apnsKeyFile,
    serviceAccountFile,
    vapidPrivateKeyFile,
    configFile,
    devicesFile,
    devices: { ios: tokens, android: tokens, web: subscriptions },
    dead,
  };
}

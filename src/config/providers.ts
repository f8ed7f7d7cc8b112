/**
 * The provider sections of the config — `apns`, `fcm`, `webpush`, `hms` — each declared once
 * and used both under `providers` (where the environment variables apply) and under every
 * entry of `apps`; and their mapping to the options of `apns()`, `fcm()` and `webPush()`
 * (HMS: a plain {@link HmsConfig}, for the `hms()` factory to take).
 */
import type { Platform } from '../device.js';
import type { ApnsOptions } from '../providers/apns/index.js';
import type { FcmOptions, ServiceAccount } from '../providers/fcm/index.js';
import type { WebPushOptions } from '../providers/webpush/index.js';
import { jsonSyntaxProblem } from '../redact.js';
import { ConfigError } from './errors.js';
import {
  boolean,
  file,
  integer,
  listOf,
  oneOf,
  type Present,
  secret,
  section,
  string,
  strings,
} from './schema.js';

/** Fields every provider has: extra CA, lane limit, timeout, proxy. */
const common = {
  caFile: file({
    help: "extra trusted CA (PEM file), e.g. the emulator's or a TLS-inspecting proxy's",
    fallbackEnv: 'PUSHLINE_CA_FILE',
  }),
  concurrency: integer({ help: 'requests in flight at once for this provider' }),
  timeoutMs: integer({ help: 'per-request timeout', unit: 'ms' }),
  proxy: string({ help: 'HTTP CONNECT proxy URL, e.g. http://proxy.internal:3128' }),
} as const;

const transport = oneOf(['wire', 'node-http2'], {
  help: "the HTTP/2 client: pushline's own ('wire', default) or Node's ('node-http2')",
});
const connections = integer({ help: 'HTTP/2 connections to the service' });

/** One entry of `apns.apps`: another app signed by the same credential. */
const APNS_APP = section(
  {
    app: string({ help: "the app its devices name in their 'app' field", required: true }),
    topic: string({ help: "that app's bundle id, e.g. com.example.pro", required: true }),
    name: string({ help: 'its name in feedback, summaries and metrics (default apns:<app>)' }),
  },
  { help: 'one more app of the same APNs key' },
);

/** `providers.apns` / `apps.<name>.apns`: Apple Push Notification service. */
export const APNS_SECTION = section(
  {
    teamId: string({ help: 'token auth: your 10-character Team ID', env: 'PUSHLINE_APNS_TEAM_ID' }),
    keyId: string({ help: "token auth: the .p8 key's 10-character Key ID", env: 'PUSHLINE_APNS_KEY_ID' }),
    key: secret({
      help: "the .p8 key (token auth) or the certificate's private key (certificate auth), PEM",
      inline: 'key',
      fromEnv: 'keyEnv',
      file: 'keyFile',
      env: 'PUSHLINE_APNS_KEY',
      fileEnv: 'PUSHLINE_APNS_KEY_FILE',
      hint: 'give the .p8 file\'s path here, or the key itself in PUSHLINE_APNS_KEY (or "key" / "keyEnv" in the config file)',
    }),
    certFile: file({
      help: 'certificate auth: the push certificate (PEM), with keyFile',
      env: 'PUSHLINE_APNS_CERT_FILE',
    }),
    pfx: secret({
      help: 'certificate auth: certificate and key in one .p12 file',
      file: 'pfxFile',
      fileEnv: 'PUSHLINE_APNS_PFX_FILE',
      binary: true,
      hint: 'give the path of the .p12 file',
    }),
    passphrase: secret({
      help: "certificate auth: the key's or the .p12's passphrase",
      fromEnv: 'passphraseEnv',
      env: 'PUSHLINE_APNS_PASSPHRASE',
      envEnables: false,
    }),
    topic: string({
      help: "your app's bundle id, e.g. com.example.app (with apps: the app of devices without an app field; may be left out)",
      env: 'PUSHLINE_APNS_TOPIC',
    }),
    name: string({ help: 'its name in feedback, summaries and metrics (default apns)' }),
    apps: listOf(APNS_APP, {
      help: "more apps of the same key (token auth: a key signs for every app of its team): one pool and one token for all; devices choose by their 'app'",
      nonEmpty: true,
    }),
    production: boolean({
      help: 'production (true) or sandbox (false) APNs',
      env: 'PUSHLINE_APNS_PRODUCTION',
      envEnables: false,
    }),
    endpoint: string({
      help: "another APNs origin (an emulator's), instead of Apple's",
      env: 'PUSHLINE_APNS_ENDPOINT',
      envEnables: false,
    }),
    ...common,
    connections,
    transport,
  },
  { help: 'APNs: token auth (teamId, keyId, key) or certificate auth (certFile + keyFile, or pfxFile)' },
);

/** Text starting with `{` in GOOGLE_APPLICATION_CREDENTIALS is the key's JSON itself, not a path. */
const isInlineJson = (value: string): boolean => value.trimStart().startsWith('{');

/** `providers.fcm` / `apps.<name>.fcm`: Firebase Cloud Messaging HTTP v1. */
export const FCM_SECTION = section(
  {
    // GOOGLE_APPLICATION_CREDENTIALS names a file, but people paste the key's JSON itself into
    // it (CI secrets, firebase-admin habits): text starting with "{" is taken as that JSON.
    serviceAccount: secret({
      help: "the service account's JSON key file (Firebase console); the variable may hold the JSON itself",
      file: 'serviceAccountFile',
      fileEnv: 'GOOGLE_APPLICATION_CREDENTIALS',
      pathIsInline: isInlineJson,
      hint: 'give the path of the JSON key file downloaded from the Firebase console, or the whole JSON',
      required: true,
      requiredUnless: { field: 'credential', value: 'application-default' },
    }),
    // Cloud Run, GKE, GCE and workload identity federation have no key file: google-auth-library
    // finds the credentials (GOOGLE_APPLICATION_CREDENTIALS of any type, gcloud's file, the
    // metadata server), as firebase-admin's applicationDefault() does.
    credential: oneOf(['service-account', 'application-default'], {
      help: "'application-default': Google Application Default Credentials (metadata server, gcloud, workload identity; needs google-auth-library) instead of a key",
      env: 'PUSHLINE_FCM_CREDENTIAL',
    }),
    projectId: string({
      help: "Firebase project id (default: the service account's; with ADC, GOOGLE_CLOUD_PROJECT or the credentials')",
      env: 'PUSHLINE_FCM_PROJECT_ID',
    }),
    platforms: strings({
      help: 'platforms this provider serves (default: android)',
      nonEmpty: true,
      values: ['ios', 'android', 'web', 'huawei'],
    }),
    endpoint: string({
      help: "another FCM origin (an emulator's), instead of Google's",
      env: 'PUSHLINE_FCM_ENDPOINT',
      envEnables: false,
    }),
    topicEndpoint: string({
      help: "another Instance ID origin for topic subscriptions (an emulator's), instead of Google's",
      env: 'PUSHLINE_FCM_TOPIC_ENDPOINT',
      envEnables: false,
    }),
    ...common,
    connections,
    transport,
  },
  { help: "FCM (HTTP v1): a service account, or credential 'application-default'" },
);

/** `providers.webpush` / `apps.<name>.webpush`: Web Push with VAPID. */
export const WEBPUSH_SECTION = section(
  {
    subject: string({
      help: 'VAPID subject: mailto: or https: contact of the sender',
      env: 'PUSHLINE_VAPID_SUBJECT',
      required: true,
    }),
    publicKey: string({
      help: 'VAPID public key (base64url, starts with B)',
      env: 'PUSHLINE_VAPID_PUBLIC_KEY',
      required: true,
    }),
    privateKey: secret({
      help: 'VAPID private key (base64url)',
      inline: 'privateKey',
      fromEnv: 'privateKeyEnv',
      file: 'privateKeyFile',
      trim: true,
      env: 'PUSHLINE_VAPID_PRIVATE_KEY',
      required: true,
    }),
    allowHosts: strings({
      help: 'private or loopback endpoint hosts allowed anyway, e.g. ["127.0.0.1"] for the emulator',
    }),
    allowPrivateNetworks: boolean({
      help: 'allow every endpoint address (https still required), for push services on a private network',
    }),
    proxyResolvesHosts: boolean({
      help: 'with proxy: let the proxy resolve host names (it must then refuse private addresses itself)',
    }),
    originCircuit: section(
      {
        failures: integer({ help: "refusals in a row that open an origin's circuit (default 5)" }),
        cooldownMs: integer({ help: 'first pause of an open circuit (default 10 s)', unit: 'ms' }),
        maxCooldownMs: integer({
          help: 'longest pause, doubling per failed probe (default 5 min)',
          unit: 'ms',
        }),
      },
      {
        help: 'per-origin circuit: an origin refusing our VAPID key or TLS fails its devices without requests',
      },
    ),
    pushServices: strings({
      help: 'independent push services whose refusals blame our key (host suffixes or origins; default: FCM, Mozilla, Apple, WNS)',
    }),
    maxOrigins: integer({ help: 'push-service origins with open connections at once (default 256)' }),
    connectionsPerOrigin: integer({ help: 'connections per push-service origin' }),
    idleCloseMs: integer({
      help: "close an origin's connections after this long unused (default 60 s)",
      unit: 'ms',
    }),
    dnsCacheTtlMs: integer({
      help: "endpoint guard's host-verdict cache lifetime (default 30 s)",
      unit: 'ms',
    }),
    encryptionThreads: integer({
      help: 'worker threads encrypting messages (0: on the main thread; default: cores - 1)',
      min: 0,
    }),
    ...common,
    transport,
  },
  { help: 'Web Push: a VAPID key pair' },
);

/** `providers.hms` / `apps.<name>.hms`: Huawei Push Kit. */
export const HMS_SECTION = section(
  {
    appId: string({ help: 'the app id (AppGallery Connect)', env: 'PUSHLINE_HMS_APP_ID', required: true }),
    clientId: string({
      help: 'the OAuth client id (AppGallery Connect; often the app id)',
      env: 'PUSHLINE_HMS_CLIENT_ID',
    }),
    clientSecret: secret({
      help: 'the OAuth client secret',
      inline: 'clientSecret',
      fromEnv: 'clientSecretEnv',
      file: 'clientSecretFile',
      trim: true,
      env: 'PUSHLINE_HMS_CLIENT_SECRET',
      required: true,
    }),
    endpoint: string({
      help: "another Push Kit origin (an emulator's), instead of Huawei's",
      env: 'PUSHLINE_HMS_ENDPOINT',
      envEnables: false,
    }),
    authEndpoint: string({ help: "another OAuth token URL (an emulator's), instead of Huawei's" }),
    ...common,
  },
  { help: 'Huawei Push Kit: an app id and its OAuth client credentials' },
);

/** The provider sections, by their key in `providers` and in each app. */
export const PROVIDER_SECTIONS = {
  apns: APNS_SECTION,
  fcm: FCM_SECTION,
  webpush: WEBPUSH_SECTION,
  hms: HMS_SECTION,
} as const;

export type ApnsSection = Present<typeof APNS_SECTION>;
export type FcmSection = Present<typeof FCM_SECTION>;
export type WebPushSection = Present<typeof WEBPUSH_SECTION>;
export type HmsSection = Present<typeof HMS_SECTION>;

/**
 * What a `hms` section gives the `hms()` factory (written elsewhere; not imported here so the
 * config layer does not wait for it): plain values, the secret revealed.
 */
export interface HmsConfig {
  appId: string;
  clientId?: string;
  clientSecret: string;
  endpoint?: string;
  authEndpoint?: string;
  /** Extra trusted CA, PEM. */
  ca?: string;
  concurrency?: number;
  timeoutMs?: number;
  proxy?: string;
}

/**
 * Options for `apns()` from a parsed `apns` section: the section's own provider (for devices
 * without `app`). Its `apps` are {@link apnsProvidersOptions}.
 */
export function apnsOptions(section: ApnsSection): ApnsOptions {
  const options: ApnsOptions = {};
  assign(options, section, ['teamId', 'keyId', 'topic', 'name', 'production', 'endpoint', 'proxy']);
  assign(options, section, ['connections', 'concurrency', 'timeoutMs', 'transport']);
  if (section.key !== undefined) options.key = section.key.reveal();
  if (section.certFile !== undefined) options.cert = section.certFile;
  if (section.pfx !== undefined) options.pfx = section.pfx.reveal();
  if (section.passphrase !== undefined) options.passphrase = text(section.passphrase.reveal());
  if (section.caFile !== undefined) options.ca = section.caFile;
  return options;
}

/**
 * Options for every `apns()` a parsed `apns` section makes: one per entry of `apps` (its `app`,
 * `topic` and `name` on the section's credentials and settings), after the section's own
 * provider — left out when `apps` is given without a `topic` under token auth (every device
 * then names its app). The providers share one pool and one provider token (same key).
 */
export function apnsProvidersOptions(section: ApnsSection): ApnsOptions[] {
  const base = apnsOptions(section);
  const list: ApnsOptions[] = [];
  const tokenAuth = section.certFile === undefined && section.pfx === undefined;
  if (section.apps === undefined || section.topic !== undefined || !tokenAuth) list.push(base);
  const { name: _name, ...shared } = base;
  for (const app of section.apps ?? []) {
    const options: ApnsOptions = { ...shared, app: app.app, topic: app.topic };
    if (app.name !== undefined) options.name = app.name;
    list.push(options);
  }
  return list;
}

/** Options for `fcm()` from a parsed `fcm` section (its service-account JSON parsed here). */
export function fcmOptions(section: FcmSection): FcmOptions {
  const options: FcmOptions = {};
  // Present unless credential is 'application-default' (requiredUnless).
  const source = section.serviceAccount as typeof section.serviceAccount | undefined;
  if (section.credential === 'application-default') {
    // google-auth-library reads GOOGLE_APPLICATION_CREDENTIALS itself (any credential type);
    // a key named in the config file is a contradiction.
    if (source !== undefined && source.where !== 'GOOGLE_APPLICATION_CREDENTIALS') {
      throw new ConfigError(
        `${source.where} names a service account, but credential is 'application-default': keep one of the two`,
      );
    }
    options.credential = 'application-default';
  } else {
    options.serviceAccount = parseServiceAccount(source!);
  }
  assign(options, section, [
    'projectId',
    'endpoint',
    'topicEndpoint',
    'proxy',
    'connections',
    'concurrency',
    'timeoutMs',
    'transport',
  ]);
  if (section.platforms !== undefined) options.platforms = section.platforms as Platform[];
  if (section.caFile !== undefined) options.ca = section.caFile;
  return options;
}

function parseServiceAccount(source: FcmSection['serviceAccount']): ServiceAccount {
  const json = text(source.reveal());
  try {
    return JSON.parse(json) as ServiceAccount;
  } catch (error) {
    throw new ConfigError(
      `${source.inline ? `the service-account JSON held in ${source.where}` : `the service-account file named by ${source.where}`} is malformed: ${jsonSyntaxProblem(json, error)}; use the JSON key file as downloaded from the Firebase console`,
    );
  }
}

/** Options for `webPush()` from a parsed `webpush` section. */
export function webPushOptions(section: WebPushSection): WebPushOptions {
  const options: WebPushOptions = {
    vapid: {
      subject: section.subject,
      publicKey: section.publicKey,
      privateKey: text(section.privateKey.reveal()),
    },
  };
  assign(options, section, [
    'allowHosts',
    'allowPrivateNetworks',
    'proxyResolvesHosts',
    'pushServices',
    'maxOrigins',
    'connectionsPerOrigin',
    'idleCloseMs',
    'dnsCacheTtlMs',
    'encryptionThreads',
    'concurrency',
    'timeoutMs',
    'proxy',
    'transport',
  ]);
  if (section.originCircuit !== undefined) options.originCircuit = { ...section.originCircuit };
  if (section.caFile !== undefined) options.ca = section.caFile;
  return options;
}

/** A plain {@link HmsConfig} from a parsed `hms` section. */
export function hmsConfig(section: HmsSection): HmsConfig {
  const config: HmsConfig = { appId: section.appId, clientSecret: text(section.clientSecret.reveal()) };
  assign(config, section, ['clientId', 'endpoint', 'authEndpoint', 'concurrency', 'timeoutMs', 'proxy']);
  if (section.caFile !== undefined) config.ca = section.caFile;
  return config;
}

/** Copies the fields that are set, under the same name. */
function assign<T extends object, S extends object>(
  target: T,
  source: S,
  keys: readonly (keyof S & keyof T)[],
): void {
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined) target[key] = value as unknown as T[typeof key];
  }
}

const text = (value: string | Buffer): string => (typeof value === 'string' ? value : value.toString('utf8'));

/**
 * Credentials for `pushline send`: a JSON config file and/or environment variables, turned
 * into the options of `apns()`, `fcm()` and `webPush()`. Environment variables win over the
 * file, field by field. Secrets are read here and never printed: every message names the
 * field, the file path or the variable, never a value — and a "path" or a "variable name"
 * that is really a key (people paste the key where its path belongs) is not echoed either.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Platform } from '../device.js';
import type { ApnsOptions } from '../providers/apns/options.js';
import type { FcmOptions } from '../providers/fcm/options.js';
import { isInlineJson, type ServiceAccount } from '../providers/fcm/service-account.js';
import type { WebPushOptions } from '../providers/webpush/index.js';
import { jsonSyntaxProblem, secretDescription } from '../redact.js';
import { CliError, EXIT } from './exit-codes.js';

/** What `pushline send` builds its providers from. */
export interface ProviderConfig {
  apns?: ApnsOptions;
  fcm?: FcmOptions;
  webpush?: WebPushOptions;
}

/** The config file schema, as --help shows it. */
export const CONFIG_HELP = `Config file (--config FILE, JSON; relative paths are relative to the file):
  {
    "providers": {
      "apns": {                          token auth (.p8):
        "teamId": "ABCDE12345", "keyId": "KEY1234567",
        "keyFile": "AuthKey_KEY1234567.p8",   (or "key": PEM text, or "keyEnv": VAR)
        "topic": "com.example.app", "production": true,
                                         or certificate auth:
        "certFile": "push.pem", "keyFile": "push-key.pem"   (or "pfxFile": "push.p12"),
        "passphraseEnv": "APNS_PASSPHRASE",
        optional: "endpoint", "caFile", "connections", "concurrency", "timeoutMs", "proxy"
      },
      "fcm": {
        "serviceAccountFile": "service-account.json",
        optional: "projectId", "platforms": ["android"], "endpoint", "caFile",
                  "connections", "concurrency", "timeoutMs", "proxy"
      },
      "webpush": {
        "subject": "mailto:ops@example.com", "publicKey": "B…",
        "privateKeyEnv": "VAPID_PRIVATE_KEY"   (or "privateKeyFile", or "privateKey"),
        optional: "allowHosts": ["push.internal"], "caFile", "concurrency", "timeoutMs", "proxy"
      }
    }
  }
  A provider is used when its section or one of its variables is present.

Environment variables (override the file, field by field; values are never printed):
  PUSHLINE_APNS_TEAM_ID  PUSHLINE_APNS_KEY_ID  PUSHLINE_APNS_KEY_FILE  PUSHLINE_APNS_KEY (PEM)
  PUSHLINE_APNS_TOPIC  PUSHLINE_APNS_PRODUCTION (true|false)  PUSHLINE_APNS_ENDPOINT
  PUSHLINE_APNS_CERT_FILE  PUSHLINE_APNS_PFX_FILE  PUSHLINE_APNS_PASSPHRASE
  GOOGLE_APPLICATION_CREDENTIALS (service-account file, or its JSON text)
  PUSHLINE_FCM_PROJECT_ID  PUSHLINE_FCM_ENDPOINT
  PUSHLINE_VAPID_SUBJECT  PUSHLINE_VAPID_PUBLIC_KEY  PUSHLINE_VAPID_PRIVATE_KEY
  PUSHLINE_CA_FILE (extra trusted CA for every provider, e.g. the emulator's ca.pem)`;

type Json = Record<string, unknown>;

const APNS_FIELDS = [
  'teamId',
  'keyId',
  'keyFile',
  'key',
  'keyEnv',
  'certFile',
  'pfxFile',
  'passphraseEnv',
  'topic',
  'production',
  'endpoint',
  'caFile',
  'connections',
  'concurrency',
  'timeoutMs',
  'proxy',
];
const FCM_FIELDS = [
  'serviceAccountFile',
  'projectId',
  'platforms',
  'endpoint',
  'caFile',
  'connections',
  'concurrency',
  'timeoutMs',
  'proxy',
];
const WEBPUSH_FIELDS = [
  'subject',
  'publicKey',
  'privateKey',
  'privateKeyEnv',
  'privateKeyFile',
  'allowHosts',
  'caFile',
  'concurrency',
  'timeoutMs',
  'proxy',
];

const configError = (message: string, cause?: unknown) =>
  new CliError(message, EXIT.config, cause === undefined ? undefined : { cause });

/** Where a value came from, for messages: `apns.keyFile in pushline.json` or `PUSHLINE_APNS_KEY_FILE`. */
interface Origin {
  where: string;
  /** Directory that relative paths are relative to. */
  base: string;
}

/**
 * Refuses a "path" that is really key material and names no file, without echoing it (nor
 * attaching the fs error, whose message would quote it).
 */
function refuseSecretPath(path: string, where: string, hint: string, full = path): void {
  const secret = secretDescription(path);
  if (secret === undefined || existsSync(full)) return;
  throw configError(`${where} holds ${secret} (not shown), not a file path: ${hint}`);
}

function readConfigFile(path: string): Json {
  refuseSecretPath(path, '--config', 'give the path of the JSON config file');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw configError(
      `cannot read the config file '${path}' (${code}): check the path given to --config and its permissions`,
      error,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw configError(
      `the config file '${path}' is malformed: ${jsonSyntaxProblem(text, error)}; see pushline send --help for its schema`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw configError(`the config file '${path}' must hold a JSON object: { "providers": { … } }`);
  }
  const root = parsed as Json;
  for (const key of Object.keys(root)) {
    if (key !== 'providers') {
      throw configError(
        `the config file '${path}' has an unknown key '${key}': it holds { "providers": { "apns" | "fcm" | "webpush": … } }`,
      );
    }
  }
  const providers = root['providers'] ?? {};
  if (providers === null || typeof providers !== 'object' || Array.isArray(providers)) {
    throw configError(`the config file '${path}': "providers" must be an object`);
  }
  return providers as Json;
}

function section(providers: Json, name: string, fields: string[], path: string): Json | undefined {
  const value = providers[name];
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw configError(`the config file '${path}': providers.${name} must be an object`);
  }
  for (const key of Object.keys(value)) {
    if (!fields.includes(key)) {
      throw configError(
        `the config file '${path}': providers.${name} has an unknown field '${key}'; known fields: ${fields.join(', ')}`,
      );
    }
  }
  return value as Json;
}

/** Reads one field of a section or its variable (the variable wins), checking its type. */
class Fields {
  constructor(
    private readonly provider: string,
    private readonly file: Json | undefined,
    private readonly fileOrigin: Origin | undefined,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** A variable's value, or undefined when it is unset or empty. */
  envValue(variable: string): string | undefined {
    const value = this.env[variable];
    return nonEmpty(value) ? value : undefined;
  }

  /** True when the section exists or any of these variables is set. */
  present(variables: string[]): boolean {
    return this.file !== undefined || variables.some((name) => nonEmpty(this.env[name]));
  }

  string(field: string, variable?: string): { value: string; origin: Origin } | undefined {
    if (variable !== undefined && nonEmpty(this.env[variable])) {
      return { value: this.env[variable]!, origin: { where: variable, base: process.cwd() } };
    }
    const value = this.file?.[field];
    if (value === undefined) return undefined;
    const origin = this.origin(field);
    if (typeof value !== 'string' || value === '')
      throw configError(`${origin.where} must be a non-empty string`);
    return { value, origin };
  }

  boolean(field: string, variable: string): boolean | undefined {
    const raw = this.env[variable];
    if (nonEmpty(raw)) {
      if (/^(true|1|yes)$/i.test(raw!)) return true;
      if (/^(false|0|no)$/i.test(raw!)) return false;
      throw configError(`${variable} must be true or false`);
    }
    const value = this.file?.[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw configError(`${this.origin(field).where} must be true or false`);
    return value;
  }

  integer(field: string): number | undefined {
    const value = this.file?.[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw configError(`${this.origin(field).where} must be a whole number ≥ 1`);
    }
    return value;
  }

  strings(field: string): string[] | undefined {
    const value = this.file?.[field];
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
      throw configError(`${this.origin(field).where} must be a list of strings`);
    }
    return value as string[];
  }

  /**
   * The text of a credential file, read now so a bad path is reported before anything is
   * sent. `hint` says where the key itself goes, for the value that holds a key, not a path.
   */
  fileText(
    field: string,
    variable?: string,
    hint = 'put it in a file and give the path',
  ): string | undefined {
    const path = this.string(field, variable);
    if (path === undefined) return undefined;
    return readCredentialFile(path.value, path.origin, hint);
  }

  /** A secret held in the variable named by `field` (e.g. `passphraseEnv`). */
  fromNamedVariable(field: string): string | undefined {
    const name = this.string(field);
    if (name === undefined) return undefined;
    // The field holds a variable's NAME; a value that is not a name may be the secret itself.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name.value) || secretDescription(name.value) !== undefined) {
      const secret = secretDescription(name.value);
      throw configError(
        `${name.origin.where} must be the name of an environment variable (letters, digits, _), e.g. "APNS_SECRET"; ` +
          `it holds ${secret ?? 'something else'} (not shown): put the secret in a variable and name that variable here`,
      );
    }
    const value = this.env[name.value];
    if (!nonEmpty(value)) {
      throw configError(
        `${name.origin.where} names the environment variable ${name.value}, which is not set: export it before running pushline`,
      );
    }
    return value;
  }

  origin(field: string): Origin {
    return {
      where: `providers.${this.provider}.${field} in ${this.fileOrigin?.where ?? 'the config file'}`,
      base: this.fileOrigin?.base ?? process.cwd(),
    };
  }
}

const nonEmpty = (value: string | undefined): boolean => value !== undefined && value !== '';

function readCredentialFile(
  path: string,
  origin: Origin,
  hint = 'put it in a file and give the path',
): string {
  const full = resolve(origin.base, path);
  refuseSecretPath(path, origin.where, hint, full);
  try {
    return readFileSync(full, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw configError(
      `cannot read the file '${full}' named by ${origin.where} (${reason}): fix the path or the file's permissions`,
      error,
    );
  }
}

/**
 * Loads the providers' options from the config file (when given) and the environment.
 * Throws a {@link CliError} with exit code 78 for anything missing, malformed or unreadable.
 */
export function loadProviderConfig(configPath: string | undefined, env: NodeJS.ProcessEnv): ProviderConfig {
  const providers = configPath === undefined ? {} : readConfigFile(configPath);
  const fileOrigin =
    configPath === undefined ? undefined : { where: `'${configPath}'`, base: dirname(resolve(configPath)) };
  const path = configPath ?? '';
  const sharedCa = nonEmpty(env['PUSHLINE_CA_FILE'])
    ? readCredentialFile(env['PUSHLINE_CA_FILE']!, { where: 'PUSHLINE_CA_FILE', base: process.cwd() })
    : undefined;
  const config: ProviderConfig = {};

  const apns = new Fields('apns', section(providers, 'apns', APNS_FIELDS, path), fileOrigin, env);
  if (apns.present(APNS_VARIABLES)) config.apns = apnsOptions(apns, sharedCa);

  const fcm = new Fields('fcm', section(providers, 'fcm', FCM_FIELDS, path), fileOrigin, env);
  if (fcm.present(FCM_VARIABLES)) config.fcm = fcmOptions(fcm, sharedCa);

  const webpush = new Fields('webpush', section(providers, 'webpush', WEBPUSH_FIELDS, path), fileOrigin, env);
  if (webpush.present(WEBPUSH_VARIABLES)) config.webpush = webPushOptions(webpush, sharedCa);
  return config;
}

const APNS_VARIABLES = [
  'PUSHLINE_APNS_TEAM_ID',
  'PUSHLINE_APNS_KEY_ID',
  'PUSHLINE_APNS_KEY_FILE',
  'PUSHLINE_APNS_KEY',
  'PUSHLINE_APNS_TOPIC',
  'PUSHLINE_APNS_CERT_FILE',
  'PUSHLINE_APNS_PFX_FILE',
];
const FCM_VARIABLES = ['GOOGLE_APPLICATION_CREDENTIALS', 'PUSHLINE_FCM_PROJECT_ID'];
const WEBPUSH_VARIABLES = [
  'PUSHLINE_VAPID_SUBJECT',
  'PUSHLINE_VAPID_PUBLIC_KEY',
  'PUSHLINE_VAPID_PRIVATE_KEY',
];

function common<T extends { ca?: unknown; concurrency?: number; timeoutMs?: number; proxy?: string }>(
  fields: Fields,
  sharedCa: string | undefined,
  options: T,
): T {
  const ca = fields.fileText('caFile') ?? sharedCa;
  if (ca !== undefined) options.ca = ca;
  const concurrency = fields.integer('concurrency');
  if (concurrency !== undefined) options.concurrency = concurrency;
  const timeoutMs = fields.integer('timeoutMs');
  if (timeoutMs !== undefined) options.timeoutMs = timeoutMs;
  const proxy = fields.string('proxy');
  if (proxy !== undefined) options.proxy = proxy.value;
  return options;
}

function apnsOptions(fields: Fields, sharedCa: string | undefined): ApnsOptions {
  const options: ApnsOptions = {};
  const teamId = fields.string('teamId', 'PUSHLINE_APNS_TEAM_ID');
  const keyId = fields.string('keyId', 'PUSHLINE_APNS_KEY_ID');
  if (teamId) options.teamId = teamId.value;
  if (keyId) options.keyId = keyId.value;
  const key =
    fields.string('key', 'PUSHLINE_APNS_KEY')?.value ??
    fields.fromNamedVariable('keyEnv') ??
    fields.fileText(
      'keyFile',
      'PUSHLINE_APNS_KEY_FILE',
      'give the .p8 file\'s path here, or the key itself in PUSHLINE_APNS_KEY (or "key" / "keyEnv" in the config file)',
    );
  if (key !== undefined) options.key = key;
  const cert = fields.fileText('certFile', 'PUSHLINE_APNS_CERT_FILE');
  if (cert !== undefined) options.cert = cert;
  const pfx = fields.string('pfxFile', 'PUSHLINE_APNS_PFX_FILE');
  if (pfx !== undefined) {
    // A .p12 is binary: read it as bytes.
    const full = resolve(pfx.origin.base, pfx.value);
    refuseSecretPath(pfx.value, pfx.origin.where, 'give the path of the .p12 file', full);
    try {
      options.pfx = readFileSync(full);
    } catch (error) {
      throw configError(
        `cannot read the file '${full}' named by ${pfx.origin.where} (${(error as NodeJS.ErrnoException).code}): fix the path or the file's permissions`,
        error,
      );
    }
  }
  const passphrase = fields.envValue('PUSHLINE_APNS_PASSPHRASE') ?? fields.fromNamedVariable('passphraseEnv');
  if (passphrase !== undefined) options.passphrase = passphrase;
  const topic = fields.string('topic', 'PUSHLINE_APNS_TOPIC');
  if (topic) options.topic = topic.value;
  const production = fields.boolean('production', 'PUSHLINE_APNS_PRODUCTION');
  if (production !== undefined) options.production = production;
  const endpoint = fields.string('endpoint', 'PUSHLINE_APNS_ENDPOINT');
  if (endpoint) options.endpoint = endpoint.value;
  const connections = fields.integer('connections');
  if (connections !== undefined) options.connections = connections;
  return common(fields, sharedCa, options);
}

function fcmOptions(fields: Fields, sharedCa: string | undefined): FcmOptions {
  const options: FcmOptions = {};
  const source = fields.string('serviceAccountFile', 'GOOGLE_APPLICATION_CREDENTIALS');
  if (source === undefined) {
    throw configError(
      'fcm is configured but has no service account: set providers.fcm.serviceAccountFile in the config file, or GOOGLE_APPLICATION_CREDENTIALS',
    );
  }
  // GOOGLE_APPLICATION_CREDENTIALS names a file, but people paste the key's JSON itself into
  // it (CI secrets, firebase-admin habits): text starting with "{" is taken as that JSON.
  const inline = isInlineJson(source.value);
  const text = inline
    ? source.value
    : readCredentialFile(
        source.value,
        source.origin,
        'give the path of the JSON key file downloaded from the Firebase console, or the whole JSON',
      );
  try {
    options.serviceAccount = JSON.parse(text) as ServiceAccount;
  } catch (error) {
    throw configError(
      `${inline ? `the service-account JSON held in ${source.origin.where}` : `the service-account file named by ${source.origin.where}`} is malformed: ${jsonSyntaxProblem(text, error)}; use the JSON key file as downloaded from the Firebase console`,
    );
  }
  const projectId = fields.string('projectId', 'PUSHLINE_FCM_PROJECT_ID');
  if (projectId) options.projectId = projectId.value;
  const platforms = fields.strings('platforms');
  if (platforms) options.platforms = platforms as Platform[];
  const endpoint = fields.string('endpoint', 'PUSHLINE_FCM_ENDPOINT');
  if (endpoint) options.endpoint = endpoint.value;
  const connections = fields.integer('connections');
  if (connections !== undefined) options.connections = connections;
  return common(fields, sharedCa, options);
}

function webPushOptions(fields: Fields, sharedCa: string | undefined): WebPushOptions {
  const subject = fields.string('subject', 'PUSHLINE_VAPID_SUBJECT');
  const publicKey = fields.string('publicKey', 'PUSHLINE_VAPID_PUBLIC_KEY');
  const privateKey =
    fields.envValue('PUSHLINE_VAPID_PRIVATE_KEY') ??
    fields.fromNamedVariable('privateKeyEnv') ??
    fields.fileText('privateKeyFile')?.trim() ??
    fields.string('privateKey')?.value;
  const missing = [
    subject ? undefined : 'subject (PUSHLINE_VAPID_SUBJECT)',
    publicKey ? undefined : 'publicKey (PUSHLINE_VAPID_PUBLIC_KEY)',
    privateKey ? undefined : 'privateKeyEnv / privateKeyFile (PUSHLINE_VAPID_PRIVATE_KEY)',
  ].filter((item) => item !== undefined);
  if (missing.length > 0) {
    throw configError(`webpush is configured but lacks ${missing.join(', ')}: see pushline send --help`);
  }
  const options: WebPushOptions = {
    vapid: { subject: subject!.value, publicKey: publicKey!.value, privateKey: privateKey! },
  };
  const allowHosts = fields.strings('allowHosts');
  if (allowHosts) options.allowHosts = allowHosts;
  return common(fields, sharedCa, options);
}

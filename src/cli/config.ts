/**
 * Credentials for `pushline send`: the config file and/or environment variables, parsed by
 * the one config schema (`src/config/`) and turned into the options of `apns()`, `fcm()` and
 * `webPush()`. Environment variables win over the file, field by field. Secrets are read there
 * and never printed: every message names the field, the file path or the variable, never a
 * value. This file only turns the schema's errors into exit code 78 and its reference into
 * the `--help` text.
 */
import type { PushClientOptions } from '../client.js';
import {
  apnsProvidersOptions,
  CONFIG_SCHEMA,
  ConfigError,
  configReference,
  fcmOptions,
  hmsConfig,
  loadConfig,
  type PushlineConfig,
  webPushOptions,
} from '../config/index.js';
import type { ApnsOptions } from '../providers/apns/index.js';
import type { FcmOptions } from '../providers/fcm/index.js';
import type { HmsOptions } from '../providers/hms/index.js';
import type { WebPushOptions } from '../providers/webpush/index.js';
import { CliError, EXIT } from './exit-codes.js';

/** What `pushline send` builds its providers from. */
export interface ProviderConfig {
  /** One per app of the APNs key: the section's own, then one per entry of its `apps`. */
  apns?: ApnsOptions[];
  fcm?: FcmOptions;
  webpush?: WebPushOptions;
  hms?: HmsOptions;
}

/** What `pushline send` takes from the config: its providers and how its sends run. */
export interface SendConfig {
  providers: ProviderConfig;
  client: Pick<
    PushClientOptions,
    'window' | 'maxWaitingRetries' | 'slowAnswerMs' | 'laneOverflow' | 'delivery'
  >;
}

/** The config file's reference, as --help shows it (derived from the schema). */
export const CONFIG_HELP = `Config file (--config FILE, JSON; relative paths are relative to the file; unknown fields are refused):
  { "providers": { "apns": { "teamId": "ABCDE12345", "keyId": "KEY1234567",
                             "keyFile": "AuthKey_KEY1234567.p8", "topic": "com.example.app" },
                   "fcm": { "serviceAccountFile": "service-account.json" },
                   "webpush": { "subject": "mailto:ops@example.com", "publicKey": "B…",
                                "privateKeyEnv": "VAPID_PRIVATE_KEY" } } }

${configReference(CONFIG_SCHEMA)}`;

/**
 * Parses the config file (when given) and the environment.
 * Throws a {@link CliError}: exit code 66 when the --config file itself does not exist, 78 for
 * anything else missing, malformed or unreadable (a credential file it names included).
 */
export function loadSendConfig(configPath: string | undefined, env: NodeJS.ProcessEnv): SendConfig {
  return asCliError(configPath, () => {
    const config: PushlineConfig = loadConfig(CONFIG_SCHEMA, configPath, env);
    const { apns, fcm, webpush, hms } = config.providers;
    const providers: ProviderConfig = {};
    if (apns !== undefined) providers.apns = apnsProvidersOptions(apns);
    if (fcm !== undefined) providers.fcm = fcmOptions(fcm);
    if (webpush !== undefined) providers.webpush = webPushOptions(webpush);
    if (hms !== undefined) providers.hms = hmsConfig(hms);
    return { providers, client: { ...config.client } };
  });
}

/** The providers' options from the config file (when given) and the environment. */
export function loadProviderConfig(configPath: string | undefined, env: NodeJS.ProcessEnv): ProviderConfig {
  return loadSendConfig(configPath, env).providers;
}

function asCliError<T>(configPath: string | undefined, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw configCliError(error, configPath);
  }
}

/**
 * The {@link CliError} for a config that does not load, for every command that reads one: 66
 * when the --config file itself does not exist (a file named on the command line is missing, as
 * the exit-code table says), 78 for anything else (a file the config names is a credential problem).
 */
export function configCliError(error: ConfigError, configPath: string | undefined): CliError {
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  const missing = cause?.code === 'ENOENT' && configPath !== undefined && cause.path === configPath;
  // The cause is the ConfigError's own (an fs error), not the ConfigError: same message twice otherwise.
  return new CliError(
    error.message,
    missing ? EXIT.noInput : EXIT.config,
    error.cause === undefined ? undefined : { cause: error.cause },
  );
}

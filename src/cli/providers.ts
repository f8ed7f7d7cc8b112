/**
 * Builds the providers `pushline send` uses: from the config (file + environment), or from a
 * started emulator (`--emulator`). A provider that refuses its options (a key that is not a
 * P-256 key, a VAPID key of the wrong length) ends the command before any device is read.
 */

import type { Emulator } from '../emulator/index.js';
import { PushError } from '../errors.js';
import type { Provider } from '../provider.js';
import { apns } from '../providers/apns/index.js';
import { fcm } from '../providers/fcm/index.js';
import { hms } from '../providers/hms/index.js';
import { webPush } from '../providers/webpush/index.js';
import type { ProviderConfig } from './config.js';
import { CliError, EXIT } from './exit-codes.js';

function build(name: string, make: () => Provider, built: Provider[]): void {
  try {
    built.push(make());
  } catch (error) {
    for (const provider of built) provider.destroy?.();
    if (error instanceof PushError) {
      const message = error.message.startsWith(`${name}:`) ? error.message : `${name}: ${error.message}`;
      throw new CliError(
        `${message} (check the ${name} section of --config or its environment variables)`,
        EXIT.config,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** One provider per configured section. Throws a {@link CliError} (78) when none is configured. */
export function providersFromConfig(config: ProviderConfig): Provider[] {
  const built: Provider[] = [];
  for (const options of config.apns ?? []) build('apns', () => apns(options), built);
  if (config.fcm) build('fcm', () => fcm(config.fcm!), built);
  if (config.webpush) build('webpush', () => webPush(config.webpush!), built);
  if (config.hms) build('hms', () => hms(config.hms!), built);
  if (built.length === 0) {
    throw new CliError(
      'no provider is configured: give --config FILE, set the PUSHLINE_APNS_* / GOOGLE_APPLICATION_CREDENTIALS / PUSHLINE_VAPID_* / PUSHLINE_HMS_* variables, or try --emulator (see pushline send --help)',
      EXIT.config,
    );
  }
  return built;
}

/** The four providers, pointed at a running emulator. */
export function providersForEmulator(emulator: Emulator): Provider[] {
  return [
    apns(emulator.apns.providerOptions),
    fcm(emulator.fcm.providerOptions),
    webPush(emulator.webpush.providerOptions),
    hms(emulator.hms.providerOptions),
  ];
}

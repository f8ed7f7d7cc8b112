/**
 * One `PushClient` per app of the config, shared by `pushline worker` and `pushline serve`
 * (both must agree on the apps): each entry of `apps` gets a client with its own providers, and the top-level
 * `providers` section, when it configures any, is the app named {@link DEFAULT_APP}.
 * `client` (window, delivery, …) applies to every app's client.
 */
import { PushClient, type PushClientOptions } from '../client.js';
import {
  apnsProvidersOptions,
  fcmOptions,
  hmsConfig,
  type PushlineConfig,
  webPushOptions,
} from '../config/index.js';
import { PushError } from '../errors.js';
import type { Provider } from '../provider.js';
import { apns } from '../providers/apns/index.js';
import { fcm } from '../providers/fcm/index.js';
import { hms } from '../providers/hms/index.js';
import { webPush } from '../providers/webpush/index.js';

/** The app a send names when it names none, served by the config's top-level `providers`. */
export const DEFAULT_APP = 'default';

export interface AppClients {
  /** The app's client, or undefined for an app the config does not have. */
  get(app: string): PushClient | undefined;
  /** The configured apps' names. */
  readonly names: readonly string[];
  /** Every app's client, by name (what `LocalDispatcher` takes). */
  readonly clients: ReadonlyMap<string, PushClient>;
  /** The providers of an app's client (what it can send to), empty for an unknown app. */
  providers(app: string): readonly Provider[];
  /** Closes every client (in-flight requests finish). */
  close(): Promise<void>;
}

type ProviderSections = PushlineConfig['providers'];

function providersOf(sections: ProviderSections, where: string): Provider[] {
  const built: Provider[] = [];
  const build = (name: string, make: () => Provider) => {
    try {
      built.push(make());
    } catch (error) {
      for (const provider of built) void provider.destroy?.();
      if (error instanceof PushError) {
        throw new PushError('config', `${where}.${name}: ${error.message}`, { cause: error });
      }
      throw error;
    }
  };
  // One apns() per app of the key (`apns.apps`): they share one pool and one provider token.
  for (const options of sections.apns ? apnsProvidersOptions(sections.apns) : [])
    build('apns', () => apns(options));
  if (sections.fcm) build('fcm', () => fcm(fcmOptions(sections.fcm!)));
  if (sections.webpush) build('webpush', () => webPush(webPushOptions(sections.webpush!)));
  if (sections.hms) build('hms', () => hms(hmsConfig(sections.hms!)));
  return built;
}

/**
 * Builds every app's client. Throws a `config` PushError naming the section when a provider
 * refuses its options, or when no app has any provider.
 */
export function appClients(config: PushlineConfig, overrides: Partial<PushClientOptions> = {}): AppClients {
  const clients = new Map<string, PushClient>();
  const built = new Map<string, Provider[]>();
  const options: Omit<PushClientOptions, 'providers'> = { ...config.client, ...overrides };
  for (const key of Object.keys(options) as (keyof typeof options)[]) {
    if (options[key] === undefined) delete options[key];
  }
  try {
    for (const [name, sections] of Object.entries(config.apps ?? {})) {
      const providers = providersOf(sections, `apps.${name}`);
      if (providers.length > 0) {
        clients.set(name, new PushClient({ ...options, providers }));
        built.set(name, providers);
      }
    }
    if (!clients.has(DEFAULT_APP)) {
      const providers = providersOf(config.providers, 'providers');
      if (providers.length > 0) {
        clients.set(DEFAULT_APP, new PushClient({ ...options, providers }));
        built.set(DEFAULT_APP, providers);
      }
    }
  } catch (error) {
    for (const client of clients.values()) void client.destroy().catch(() => undefined);
    throw error;
  }
  if (clients.size === 0) {
    throw new PushError(
      'config',
      'no app has a provider: configure apps.<name>.apns/fcm/webpush/hms or the top-level providers section',
    );
  }
  return {
    get: (app) => clients.get(app),
    names: [...clients.keys()],
    clients,
    providers: (app) => built.get(app) ?? [],
    async close() {
      await Promise.all([...clients.values()].map((client) => client.close()));
    },
  };
}

/**
 * Which provider sends to which device. Strict on purpose: a token sent through the wrong
 * app's credentials comes back "invalid" and would be deleted, so there is no guessing.
 *  - a device with `app` goes only to the provider registered for that platform and app;
 *  - a device without `app` goes to the provider registered for its platform without `app`.
 * Providers' names are unique within a client: they are how feedback and summaries tell them apart.
 */
import type { Device, Platform } from '../device.js';
import { PLATFORMS } from '../device.js';
import { PushError } from '../errors.js';
import type { Provider } from '../provider.js';

const key = (platform: Platform, app: string | undefined) =>
  app === undefined ? platform : `${platform}\u0000${app}`;

/** A provider in a message: what it serves. */
const describe = (provider: Provider): string =>
  `one for ${provider.platforms.join('/')}${provider.app === undefined ? '' : ` app '${provider.app}'`}`;

export class Router {
  private readonly routes = new Map<string, Provider>();

  constructor(providers: readonly Provider[]) {
    if (!Array.isArray(providers) || providers.length === 0) {
      throw new PushError('config', 'PushClient needs at least one provider, e.g. providers: [apns({...})]');
    }
    const names = new Map<string, Provider>();
    for (const provider of providers) {
      if (!provider || typeof provider.prepare !== 'function' || !Array.isArray(provider.platforms)) {
        throw new PushError(
          'config',
          'PushClient: every entry of providers must be a provider such as apns({...})',
        );
      }
      // Feedback, summaries and metrics tell providers apart by name: two of one name would merge.
      const namesake = names.get(provider.name);
      if (namesake !== undefined && namesake !== provider) {
        throw new PushError(
          'config',
          `two providers are named '${provider.name}' (${describe(namesake)} and ${describe(provider)}); give each its own \`name\``,
        );
      }
      names.set(provider.name, provider);
      for (const platform of provider.platforms) {
        if (!PLATFORMS.includes(platform)) {
          throw new PushError('config', `provider ${provider.name}: unknown platform '${platform}'`);
        }
        const routeKey = key(platform, provider.app);
        const taken = this.routes.get(routeKey);
        if (taken) {
          const app = provider.app === undefined ? '' : ` and app '${provider.app}'`;
          throw new PushError(
            'config',
            `providers ${taken.name} and ${provider.name} both serve platform '${platform}'${app}; give each its own \`app\``,
          );
        }
        this.routes.set(routeKey, provider);
      }
    }
  }

  get providers(): Provider[] {
    return [...new Set(this.routes.values())];
  }

  /** The provider for a device, or the PushError explaining why there is none. */
  route(device: Device): Provider | PushError {
    if (device === null || typeof device !== 'object') {
      return new PushError(
        'invalid-device',
        `a device must be an object with platform and token, got ${typeof device}`,
      );
    }
    // A source that could not parse an input (a bad NDJSON line) hands in a placeholder saying why.
    if (typeof device.malformed === 'string') return new PushError('invalid-device', device.malformed);
    const platform = device.platform;
    if (typeof platform !== 'string' || !PLATFORMS.includes(platform)) {
      return new PushError(
        'invalid-device',
        `device platform must be one of ${PLATFORMS.join(', ')}, got ${JSON.stringify(platform)}`,
      );
    }
    const app = device.app;
    const provider = this.routes.get(key(platform, app));
    if (provider) return provider;
    const forApp = app === undefined ? '' : ` and app '${app}'`;
    return new PushError('no-provider', `no provider is registered for platform '${platform}'${forApp}`);
  }
}

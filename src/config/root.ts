/**
 * The whole config file, `pushline.json`: one declaration that `pushline send` and the server
 * both parse (a section one of them does not use is still validated, never refused), so one
 * file serves both. Another part of pushline adds a section by declaring it in a file of its
 * own under `src/config/` and naming it here, one line each:
 *
 *   // src/config/server.ts
 *   export const SERVER_SECTION = section({
 *     port: integer({ help: 'port to listen on', max: 65535, default: 8080, env: 'PUSHLINE_PORT' }),
 *     apiKeys: listOf(section({
 *       id: string({ help: 'name of the key, in logs', required: true }),
 *       hash: secret({ help: 'SHA-256 of the key', inline: 'hash', fromEnv: 'hashEnv', required: true }),
 *       permissions: strings({ help: 'what it may do', values: ['send', 'read'], required: true }),
 *     }, { help: 'one API key' }), { help: 'API keys' }),
 *   }, { help: 'pushline serve', presence: 'always' });
 *
 *   // here: CONFIG_SCHEMA = section({ providers, apps, client, server: SERVER_SECTION }, …)
 *   //       APP_SECTION  = section({ ...PROVIDER_SECTIONS, webhook: WEBHOOK_SECTION }, …)
 *
 * and gets parsing, variables, errors naming `server.apiKeys[1].permissions`, `--help` and
 * its output type (`PushlineConfig['server']`) from that declaration alone.
 */
import { PROVIDER_SECTIONS } from './providers.js';
import { REDIS_SECTION } from './redis.js';
import { integer, mapOf, oneOf, type Present, section } from './schema.js';
import { API_KEYS_MAP, DATABASES_MAP, SERVER_APP_FIELDS, SERVER_SECTION } from './server.js';

/** `providers`: the credentials `pushline send` uses; the environment variables apply here. */
export const PROVIDERS_SECTION = section(PROVIDER_SECTIONS, {
  help: 'the providers pushline send uses; a provider is used when its section or one of its variables is present',
  presence: 'always',
});

/**
 * One entry of `apps`: the same provider sections as `providers` (variables do not apply:
 * they cannot say which app they are for). Extend it with `extend(APP_SECTION, { … })`.
 */
export const APP_SECTION = section(
  { ...PROVIDER_SECTIONS, ...SERVER_APP_FIELDS },
  { help: "one app's providers, and where pushline serve delivers its feedback" },
);

/** `apps`: several apps' credentials, by name (used by the server; validated by every command). */
export const APPS_MAP = mapOf(APP_SECTION, {
  help: 'apps by name, each with its own providers (used by pushline serve)',
});

/** `client`: how sends run (the options of `PushClient`); command-line flags win over these. */
export const CLIENT_SECTION = section(
  {
    window: integer({ help: 'devices each provider lane holds at once (default 1000; --window)' }),
    maxWaitingRetries: integer({ help: 'devices each lane may hold waiting for a retry (default 10,000)' }),
    slowAnswerMs: integer({
      help: "a lane whose answers take this much longer than the fastest lane's is slow (default 500)",
      unit: 'ms',
    }),
    laneOverflow: oneOf(['fail', 'wait'], {
      help: "a full lane in trouble: fail its further devices at once ('fail', default) or hold reading ('wait')",
    }),
    delivery: oneOf(['at-least-once', 'at-most-once'], {
      help: 'whether a device whose answer was lost is sent again (default at-least-once; --delivery)',
    }),
  },
  { help: 'how sends run; command-line flags win', presence: 'always' },
);

/** The root of `pushline.json`. */
export const CONFIG_SCHEMA = section(
  {
    providers: PROVIDERS_SECTION,
    apps: APPS_MAP,
    client: CLIENT_SECTION,
    redis: REDIS_SECTION,
    server: SERVER_SECTION,
    apiKeys: API_KEYS_MAP,
    databases: DATABASES_MAP,
  },
  { help: 'pushline.json', presence: 'always' },
);

/** A parsed `pushline.json`. */
export type PushlineConfig = Present<typeof CONFIG_SCHEMA>;

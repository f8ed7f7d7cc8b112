/**
 * The one config schema of pushline (`pushline.json` + environment variables), used by the
 * command line, the server and the queue: declarations (`schema.ts`), the parser
 * (`parse.ts`), the help text (`help.ts`), the provider sections (`providers.ts`) and the
 * root (`root.ts`).
 */
export { ConfigError } from './errors.js';
export { type Origin, readNamedFile, refuseSecretPath } from './files.js';
export { configReference } from './help.js';
export { closest, type LoadOptions, loadConfig, type ParseContext, parseRoot } from './parse.js';
export {
  APNS_SECTION,
  type ApnsSection,
  apnsOptions,
  apnsProvidersOptions,
  FCM_SECTION,
  type FcmSection,
  fcmOptions,
  HMS_SECTION,
  type HmsConfig,
  type HmsSection,
  hmsConfig,
  PROVIDER_SECTIONS,
  WEBPUSH_SECTION,
  type WebPushSection,
  webPushOptions,
} from './providers.js';
export { CONCURRENCY_LIMIT_SECTION, RATE_LIMIT_SECTION, REDIS_SECTION } from './redis.js';
export {
  APP_SECTION,
  APPS_MAP,
  CLIENT_SECTION,
  CONFIG_SCHEMA,
  PROVIDERS_SECTION,
  type PushlineConfig,
} from './root.js';
export {
  boolean,
  extend,
  type Field,
  file,
  type Infer,
  integer,
  listOf,
  mapOf,
  oneOf,
  type Present,
  Secret,
  type Section,
  secret,
  section,
  string,
  strings,
} from './schema.js';

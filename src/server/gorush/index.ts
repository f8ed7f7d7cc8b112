/** gorush's HTTP API for `pushline serve`: the routes plugin and what it needs. */
export type { GorushApp, GorushMappingSettings, MappedNotification, MappedSend } from './mapping.js';
export { mapGorushNotification, NO_DEFAULT_APP } from './mapping.js';
export { GORUSH_METRICS, type GorushMetric } from './metrics-names.js';
export {
  decodePushBody,
  type GorushPushNotification,
  type GorushPushRequest,
  pushBodySchema,
} from './request.js';
export { hideToken, type LogPushEntry } from './responses.js';
export {
  type GorushDeps,
  type GorushDirectory,
  type GorushSettings,
  gorushDirectory,
  gorushRoutes,
} from './routes.js';
export { type GorushAppStats, GorushStats, goStats, stopGoStats } from './stats.js';

/**
 * The request rules of APNs ("Sending notification requests to APNs"), as pure functions the
 * emulator's handler calls in order: path, repeated headers, apns-* headers against the topics
 * the credential may push to, device token, then the payload.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { ApnsReason } from './responses.js';

/** The `apns-push-type` values Apple documents. */
export const PUSH_TYPES = [
  'alert',
  'background',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'liveactivity',
  'location',
  'pushtotalk',
  'widgets',
  'controls',
] as const;
export type PushType = (typeof PUSH_TYPES)[number];

/**
 * The suffix Apple requires on `apns-topic` for each push type ("the apns-topic header field
 * must use your app's bundle ID with .voip appended to the end", etc.). `mdm` uses the topic
 * from the MDM certificate's UID, so it has no suffix rule here.
 */
export const TOPIC_SUFFIX: Record<PushType, string> = {
  alert: '',
  background: '',
  voip: '.voip',
  complication: '.complication',
  fileprovider: '.pushkit.fileprovider',
  mdm: '',
  liveactivity: '.push-type.liveactivity',
  location: '.location-query',
  pushtotalk: '.voip-ptt',
  widgets: '.push-type.widgets',
  controls: '.push-type.controls',
};

/** Payload limit in bytes: 4096, or 5120 for VoIP. */
export function payloadLimit(pushType: PushType): number {
  return pushType === 'voip' ? 5120 : 4096;
}

const DEVICE_PATH = '/3/device/';
const UUID_LOWER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Every token Apple has issued is 32 bytes; Apple warns the length may grow (up to 100 bytes).
const DEVICE_TOKEN = /^(?:[0-9a-fA-F]{2}){32,100}$/;

export type Rejection = { reason: ApnsReason };

/** `:path` → device token, or why not. An empty token is MissingDeviceToken; anything else off /3/device/ is BadPath. */
export function parsePath(path: string | undefined): { token: string } | Rejection {
  if (path === undefined || !path.startsWith(DEVICE_PATH)) return { reason: 'BadPath' };
  const token = path.slice(DEVICE_PATH.length);
  if (token === '') return { reason: 'MissingDeviceToken' };
  if (token.includes('/') || token.includes('?')) return { reason: 'BadPath' };
  return { token };
}

export function isWellFormedDeviceToken(token: string): boolean {
  return DEVICE_TOKEN.test(token);
}

/**
 * APNs answers DuplicateHeaders when a header is repeated. Node folds repeats into one value,
 * so the raw list (name, value, name, value, ...) is where repeats are visible.
 */
export function hasDuplicateHeaders(rawHeaders: readonly string[] | undefined): boolean {
  if (rawHeaders === undefined) return false;
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (seen.has(name)) return true;
    seen.add(name);
  }
  return false;
}

export interface HeaderInput {
  apnsId: string | undefined;
  pushType: string | undefined;
  topic: string | undefined;
  priority: string | undefined;
  expiration: string | undefined;
  collapseId: string | undefined;
  /** Bundle ids the credential may push to (the team's apps, a topic-specific key's topics, or a certificate's UID). */
  allowedBundles: readonly string[];
  /** Which reason a topic outside `allowedBundles` earns: token auth and certificate auth differ. */
  foreignTopicReason: ApnsReason;
}

export interface AcceptedHeaders {
  apnsId: string | undefined;
  pushType: PushType;
  topic: string;
  bundleId: string;
  priority: 1 | 5 | 10;
  expiration: number | undefined;
  collapseId: string | undefined;
}

/** Checks the apns-* headers. A missing push type is inferred from the topic, as APNs does. */
export function checkHeaders(input: HeaderInput): AcceptedHeaders | Rejection {
  if (input.apnsId !== undefined && !UUID_LOWER.test(input.apnsId)) return { reason: 'BadMessageId' };

  let pushType: PushType | undefined;
  if (input.pushType !== undefined) {
    if (!(PUSH_TYPES as readonly string[]).includes(input.pushType)) return { reason: 'InvalidPushType' };
    pushType = input.pushType as PushType;
  }

  if (input.topic === undefined || input.topic === '') return { reason: 'MissingTopic' };
  const resolved = resolveTopic(input.topic, pushType, input.allowedBundles);
  if ('reason' in resolved) {
    return { reason: resolved.reason === 'foreign' ? input.foreignTopicReason : resolved.reason };
  }
  pushType = resolved.pushType;

  let priority: 1 | 5 | 10 = 10; // "If you omit this header, APNs sets the notification priority to 10."
  if (input.priority !== undefined) {
    if (input.priority !== '1' && input.priority !== '5' && input.priority !== '10')
      return { reason: 'BadPriority' };
    priority = Number(input.priority) as 1 | 5 | 10;
  }
  // background: "Always use priority 5. Using priority 10 is an error."
  if (pushType === 'background' && priority !== 5) return { reason: 'BadPriority' };

  let expiration: number | undefined;
  if (input.expiration !== undefined) {
    if (!/^\d{1,12}$/.test(input.expiration)) return { reason: 'BadExpirationDate' };
    expiration = Number(input.expiration);
  }

  if (input.collapseId !== undefined && Buffer.byteLength(input.collapseId, 'utf8') > 64) {
    return { reason: 'BadCollapseId' };
  }

  return {
    apnsId: input.apnsId,
    pushType,
    topic: input.topic,
    bundleId: resolved.bundleId,
    priority,
    expiration,
    collapseId: input.collapseId,
  };
}

type TopicResolution = { pushType: PushType; bundleId: string } | { reason: 'BadTopic' | 'foreign' };

function resolveTopic(
  topic: string,
  pushType: PushType | undefined,
  bundles: readonly string[],
): TopicResolution {
  if (pushType === 'mdm') {
    return bundles.includes(topic) ? { pushType, bundleId: topic } : { reason: 'foreign' };
  }
  for (const bundleId of bundles) {
    if (pushType !== undefined && topic === bundleId + TOPIC_SUFFIX[pushType]) return { pushType, bundleId };
  }
  // The topic names one of our apps but with another push type's suffix (or none): the
  // topic is wrong for this push type.
  for (const bundleId of bundles) {
    for (const type of PUSH_TYPES) {
      if (type === 'mdm' || topic !== bundleId + TOPIC_SUFFIX[type]) continue;
      if (pushType === undefined) return { pushType: type, bundleId };
      return { reason: 'BadTopic' };
    }
  }
  return { reason: 'foreign' };
}

export interface PayloadRules {
  pushType: PushType;
  /**
   * Also require what Apple's documentation asks of the payload for the push type, which APNs
   * itself does not report (it drops such pushes on the device side): `aps` for alert,
   * background and liveactivity pushes; `content-available: 1` and no alert/badge/sound for
   * background; one of alert/badge/sound for alert; `event` and `timestamp` for liveactivity.
   */
  strict: boolean;
}

/** Checks the body: not empty, within the limit, a JSON object whose `aps` (if any) is an object. */
export function checkPayload(
  body: Buffer,
  rules: PayloadRules,
): { payload: Record<string, unknown> } | Rejection {
  if (body.length === 0) return { reason: 'PayloadEmpty' };
  if (body.length > payloadLimit(rules.pushType)) return { reason: 'PayloadTooLarge' };
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    // Apple documents no reason for a body that is not JSON; it has no usable payload.
    return { reason: 'PayloadEmpty' };
  }
  if (!isObject(payload)) return { reason: 'PayloadEmpty' };
  const aps = payload['aps'];
  if (aps !== undefined && !isObject(aps)) return { reason: 'PayloadEmpty' };
  if (rules.strict) {
    const reason = strictPayloadReason(rules.pushType, aps);
    if (reason) return { reason };
  }
  return { payload };
}

function strictPayloadReason(
  pushType: PushType,
  aps: Record<string, unknown> | undefined,
): ApnsReason | undefined {
  const needsAps = pushType === 'alert' || pushType === 'background' || pushType === 'liveactivity';
  if (!needsAps) return undefined;
  if (aps === undefined) return 'PayloadEmpty';
  const interacts = aps['alert'] !== undefined || aps['badge'] !== undefined || aps['sound'] !== undefined;
  switch (pushType) {
    case 'background':
      return aps['content-available'] === 1 && !interacts ? undefined : 'InvalidPushType';
    case 'alert':
      return interacts ? undefined : 'InvalidPushType';
    case 'liveactivity':
      return typeof aps['event'] === 'string' && typeof aps['timestamp'] === 'number'
        ? undefined
        : 'InvalidPushType';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every request header except pseudo-headers and `authorization`, for inspection (a token is never kept). */
export function plainHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || name === 'authorization' || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

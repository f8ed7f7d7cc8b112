/**
 * The JSON body of an APNs push: the `aps` dictionary built from the common notification
 * plus the `apns` override block, with the caller's custom data beside `aps` (never inside).
 * Built and encoded once per `prepare`; every device of the send gets the same bytes.
 */
import type { Notification } from '../../notification.js';
import { apnsError, badRequest } from './errors.js';
import type {
  ApnsAlert,
  ApnsInterruptionLevel,
  ApnsLiveActivity,
  ApnsPushType,
  ApnsSound,
} from './overrides.js';

/** Apple's payload limits in bytes: 4096, or 5120 for VoIP pushes. */
export const MAX_PAYLOAD_BYTES = 4096;
export const MAX_VOIP_PAYLOAD_BYTES = 5120;

const INTERRUPTION_LEVELS: readonly ApnsInterruptionLevel[] = [
  'passive',
  'active',
  'time-sensitive',
  'critical',
];

export type ApnsPayload = { aps: Record<string, unknown> } & Record<string, unknown>;

/** Builds the payload object. Throws a `bad-request` PushError for contradictions and bad values. */
export function buildPayload(notification: Notification, pushType: ApnsPushType, nowMs: number): ApnsPayload {
  const o = notification.apns ?? {};
  const aps: Record<string, unknown> = {};

  const alert = buildAlert(notification);
  const badge = o.badge ?? notification.badge;
  const sound = o.sound ?? notification.sound;
  const silent = notification.silent === true || pushType === 'background';

  if (silent) {
    const shown = [
      alert && 'an alert (title/subtitle/body/localization)',
      badge !== undefined && 'a badge',
      sound !== undefined && 'a sound',
    ].filter(Boolean);
    if (shown.length > 0) {
      throw badRequest(
        `a silent (background) push shows nothing, but this one has ${shown.join(', ')}: drop silent/pushType 'background' or remove them`,
      );
    }
    if (pushType === 'alert' || pushType === 'liveactivity') {
      throw badRequest(
        `silent contradicts apns.pushType '${pushType}': a silent push is a 'background' push`,
      );
    }
  }

  if (alert) aps.alert = alert;
  if (badge !== undefined) {
    if (!Number.isInteger(badge) || badge < 0)
      throw badRequest(`badge must be an integer ≥ 0; got ${String(badge)}`);
    aps.badge = badge;
  }
  if (sound !== undefined) aps.sound = encodeSound(sound);
  setString(aps, 'thread-id', o.threadId ?? notification.threadId, 'threadId');
  setString(aps, 'category', o.category ?? notification.category, 'category');
  if (silent || o.contentAvailable === true) aps['content-available'] = 1;
  if ((o.mutableContent ?? notification.mutableContent) === true) aps['mutable-content'] = 1;
  if (o.interruptionLevel !== undefined) {
    if (!INTERRUPTION_LEVELS.includes(o.interruptionLevel)) {
      throw badRequest(
        `apns.interruptionLevel must be one of ${INTERRUPTION_LEVELS.join(', ')}; got ${String(o.interruptionLevel)}`,
      );
    }
    aps['interruption-level'] = o.interruptionLevel;
  }
  if (o.relevanceScore !== undefined) {
    if (typeof o.relevanceScore !== 'number' || !Number.isFinite(o.relevanceScore)) {
      throw badRequest(`apns.relevanceScore must be a finite number; got ${String(o.relevanceScore)}`);
    }
    aps['relevance-score'] = o.relevanceScore;
  }
  setString(aps, 'target-content-id', o.targetContentId, 'apns.targetContentId');
  setString(aps, 'filter-criteria', o.filterCriteria, 'apns.filterCriteria');

  if (o.liveActivity !== undefined) {
    if (pushType !== 'liveactivity') {
      throw badRequest(`apns.liveActivity needs push type 'liveactivity'; got apns.pushType '${pushType}'`);
    }
    Object.assign(aps, encodeLiveActivity(o.liveActivity, nowMs));
  } else if (pushType === 'liveactivity') {
    throw badRequest("a 'liveactivity' push needs apns.liveActivity (event, content state, …)");
  }

  if (o.aps !== undefined) {
    if (!isPlainObject(o.aps)) throw badRequest('apns.aps must be a plain object of extra aps keys');
    Object.assign(aps, o.aps);
  }

  const payload: ApnsPayload = { aps };
  if (notification.data !== undefined) {
    if (!isPlainObject(notification.data)) throw badRequest('data must be a plain object');
    for (const [key, value] of Object.entries(notification.data)) {
      // Apple reserves `aps`; custom keys go beside it, so a data key named `aps` would replace it.
      if (key === 'aps')
        throw badRequest("data cannot have a key named 'aps': APNs reserves it for the aps dictionary");
      payload[key] = value;
    }
  }
  return payload;
}

/** The size limit for a push type. */
export function payloadLimit(pushType: ApnsPushType): number {
  return pushType === 'voip' ? MAX_VOIP_PAYLOAD_BYTES : MAX_PAYLOAD_BYTES;
}

/** Encodes the payload once and refuses it when over Apple's limit (Apple would answer 413 `PayloadTooLarge`). */
export function encodePayload(payload: ApnsPayload, pushType: ApnsPushType): Buffer {
  let json: string;
  try {
    json = JSON.stringify(payload);
  } catch (cause) {
    throw apnsError('bad-request', `the payload cannot be encoded as JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  const body = Buffer.from(json, 'utf8');
  const limit = payloadLimit(pushType);
  if (body.length > limit) {
    throw apnsError(
      'payload-too-large',
      `the payload is ${body.length} bytes; APNs allows at most ${limit} bytes for a '${pushType}' push${pushType === 'voip' ? '' : ' (5120 for voip)'}`,
      { reason: 'PayloadTooLarge' },
    );
  }
  return body;
}

function buildAlert(notification: Notification): Record<string, unknown> | undefined {
  const loc = notification.localization ?? {};
  const override: ApnsAlert =
    typeof notification.apns?.alert === 'string'
      ? { body: notification.apns.alert }
      : (notification.apns?.alert ?? {});
  // Apple's key names, in the order of Apple's documentation.
  const fields: Array<[string, unknown, string]> = [
    ['title', override.title ?? notification.title, 'title'],
    ['subtitle', override.subtitle ?? notification.subtitle, 'subtitle'],
    ['body', override.body ?? notification.body, 'body'],
    ['launch-image', override.launchImage, 'apns.alert.launchImage'],
    ['title-loc-key', override.titleLocKey ?? loc.titleKey, 'localization.titleKey'],
    ['title-loc-args', override.titleLocArgs ?? loc.titleArgs, 'localization.titleArgs'],
    ['subtitle-loc-key', override.subtitleLocKey ?? loc.subtitleKey, 'localization.subtitleKey'],
    ['subtitle-loc-args', override.subtitleLocArgs ?? loc.subtitleArgs, 'localization.subtitleArgs'],
    ['loc-key', override.locKey ?? loc.bodyKey, 'localization.bodyKey'],
    ['loc-args', override.locArgs ?? loc.bodyArgs, 'localization.bodyArgs'],
  ];
  const alert: Record<string, unknown> = {};
  for (const [key, value, name] of fields) {
    if (value === undefined) continue;
    if (key.endsWith('-args')) {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
        throw badRequest(`${name} must be an array of strings`);
      }
    } else if (typeof value !== 'string') {
      throw badRequest(`${name} must be a string; got ${typeof value}`);
    }
    alert[key] = value;
  }
  return Object.keys(alert).length > 0 ? alert : undefined;
}

function encodeSound(sound: string | ApnsSound): string | Record<string, unknown> {
  if (typeof sound === 'string') {
    if (sound === '') throw badRequest("sound must be a file name or 'default'");
    return sound;
  }
  if (!isPlainObject(sound) || typeof sound.name !== 'string' || sound.name === '') {
    throw badRequest('apns.sound must be a sound name or { name, critical?, volume? }');
  }
  const dict: Record<string, unknown> = {};
  if (sound.critical === true) dict.critical = 1;
  dict.name = sound.name;
  if (sound.volume !== undefined) {
    if (typeof sound.volume !== 'number' || !(sound.volume >= 0 && sound.volume <= 1)) {
      throw badRequest(`apns.sound.volume must be between 0 and 1; got ${String(sound.volume)}`);
    }
    dict.volume = sound.volume;
  }
  return dict;
}

function encodeLiveActivity(la: ApnsLiveActivity, nowMs: number): Record<string, unknown> {
  if (la.event !== 'start' && la.event !== 'update' && la.event !== 'end') {
    throw badRequest(`apns.liveActivity.event must be 'start', 'update' or 'end'; got ${String(la.event)}`);
  }
  const out: Record<string, unknown> = {
    timestamp: la.timestamp === undefined ? Math.floor(nowMs / 1000) : unixSeconds(la.timestamp, 'timestamp'),
    event: la.event,
  };
  if (la.contentState !== undefined) {
    if (!isPlainObject(la.contentState))
      throw badRequest('apns.liveActivity.contentState must be a plain object');
    out['content-state'] = la.contentState;
  } else if (la.event !== 'end') {
    throw badRequest(`a Live Activity '${la.event}' needs apns.liveActivity.contentState`);
  }
  if (la.staleDate !== undefined) out['stale-date'] = unixSeconds(la.staleDate, 'staleDate');
  if (la.dismissalDate !== undefined) {
    if (la.event !== 'end') throw badRequest("apns.liveActivity.dismissalDate is only for event 'end'");
    out['dismissal-date'] = unixSeconds(la.dismissalDate, 'dismissalDate');
  }
  if (la.event === 'start') {
    if (typeof la.attributesType !== 'string' || la.attributesType === '' || !isPlainObject(la.attributes)) {
      throw badRequest("a Live Activity 'start' needs apns.liveActivity.attributesType and attributes");
    }
    out['attributes-type'] = la.attributesType;
    out.attributes = la.attributes;
    if (la.inputPushToken === true) out['input-push-token'] = 1;
  } else if (
    la.attributesType !== undefined ||
    la.attributes !== undefined ||
    la.inputPushToken !== undefined
  ) {
    throw badRequest(
      "apns.liveActivity.attributesType, attributes and inputPushToken are only for event 'start'",
    );
  }
  return out;
}

function unixSeconds(value: Date | number, name: string): number {
  const seconds = value instanceof Date ? Math.floor(value.getTime() / 1000) : value;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw badRequest(`apns.liveActivity.${name} must be a Date or UNIX seconds; got ${String(value)}`);
  }
  return seconds;
}

function setString(target: Record<string, unknown>, key: string, value: unknown, name: string): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value === '') throw badRequest(`${name} must be a non-empty string`);
  target[key] = value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * One gorush `PushNotification` → the pushline sends that deliver what gorush would deliver.
 * Pure: no I/O, no clock (the caller passes none needed), the same input gives the same output.
 *
 * Each platform follows gorush's own builder (`notify/notification_apns.go`, `_fcm.go`,
 * `_hms.go`), rule for rule, so the provider receives the same payload. Where pushline's
 * notification model has a typed field with the same meaning, the typed field is used (so
 * pushline's checks apply); where gorush sends something the typed fields cannot say (an
 * alert with `action`, a sound dictionary without a name, Live Activity keys outside a Live
 * Activity), the exact keys go through the provider's raw escape hatch (`apns.aps`).
 *
 * What gorush would refuse in its worker (no token at all, contradicting targets) comes back
 * `rejected` with gorush's message; a platform gorush does not know, or one the app has no
 * provider for, comes back `ignored` and is not counted — gorush drops those silently.
 */
import type { Device, Platform } from '../../device.js';
import type { Notification } from '../../notification.js';
import type {
  ApnsAlert,
  ApnsInterruptionLevel,
  ApnsLiveActivity,
  ApnsOverrides,
  ApnsPushType,
} from '../../providers/apns/overrides.js';
import type {
  FcmAndroidConfig,
  FcmApnsConfig,
  FcmOverrides,
  FcmWebpushConfig,
} from '../../providers/fcm/overrides.js';
import type { GorushAlert, GorushPushNotification } from './request.js';

/** gorush's platform numbers (`core/core.go`). */
export const GORUSH_PLATFORMS = { 1: 'ios', 2: 'android', 3: 'huawei' } as const;
export type GorushPlatform = (typeof GORUSH_PLATFORMS)[keyof typeof GORUSH_PLATFORMS];

/** What the mapping needs to know about one app of the config. */
export interface GorushApp {
  name: string;
  /** Device platforms the app has a provider for (`ios` = APNs, `android` = FCM, `huawei` = HMS). */
  platforms: readonly Platform[];
  /** The APNs topics (bundle ids) its APNs provider sends for. */
  apnsTopics?: readonly string[];
  /** Its APNs environment: true production, false sandbox, undefined unknown (a custom endpoint). */
  apnsProduction?: boolean;
}

export interface GorushMappingSettings {
  apps: readonly GorushApp[];
  /**
   * The app a request goes to when nothing in it names one (the API key's default app, else
   * the config's only app). Undefined with several apps and no default: a notification that
   * needs it fails with {@link NO_DEFAULT_APP}.
   */
  defaultApp: string | undefined;
}

/** Why a notification that names no app cannot be sent on a server of several apps. */
export const NO_DEFAULT_APP =
  "no app to send to: this server has several apps and this API key has no default app (apiKeys.<id>.defaultApp); iOS requests can name theirs by 'topic'";

/** One pushline send made from a gorush notification. */
export interface MappedSend {
  app: string;
  notification: Notification;
  devices: Device[];
  /**
   * `tokens`: one device per token. `topic` / `condition`: an FCM or HMS topic message; its
   * one device stands for the topic (its token is the topic or condition, as gorush logs it).
   */
  target: 'tokens' | 'topic' | 'condition';
}

export type MappedNotification =
  /** Not sent and not counted (gorush drops it silently). */
  | { kind: 'ignored'; reason: string }
  /** To send. `counts` is this notification's share of the response's `counts`. */
  | { kind: 'send'; platform: GorushPlatform; counts: number; sends: MappedSend[] }
  /**
   * Counted but not sent: gorush accepts it with 200 and fails it in its worker. `targets` are
   * the tokens (and topic/condition) it named, each of which gets a failure log entry.
   */
  | { kind: 'rejected'; platform: GorushPlatform; counts: number; error: string; targets: string[] };

type Json = Record<string, unknown>;

const NO_TOKEN = 'please provide at least one device token';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Go's `omitempty` for strings: "" is absent. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Maps one notification. See the module comment. */
export function mapGorushNotification(
  n: GorushPushNotification,
  settings: GorushMappingSettings,
): MappedNotification {
  const platform = GORUSH_PLATFORMS[n.platform as keyof typeof GORUSH_PLATFORMS];
  if (platform === undefined) {
    return {
      kind: 'ignored',
      reason: `platform ${String(n.platform ?? 0)} is not 1 (iOS), 2 (Android) or 3 (Huawei)`,
    };
  }
  // gorush counts before its worker appends `to`: len(tokens) + 1 for a topic, on every platform.
  const tokens = n.tokens ?? [];
  const counts = tokens.length + (nonEmpty(n.topic) ? 1 : 0);
  switch (platform) {
    case 'ios':
      return mapIos(n, settings, counts);
    case 'android':
      return mapAndroid(n, settings, counts);
    case 'huawei':
      return mapHuawei(n, settings, counts);
  }
}

function appServing(
  settings: GorushMappingSettings,
  name: string | undefined,
  platform: Platform,
): GorushApp | undefined {
  const app = settings.apps.find((a) => a.name === name);
  return app?.platforms.includes(platform) ? app : undefined;
}

/**
 * The default app lacks the platform: gorush drops a notification of a disabled platform. No
 * default app at all is a configuration the request cannot fix: said per notification.
 */
function noApp(
  settings: GorushMappingSettings,
  platform: GorushPlatform,
  counts: number,
  targets: string[],
): MappedNotification {
  if (settings.defaultApp === undefined)
    return { kind: 'rejected', platform, counts, error: NO_DEFAULT_APP, targets };
  return ignoredPlatform(settings.defaultApp, platform);
}

function ignoredPlatform(app: string, platform: GorushPlatform): MappedNotification {
  return { kind: 'ignored', reason: `app '${app}' has no provider for ${platform} devices` };
}

// ---------------------------------------------------------------------------------------- iOS

/** The push type an `apns-topic` suffix implies (Apple: the topic of these pushes carries it). */
const SUFFIX_PUSH_TYPES: ReadonlyArray<[string, ApnsPushType]> = [
  ['.push-type.liveactivity', 'liveactivity'],
  ['.push-type.widgets', 'widgets'],
  ['.push-type.controls', 'controls'],
  ['.pushkit.fileprovider', 'fileprovider'],
  ['.complication', 'complication'],
  ['.location-query', 'location'],
  ['.voip-ptt', 'pushtotalk'],
  ['.voip', 'voip'],
];

function splitTopic(topic: string): { bundleId: string; pushType?: ApnsPushType } {
  for (const [suffix, pushType] of SUFFIX_PUSH_TYPES) {
    if (topic.endsWith(suffix)) return { bundleId: topic.slice(0, -suffix.length), pushType };
  }
  return { bundleId: topic };
}

const ENV_NAME = (production: boolean) => (production ? 'production' : 'development (sandbox)');

/**
 * `topic` selects the app whose APNs topic it is; `production` / `development` must agree
 * with that app's APNs environment. A token of one environment is `BadDeviceToken` in the
 * other, so sending to the wrong one would report live tokens as dead: such a notification is
 * refused with a message that says which app to add, never sent to the other environment.
 */
function selectIosApp(
  n: GorushPushNotification,
  settings: GorushMappingSettings,
): { app: GorushApp } | { ignored: MappedNotification } | { error: string } {
  const topic = nonEmpty(n.topic);
  const wanted = n.production === true ? true : n.development === true ? false : undefined;
  let candidates: GorushApp[];
  if (topic === undefined) {
    const app = appServing(settings, settings.defaultApp, 'ios');
    if (app === undefined) {
      if (settings.defaultApp === undefined) return { error: NO_DEFAULT_APP };
      return { ignored: ignoredPlatform(settings.defaultApp, 'ios') };
    }
    // Without a topic: the default app, or an app with the same bundle id in the other environment.
    const topics = app.apnsTopics ?? [];
    candidates = [
      app,
      ...settings.apps.filter(
        (a) =>
          a !== app && a.platforms.includes('ios') && (a.apnsTopics ?? []).some((t) => topics.includes(t)),
      ),
    ];
  } else {
    const { bundleId } = splitTopic(topic);
    candidates = settings.apps.filter(
      (a) => a.platforms.includes('ios') && (a.apnsTopics ?? []).some((t) => t === topic || t === bundleId),
    );
    if (candidates.length === 0) {
      return {
        error: `no app in the config has the APNs topic '${topic}': give it to an app (apps.<name>.apns.topic; one APNs key may serve several apps)`,
      };
    }
  }
  if (wanted !== undefined) {
    const matching =
      candidates.find((a) => a.apnsProduction === wanted) ??
      candidates.find((a) => a.apnsProduction === undefined);
    if (matching === undefined) {
      const names = candidates.map((a) => `'${a.name}'`).join(', ');
      return {
        error: `the notification asks for the APNs ${ENV_NAME(wanted)} environment, but app ${names} sends to ${ENV_NAME(!wanted)}: add an app for that environment`,
      };
    }
    return { app: matching };
  }
  return { app: candidates.find((a) => a.name === settings.defaultApp) ?? candidates[0]! };
}

/** apns2's alert: a string when only `message` is set, a dictionary as soon as any alert field is. */
function iosAlert(n: GorushPushNotification): string | GorushAlert | undefined {
  const a = n.alert ?? {};
  const dict: GorushAlert = {};
  const title = nonEmpty(a.title) ?? nonEmpty(n.title);
  if (title !== undefined) dict.title = title;
  const body = nonEmpty(a.body) ?? (nonEmpty(n.title) !== undefined ? nonEmpty(n.message) : undefined);
  if (body !== undefined) dict.body = body;
  for (const key of [
    'subtitle',
    'title-loc-key',
    'loc-key',
    'action-loc-key',
    'launch-image',
    'action',
    'summary-arg',
  ] as const) {
    const value = nonEmpty(a[key]);
    if (value !== undefined) dict[key] = value;
  }
  for (const key of ['title-loc-args', 'loc-args'] as const) {
    const value = a[key];
    if (value !== undefined && value.length > 0) dict[key] = value;
  }
  if ((a['summary-arg-count'] ?? 0) > 0) dict['summary-arg-count'] = a['summary-arg-count']!;
  if (Object.keys(dict).length > 0) return dict;
  // `p.Alert(message)` only when the title is empty; a dictionary field replaces it.
  return nonEmpty(n.message);
}

/** The keys of gorush's alert that pushline's typed `apns.alert` cannot say. */
const UNTYPED_ALERT_KEYS = ['action', 'action-loc-key', 'summary-arg', 'summary-arg-count'] as const;

function typedAlert(alert: GorushAlert): ApnsAlert {
  const out: ApnsAlert = {};
  if (alert.title !== undefined) out.title = alert.title;
  if (alert.subtitle !== undefined) out.subtitle = alert.subtitle;
  if (alert.body !== undefined) out.body = alert.body;
  if (alert['launch-image'] !== undefined) out.launchImage = alert['launch-image'];
  if (alert['title-loc-key'] !== undefined) out.titleLocKey = alert['title-loc-key'];
  if (alert['title-loc-args'] !== undefined) out.titleLocArgs = alert['title-loc-args'];
  if (alert['loc-key'] !== undefined) out.locKey = alert['loc-key'];
  if (alert['loc-args'] !== undefined) out.locArgs = alert['loc-args'];
  return out;
}

/**
 * gorush's sound: a string as it is; an object decoded into `{critical int, name, volume}`;
 * then the top-level `name` / `volume` make it apns2's critical-sound dictionary, which starts
 * from `{critical: 1, name: "default", volume: 1}` (replacing an object given in `sound`).
 * Zero values are left out (`omitempty`).
 */
function iosSound(n: GorushPushNotification): string | Json | undefined {
  let sound: string | { critical: number; name: string; volume: number } | undefined;
  if (typeof n.sound === 'string') sound = n.sound;
  else if (isObject(n.sound)) {
    const s = n.sound;
    sound = {
      critical: Number.isInteger(s['critical']) ? (s['critical'] as number) : 0,
      name: typeof s['name'] === 'string' ? s['name'] : '',
      volume: typeof s['volume'] === 'number' ? s['volume'] : 0,
    };
  }
  const name = nonEmpty(n.name);
  const volume = (n.volume ?? 0) > 0 ? n.volume : undefined;
  if (name !== undefined || volume !== undefined) {
    sound = { critical: 1, name: name ?? 'default', volume: volume ?? 1 };
  }
  if (sound === undefined || typeof sound === 'string') return sound;
  const dict: Json = {};
  if (sound.critical !== 0) dict['critical'] = sound.critical;
  if (sound.name !== '') dict['name'] = sound.name;
  if (sound.volume !== 0) dict['volume'] = sound.volume;
  return dict;
}

const INTERRUPTION_LEVELS: readonly string[] = ['passive', 'active', 'time-sensitive', 'critical'];

function mapIos(
  n: GorushPushNotification,
  settings: GorushMappingSettings,
  counts: number,
): MappedNotification {
  const tokens = n.tokens ?? [];
  const topic = nonEmpty(n.topic);
  const targets = topic === undefined ? tokens : [...tokens, topic];
  const selected = selectIosApp(n, settings);
  if ('ignored' in selected) return selected.ignored;
  if ('error' in selected)
    return { kind: 'rejected', platform: 'ios', counts, error: selected.error, targets };
  // gorush's CheckMessage, iOS branch.
  if (tokens.length === 0) return { kind: 'rejected', platform: 'ios', counts, error: NO_TOKEN, targets };
  if (tokens.length === 1 && tokens[0] === '') {
    return { kind: 'rejected', platform: 'ios', counts, error: 'the device token cannot be empty', targets };
  }
  return {
    kind: 'send',
    platform: 'ios',
    counts,
    sends: [
      {
        app: selected.app.name,
        notification: iosNotification(n),
        devices: tokens.map((token) => ({ platform: 'ios', token })),
        target: 'tokens',
      },
    ],
  };
}

/** gorush's `GetIOSNotification`, in pushline's model. */
export function iosNotification(n: GorushPushNotification): Notification {
  const notification: Notification = {};
  const apns: ApnsOverrides = {};
  const aps: Json = {};

  const alert = iosAlert(n);
  if (typeof alert === 'string') aps['alert'] = alert;
  else if (alert !== undefined) {
    if (UNTYPED_ALERT_KEYS.some((k) => alert[k] !== undefined)) aps['alert'] = alert;
    else apns.alert = typedAlert(alert);
  }

  if (n.badge !== undefined && n.badge >= 0) apns.badge = n.badge;
  if (n.mutable_content === true) apns.mutableContent = true;

  const sound = iosSound(n);
  if (typeof sound === 'string') {
    // pushline refuses an empty sound name; gorush would send `"sound":""`, which plays nothing.
    if (sound !== '') apns.sound = sound;
  } else if (sound !== undefined) {
    const { critical, name, volume } = sound;
    const typed =
      typeof name === 'string' &&
      (critical === undefined || critical === 1) &&
      (volume === undefined || (typeof volume === 'number' && volume >= 0 && volume <= 1));
    if (typed) {
      apns.sound = {
        name,
        ...(critical === 1 ? { critical: true } : {}),
        ...(volume !== undefined ? { volume } : {}),
      };
    } else {
      aps['sound'] = sound;
    }
  }

  if (n.content_available === true) apns.contentAvailable = true;
  if (n['url-args'] !== undefined && n['url-args'].length > 0) aps['url-args'] = n['url-args'];
  const threadId = nonEmpty(n['thread-id']);
  if (threadId !== undefined) apns.threadId = threadId;
  if (n.data !== undefined && Object.keys(n.data).length > 0) notification.data = n.data;

  const level = nonEmpty(n.interruption_level);
  if (level !== undefined) {
    if (INTERRUPTION_LEVELS.includes(level)) apns.interruptionLevel = level as ApnsInterruptionLevel;
    else aps['interruption-level'] = level;
  }
  const category = nonEmpty(n.category);
  if (category !== undefined) apns.category = category;

  // Headers.
  if (n.priority === 'normal') apns.priority = 5;
  else if (n.priority === 'high') apns.priority = 10;
  if (n.expiration !== undefined) {
    // apns2 sends `apns-expiration: <n>`; 0 (or less) means "now or never", which is `ttl: 0`.
    if (n.expiration <= 0) notification.ttl = 0;
    else notification.expiresAt = new Date(n.expiration * 1000);
  }
  const collapseId = nonEmpty(n.collapse_id);
  if (collapseId !== undefined) apns.collapseId = collapseId;
  const pushType = nonEmpty(n.push_type);
  const topic = nonEmpty(n.topic);
  // gorush sends `push_type` verbatim (an unknown one fails at Apple; here it fails pushline's check).
  if (pushType !== undefined) apns.pushType = pushType as ApnsPushType;
  else if (topic !== undefined) {
    // apns2 would say `alert` for a topic such as `….voip`, which Apple refuses; the suffix says the type.
    const implied = splitTopic(topic).pushType;
    if (implied !== undefined) apns.pushType = implied;
  }

  liveActivity(n, apns, aps, pushType);
  if (n['relevance-score'] !== undefined) apns.relevanceScore = n['relevance-score'];

  if (Object.keys(aps).length > 0) apns.aps = aps;
  if (Object.keys(apns).length > 0) notification.apns = apns;
  return notification;
}

/**
 * Live Activity keys: typed (`apns.liveActivity`, checked by pushline) when they form one —
 * an `event` of start/update/end on a `liveactivity` push — else the exact keys gorush sends.
 */
function liveActivity(
  n: GorushPushNotification,
  apns: ApnsOverrides,
  aps: Json,
  pushType: string | undefined,
): void {
  const raw: Json = {};
  const contentState = n['content-state'];
  if (contentState !== undefined && Object.keys(contentState).length > 0) raw['content-state'] = contentState;
  if ((n['stale-date'] ?? 0) > 0) raw['stale-date'] = n['stale-date'];
  if ((n['dismissal-date'] ?? 0) > 0) raw['dismissal-date'] = n['dismissal-date'];
  const event = nonEmpty(n.event);
  if (event !== undefined) raw['event'] = event;
  if ((n.timestamp ?? 0) > 0) raw['timestamp'] = n.timestamp;
  const attributesType = nonEmpty(n['attributes-type']);
  if (attributesType !== undefined) raw['attributes-type'] = attributesType;
  const attributes = n.attributes;
  if (attributes !== undefined && Object.keys(attributes).length > 0) raw['attributes'] = attributes;
  if (Object.keys(raw).length === 0) return;

  const isEvent = event === 'start' || event === 'update' || event === 'end';
  const isLiveActivityPush = pushType === undefined || pushType === 'liveactivity';
  if (!isEvent || !isLiveActivityPush) {
    Object.assign(aps, raw);
    return;
  }
  const la: ApnsLiveActivity = { event };
  if (raw['timestamp'] !== undefined) la.timestamp = raw['timestamp'] as number;
  if (raw['content-state'] !== undefined) la.contentState = raw['content-state'] as Json;
  if (raw['stale-date'] !== undefined) la.staleDate = raw['stale-date'] as number;
  // pushline allows these only where Apple reads them; elsewhere they go as gorush sends them.
  if (raw['dismissal-date'] !== undefined) {
    if (event === 'end') la.dismissalDate = raw['dismissal-date'] as number;
    else aps['dismissal-date'] = raw['dismissal-date'];
  }
  if (event === 'start') {
    if (attributesType !== undefined) la.attributesType = attributesType;
    if (raw['attributes'] !== undefined) la.attributes = raw['attributes'] as Json;
  } else {
    if (attributesType !== undefined) aps['attributes-type'] = attributesType;
    if (raw['attributes'] !== undefined) aps['attributes'] = raw['attributes'];
  }
  apns.liveActivity = la;
}

// ------------------------------------------------------------------------------------ Android

/** firebase-admin-go's `AndroidNotification` JSON names: what survives gorush's decoding. */
const FCM_ANDROID_NOTIFICATION_KEYS = new Set([
  'title',
  'body',
  'icon',
  'color',
  'sound',
  'tag',
  'click_action',
  'body_loc_key',
  'body_loc_args',
  'title_loc_key',
  'title_loc_args',
  'channel_id',
  'image',
  'ticker',
  'sticky',
  'event_time',
  'local_only',
  'notification_priority',
  'vibrate_timings',
  'default_vibrate_timings',
  'default_sound',
  'light_settings',
  'default_light_settings',
  'visibility',
  'notification_count',
  'proxy',
]);

function pick(obj: Json, keys: ReadonlySet<string> | readonly string[]): Json {
  const allowed = keys instanceof Set ? keys : new Set(keys);
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (allowed.has(k) && v !== null) out[k] = v;
  return out;
}

/** Go decodes a null value of a `map[string]string` as "". */
function stringMap(obj: Json): Record<string, string> {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, typeof v === 'string' ? v : '']));
}

/** `android` as firebase-admin-go decodes it (unknown keys dropped) and FCM v1 wants it. */
function fcmAndroid(android: Json): Json {
  const out = pick(android, [
    'collapse_key',
    'priority',
    'ttl',
    'restricted_package_name',
    'data',
    'notification',
    'fcm_options',
    'direct_boot_ok',
    'bandwidth_constrained_ok',
    'restricted_satellite_ok',
  ]);
  if (typeof out['ttl'] === 'string') out['ttl'] = `${out['ttl'].replace(/s$/, '')}s`;
  if (isObject(out['data'])) out['data'] = stringMap(out['data']);
  if (isObject(out['notification']))
    out['notification'] = pick(out['notification'], FCM_ANDROID_NOTIFICATION_KEYS);
  if (isObject(out['fcm_options'])) out['fcm_options'] = pick(out['fcm_options'], ['analytics_label']);
  return out;
}

/** `apns` as firebase-admin-go decodes it: `payload` and `aps` keep every key. */
function fcmApns(apns: Json): Json {
  const out = pick(apns, ['headers', 'payload', 'fcm_options', 'live_activity_token']);
  if (isObject(out['headers'])) out['headers'] = stringMap(out['headers']);
  if (isObject(out['fcm_options']))
    out['fcm_options'] = pick(out['fcm_options'], ['analytics_label', 'image']);
  return out;
}

/** `webpush` as firebase-admin-go decodes it: `notification` keeps every key. */
function fcmWebpush(webpush: Json): Json {
  const out = pick(webpush, ['headers', 'data', 'notification', 'fcm_options']);
  if (isObject(out['headers'])) out['headers'] = stringMap(out['headers']);
  if (isObject(out['data'])) out['data'] = stringMap(out['data']);
  if (isObject(out['fcm_options'])) out['fcm_options'] = pick(out['fcm_options'], ['link']);
  return out;
}

/**
 * The targets of an Android or Huawei notification: its tokens (gorush's CheckMessage appends
 * `to` to them, after counting), its topic and its condition, and all of them in that order
 * for log entries.
 */
function targetsOf(n: GorushPushNotification): {
  tokens: string[];
  topic: string | undefined;
  condition: string | undefined;
  targets: string[];
} {
  const to = nonEmpty(n.to);
  const tokens = [...(n.tokens ?? []), ...(to !== undefined ? [to] : [])];
  const topic = nonEmpty(n.topic);
  const condition = nonEmpty(n.condition);
  const targets = [
    ...tokens,
    ...(topic !== undefined ? [topic] : []),
    ...(condition !== undefined ? [condition] : []),
  ];
  return { tokens, topic, condition, targets };
}

function mapAndroid(
  n: GorushPushNotification,
  settings: GorushMappingSettings,
  counts: number,
): MappedNotification {
  const { tokens, topic, condition, targets } = targetsOf(n);
  const app = appServing(settings, settings.defaultApp, 'android');
  if (app === undefined) return noApp(settings, 'android', counts, targets);
  if (tokens.length === 0 && topic === undefined && condition === undefined) {
    return { kind: 'rejected', platform: 'android', counts, error: NO_TOKEN, targets };
  }
  const built = androidNotification(n);
  if (typeof built === 'string') {
    return {
      kind: 'rejected',
      platform: 'android',
      counts,
      error: `fcm service send message error: ${built}`,
      targets,
    };
  }
  if (topic !== undefined && condition !== undefined) {
    // Both on one message: firebase-admin-go refuses the whole batch, tokens included.
    return {
      kind: 'rejected',
      platform: 'android',
      counts,
      error: 'fcm service send message error: exactly one of token, topic or condition must be specified',
      targets,
    };
  }
  const sends: MappedSend[] = [];
  // gorush sends the topic (or condition) message and one message per token in one batch.
  if (topic !== undefined || condition !== undefined) {
    const fcm: FcmOverrides = { ...(built.fcm ?? {}) };
    if (topic !== undefined) fcm.topic = topic;
    else fcm.condition = condition;
    sends.push({
      app: app.name,
      notification: { ...built, fcm },
      devices: [{ platform: 'android', token: (topic ?? condition)! }],
      target: topic !== undefined ? 'topic' : 'condition',
    });
  }
  if (tokens.length > 0) {
    sends.push({
      app: app.name,
      notification: built,
      devices: tokens.map((token) => ({ platform: 'android', token })),
      target: 'tokens',
    });
  }
  return { kind: 'send', platform: 'android', counts, sends };
}

/**
 * gorush's `GetAndroidNotification`, in pushline's model: the common title/body/image make
 * FCM's `notification`; everything else is written into the `fcm` block as gorush builds it,
 * so pushline's FCM builder adds nothing of its own. Returns firebase-admin-go's error text
 * for a message it would refuse.
 */
export function androidNotification(n: GorushPushNotification): Notification | string {
  const notification: Notification = {};
  const fcm: FcmOverrides = {};

  // setupFCMNotification: top-level title/message/image over the `notification` object.
  const title = nonEmpty(n.title) ?? nonEmpty(n.notification?.title);
  const body = nonEmpty(n.message) ?? nonEmpty(n.notification?.body);
  const image = nonEmpty(n.image) ?? nonEmpty(n.notification?.image);
  if (title !== undefined) notification.title = title;
  if (body !== undefined) notification.body = body;
  if (image !== undefined) notification.image = image;
  const hasContent = nonEmpty(n.title) ?? nonEmpty(n.message) ?? nonEmpty(n.image);

  let apns: Json | undefined = n.apns !== undefined ? fcmApns(n.apns) : undefined;
  // Each of these REPLACES the caller's `apns` block in gorush.
  if (n.mutable_content === true && hasContent !== undefined) {
    apns = { payload: { aps: { 'mutable-content': 1 } } };
  }
  if (n.content_available === true) {
    apns = {
      headers: { 'apns-priority': '5' },
      payload: { aps: { 'content-available': 1, ...(n.data ?? {}) } },
    };
  }

  let android: Json | undefined = n.android !== undefined ? fcmAndroid(n.android) : undefined;
  // setupFCMSound: a string sound goes to the APNs payload, and to Android only without an `android` block.
  if (typeof n.sound === 'string' && n.sound !== '') {
    // Copies: the request's own objects stay untouched.
    const payload: Json = isObject(apns?.['payload']) ? { ...apns['payload'] } : {};
    const aps: Json = isObject(payload['aps']) ? { ...payload['aps'] } : {};
    // A critical-sound dictionary already in `aps.sound` wins over the string (the SDK encodes it first).
    if (!isObject(aps['sound'])) aps['sound'] = n.sound;
    apns = { ...(apns ?? {}), payload: { ...payload, aps } };
    if (android === undefined) android = { priority: n.priority ?? '', notification: { sound: n.sound } };
  }
  // setupFCMPriority.
  const priority = nonEmpty(n.priority);
  if (priority !== undefined) {
    if (android === undefined) android = { priority };
    else if (nonEmpty(android['priority'] as string | undefined) === undefined)
      android['priority'] = priority;
  }
  if (android !== undefined) {
    const p = android['priority'];
    if (p === '' || p === undefined) delete android['priority'];
    else if (typeof p === 'string' && (p.toLowerCase() === 'high' || p.toLowerCase() === 'normal')) {
      android['priority'] = p.toUpperCase();
    } else {
      return "priority must be 'normal' or 'high'";
    }
    fcm.android = android as FcmAndroidConfig;
  }
  if (apns !== undefined) fcm.apns = apns as FcmApnsConfig;
  if (n.webpush !== undefined) fcm.webpush = fcmWebpush(n.webpush) as FcmWebpushConfig;
  const label = n.fcm_options?.analytics_label;
  if (n.fcm_options !== undefined) fcm.fcm_options = label !== undefined ? { analytics_label: label } : {};
  if (n.data !== undefined && Object.keys(n.data).length > 0) notification.data = n.data;
  if (Object.keys(fcm).length > 0) notification.fcm = fcm;
  return notification;
}

// ------------------------------------------------------------------------------------- Huawei

/**
 * The `hms` override block as this mapping writes it, in Push Kit's own field names, the shape
 * of the HMS provider's `HmsOverrides` (`android` merged over what it builds, `notification`
 * one level deeper; `topic` / `condition` make a topic message). Typed loosely here so that
 * this layer does not depend on the HMS provider's types.
 */
export interface GorushHmsBlock {
  /**
   * `message.android`, as gorush builds it. gorush's `huawei_data` (a string, sent as it is)
   * is its `data`, which Push Kit uses in place of `message.data` on Android devices.
   */
  android: Json;
  topic?: string;
  condition?: string;
}

/** go-hms-push `GetDefaultAndroidNotification`: what gorush shows when only title/message/image are given. */
function defaultHmsNotification(): Json {
  return {
    default_sound: true,
    importance: 'NORMAL',
    click_action: { type: 1, action: 'Action' },
    visibility: 'PRIVATE',
    foreground_show: true,
    auto_cancel: true,
  };
}

function mapHuawei(
  n: GorushPushNotification,
  settings: GorushMappingSettings,
  counts: number,
): MappedNotification {
  const { tokens, topic, condition, targets } = targetsOf(n);
  const app = appServing(settings, settings.defaultApp, 'huawei');
  if (app === undefined) return noApp(settings, 'huawei', counts, targets);
  const kinds =
    (tokens.length > 0 ? 1 : 0) + (topic !== undefined ? 1 : 0) + (condition !== undefined ? 1 : 0);
  if (kinds === 0) return { kind: 'rejected', platform: 'huawei', counts, error: NO_TOKEN, targets };
  // go-hms-push checks the message before sending: one kind of target only.
  if (kinds > 1) {
    return {
      kind: 'rejected',
      platform: 'huawei',
      counts,
      error: 'token, topics or condition must be choice one',
      targets,
    };
  }
  const hms = huaweiBlock(n);
  const notification: Notification = {};
  let target: MappedSend['target'] = 'tokens';
  let devices: Device[] = tokens.map((token) => ({ platform: 'huawei', token }));
  if (topic !== undefined || condition !== undefined) {
    if (topic !== undefined) hms.topic = topic;
    else hms.condition = condition;
    target = topic !== undefined ? 'topic' : 'condition';
    devices = [{ platform: 'huawei', token: (topic ?? condition)! }];
  }
  (notification as { hms?: GorushHmsBlock }).hms = hms;
  return {
    kind: 'send',
    platform: 'huawei',
    counts,
    sends: [{ app: app.name, notification, devices, target }],
  };
}

/** gorush's `GetHuaweiNotification` (without the target), as the `hms` block. */
export function huaweiBlock(n: GorushPushNotification): GorushHmsBlock {
  // model.GetDefaultAndroid, then setHuaweiAndroidConfig.
  const android: Json = {
    urgency: n.priority === 'high' ? 'HIGH' : 'NORMAL',
    ttl: nonEmpty(n.huawei_ttl) ?? '86400s',
  };
  if ((n.huawei_collapse_key ?? 0) !== 0) android['collapse_key'] = n.huawei_collapse_key;
  const category = nonEmpty(n.category);
  if (category !== undefined) android['category'] = category;
  const biTag = nonEmpty(n.bi_tag);
  if (biTag !== undefined) android['bi_tag'] = biTag;
  if ((n.fast_app_target ?? 0) !== 0) android['fast_app_target'] = n.fast_app_target;

  let notification: Json | undefined;
  if (n.huawei_notification !== undefined) {
    notification = { ...n.huawei_notification };
    if (notification['click_action'] === undefined || notification['click_action'] === null) {
      notification['click_action'] = { type: 1, action: 'Action' };
    }
  }
  // setHuaweiNotificationContent.
  const ensure = (): Json => {
    notification ??= defaultHmsNotification();
    return notification;
  };
  const body = nonEmpty(n.message);
  if (body !== undefined) ensure()['body'] = body;
  const title = nonEmpty(n.title);
  if (title !== undefined) ensure()['title'] = title;
  const image = nonEmpty(n.image);
  if (image !== undefined) ensure()['image'] = image;
  if (typeof n.sound === 'string' && n.sound !== '') ensure()['sound'] = n.sound;
  else if (notification !== undefined) notification['default_sound'] = true;
  if (notification !== undefined) android['notification'] = notification;

  const data = nonEmpty(n.huawei_data);
  if (data !== undefined) android['data'] = data;
  return { android };
}

/**
 * A notification the emulators accepted, as the inbox shows it: what the device would display
 * (title, subtitle, body, badge, thread, image, channel, icon, actions) read from the request
 * the way each platform reads it, and the request itself for the "raw" view — with every device
 * token masked (a request line, a body's `token` field), and no credential (APNs and the push
 * services' records hold no `authorization` header; FCM's and HMS's hold no headers at all).
 */
import { maskToken } from '../../server/mask.js';
import type { AcceptedNotification } from '../apns/inspection.js';
import type { AcceptedFcmMessage } from '../fcm/inspection.js';
import type { AcceptedHmsMessage } from '../hms/inspection.js';
import type { ReceivedMessage } from '../webpush/push-service.js';

export { maskToken };

export type InboxProvider = 'apns' | 'fcm' | 'webpush' | 'hms';
/** How the card is drawn. */
export type InboxLook = 'ios' | 'android' | 'web' | 'huawei';

export interface InboxView {
  title?: string;
  subtitle?: string;
  body?: string;
  /** The app's name as the device shows it (bundle id, package, site). */
  appName: string;
  badge?: string;
  thread?: string;
  /** An image URL (shown as text: the inbox loads nothing from elsewhere). */
  image?: string;
  channel?: string;
  icon?: string;
  actions?: string[];
  sound?: string;
  /** Not shown to the user (a background push, a data message): why. */
  hidden?: string;
}

export interface InboxItem {
  /** 1, 2, … in the order the inbox saw them. */
  seq: number;
  provider: InboxProvider;
  look: InboxLook;
  /** The app it was for (APNs bundle id, FCM project, HMS app id, the Web Push sender's VAPID subject). */
  app: string;
  /** The device tokens it went to (raw: only for filtering, shown masked). */
  tokens: string[];
  /** A topic or condition target (FCM, HMS). */
  target?: string;
  receivedAt: number;
  view: InboxView;
  raw: {
    /** The request line, tokens masked. */
    request: string;
    headers: Record<string, string>;
    /** The body as sent (JSON, pretty), tokens masked; for Web Push the decrypted plaintext. */
    body: string;
    /** For Web Push: which body this is. */
    note?: string;
  };
}

type Json = Record<string, unknown>;
const obj = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
const pretty = (value: unknown) => JSON.stringify(value, null, 2);

/** A localisation key shown as the device would look it up. */
const locKey = (key: unknown, args: unknown) =>
  typeof key === 'string'
    ? `[${key}${Array.isArray(args) ? `: ${args.map(String).join(', ')}` : ''}]`
    : undefined;

export function fromApns(n: AcceptedNotification, seq: number, seen: number): InboxItem {
  const aps = obj(n.payload['aps']) ?? {};
  const alert = aps['alert'];
  const a = obj(alert);
  const view: InboxView = {
    appName: n.bundleId,
    ...(typeof alert === 'string' ? { body: alert } : {}),
  };
  if (a !== undefined) {
    const title = str(a['title']) ?? locKey(a['title-loc-key'], a['title-loc-args']);
    const subtitle = str(a['subtitle']) ?? locKey(a['subtitle-loc-key'], a['subtitle-loc-args']);
    const body = str(a['body']) ?? locKey(a['loc-key'], a['loc-args']);
    if (title !== undefined) view.title = title;
    if (subtitle !== undefined) view.subtitle = subtitle;
    if (body !== undefined) view.body = body;
  }
  const badge = str(aps['badge']);
  if (badge !== undefined) view.badge = badge;
  const thread = str(aps['thread-id']);
  if (thread !== undefined) view.thread = thread;
  const sound = str(aps['sound']) ?? str(obj(aps['sound'])?.['name']);
  if (sound !== undefined) view.sound = sound;
  if (alert === undefined) {
    view.hidden =
      n.pushType === 'background'
        ? 'background push: wakes the app, shows nothing'
        : `${n.pushType} push without an alert`;
  }
  return {
    seq,
    provider: 'apns',
    look: 'ios',
    app: n.bundleId,
    tokens: [n.token],
    receivedAt: seen,
    view,
    raw: {
      request: `POST /3/device/${maskToken(n.token)} HTTP/2`,
      headers: { ...n.headers },
      body: pretty(n.payload),
    },
  };
}

/** FCM's Android notification: the `android.notification` block over the common `notification`. */
export function fromFcm(m: AcceptedFcmMessage, projectId: string, seq: number): InboxItem {
  const message = m.message;
  const common = obj(message['notification']) ?? {};
  const android = obj(message['android']) ?? {};
  const specific = obj(android['notification']) ?? {};
  const pick = (field: string) => str(specific[field]) ?? str(common[field]);
  const view: InboxView = {
    appName: str(android['restricted_package_name']) ?? `project ${projectId}`,
  };
  const title = pick('title') ?? locKey(specific['title_loc_key'], specific['title_loc_args']);
  const body = pick('body') ?? locKey(specific['body_loc_key'], specific['body_loc_args']);
  if (title !== undefined) view.title = title;
  if (body !== undefined) view.body = body;
  const image = pick('image');
  if (image !== undefined) view.image = image;
  view.channel = str(specific['channel_id']) ?? 'fcm_fallback_notification_channel (default)';
  const icon = str(specific['icon']);
  if (icon !== undefined) view.icon = icon;
  const thread = str(specific['tag']);
  if (thread !== undefined) view.thread = thread;
  const sound = str(specific['sound']);
  if (sound !== undefined) view.sound = sound;
  if (title === undefined && body === undefined) {
    const data = obj(message['data']);
    view.hidden = `data message${data ? ` (${Object.keys(data).length} keys)` : ''}: handed to the app, shows nothing`;
  }
  const token = m.target.kind === 'token' ? m.target.value : undefined;
  const shown = token === undefined ? message : { ...message, token: maskToken(token) };
  return {
    seq,
    provider: 'fcm',
    look: 'android',
    app: `project ${projectId}`,
    tokens: token === undefined ? [] : [token],
    ...(token === undefined ? { target: `${m.target.kind} ${m.target.value}` } : {}),
    receivedAt: m.receivedAt.getTime(),
    view,
    raw: {
      request: `POST /v1/projects/${projectId}/messages:send HTTP/2`,
      headers: {},
      body: pretty({ ...(m.validateOnly ? { validate_only: true } : {}), message: shown }),
      note: 'the body as sent (the FCM emulator does not record headers)',
    },
  };
}

/** Huawei's Android notification: `android.notification` over the common `notification`. */
export function fromHms(m: AcceptedHmsMessage, appId: string, seq: number): InboxItem {
  const message = m.message;
  const common = obj(message['notification']) ?? {};
  const android = obj(message['android']) ?? {};
  const specific = obj(android['notification']) ?? {};
  const pick = (field: string) => str(specific[field]) ?? str(common[field]);
  const view: InboxView = { appName: `app ${appId}` };
  const title = pick('title');
  const body = pick('body');
  if (title !== undefined) view.title = title;
  if (body !== undefined) view.body = body;
  const image = pick('image');
  if (image !== undefined) view.image = image;
  const channel = str(specific['channel_id']);
  view.channel = channel ?? 'default';
  const icon = str(specific['icon']);
  if (icon !== undefined) view.icon = icon;
  const badge = str(obj(specific['badge'])?.['add_num']) ?? str(obj(specific['badge'])?.['set_num']);
  if (badge !== undefined) view.badge = badge;
  const thread = str(specific['group']) ?? str(specific['tag']);
  if (thread !== undefined) view.thread = thread;
  if (title === undefined && body === undefined)
    view.hidden = 'data message: handed to the app, shows nothing';
  const tokens = m.target.kind === 'token' ? m.target.tokens : [];
  const shown = m.target.kind === 'token' ? { ...message, token: tokens.map(maskToken) } : message;
  return {
    seq,
    provider: 'hms',
    look: 'huawei',
    app: `app ${appId}`,
    tokens,
    ...(m.target.kind === 'token' ? {} : { target: `${m.target.kind} ${m.target.value}` }),
    receivedAt: m.receivedAt.getTime(),
    view,
    raw: {
      request: `POST /v1/${appId}/messages:send`,
      headers: {},
      body: pretty({ ...(m.validateOnly ? { validate_only: true } : {}), message: shown }),
      note: 'the body as sent (the HMS emulator does not record headers)',
    },
  };
}

/** A browser notification: the decrypted body read as pushline's default message (or shown as text). */
export function fromWebPush(m: ReceivedMessage, seq: number, seen: number): InboxItem {
  let parsed: Json | undefined;
  try {
    parsed = obj(JSON.parse(m.text));
  } catch {
    parsed = undefined;
  }
  const view: InboxView = { appName: m.vapidSubject };
  if (parsed === undefined) {
    view.body = m.text;
  } else {
    const fields: Array<[keyof InboxView, string]> = [
      ['title', 'title'],
      ['subtitle', 'subtitle'],
      ['body', 'body'],
      ['icon', 'icon'],
      ['image', 'image'],
      ['thread', 'tag'],
      ['sound', 'sound'],
    ];
    for (const [into, from] of fields) {
      const value = str(parsed[from]);
      if (value !== undefined) (view as unknown as Record<string, string>)[into] = value;
    }
    const badge = str(parsed['badgeCount']);
    if (badge !== undefined) view.badge = badge;
    if (Array.isArray(parsed['actions'])) {
      view.actions = parsed['actions']
        .map((action) => str(obj(action)?.['title']))
        .filter((title): title is string => title !== undefined);
    }
  }
  const endpoint = m.subscription.endpoint;
  const path = (() => {
    try {
      const url = new URL(endpoint);
      return url.pathname;
    } catch {
      return endpoint;
    }
  })();
  const headers: Record<string, string> = {
    'content-encoding': 'aes128gcm',
    ttl: String(m.ttl),
    ...(m.urgency === undefined ? {} : { urgency: m.urgency }),
    ...(m.topic === undefined ? {} : { topic: m.topic }),
    'vapid subject (from authorization)': m.vapidSubject,
  };
  return {
    seq,
    provider: 'webpush',
    look: 'web',
    app: m.vapidSubject,
    tokens: [endpoint],
    receivedAt: seen,
    view,
    raw: {
      request: `POST ${maskToken(path)} HTTP/${m.httpVersion}`,
      headers,
      body: parsed === undefined ? m.text : pretty(parsed),
      note: 'the body as the browser decrypted it (RFC 8291)',
    },
  };
}

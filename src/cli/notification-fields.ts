/**
 * The fields a notification file may hold, and the refusal of any other, naming it with the
 * closest known field: a misspelt `bodyy` must stop the send, not send a push without a body.
 *
 * Done here, for JSON a person wrote, and not in the library: a TypeScript caller's typos are
 * compile errors already, and a library caller may carry its own fields on the object. The
 * lists are checked against the types at compile time (`satisfies`), so a field added to
 * `Notification` or to an override block cannot be forgotten here.
 */
import type { Localization, Notification } from '../notification.js';
import type { ApnsOverrides } from '../providers/apns/index.js';
import type { FcmOverrides } from '../providers/fcm/index.js';
import type { HmsOverrides } from '../providers/hms/index.js';
import type { WebPushOverrides } from '../providers/webpush/index.js';

const NOTIFICATION = {
  title: true,
  subtitle: true,
  body: true,
  data: true,
  badge: true,
  sound: true,
  image: true,
  category: true,
  threadId: true,
  collapseKey: true,
  priority: true,
  ttl: true,
  expiresAt: true,
  silent: true,
  mutableContent: true,
  localization: true,
  apns: true,
  fcm: true,
  webpush: true,
  hms: true,
} satisfies Record<keyof Notification, true>;

const LOCALIZATION = {
  titleKey: true,
  titleArgs: true,
  subtitleKey: true,
  subtitleArgs: true,
  bodyKey: true,
  bodyArgs: true,
} satisfies Record<keyof Localization, true>;

const APNS = {
  pushType: true,
  priority: true,
  collapseId: true,
  alert: true,
  badge: true,
  sound: true,
  threadId: true,
  category: true,
  contentAvailable: true,
  mutableContent: true,
  interruptionLevel: true,
  relevanceScore: true,
  targetContentId: true,
  filterCriteria: true,
  liveActivity: true,
  aps: true,
} satisfies Record<keyof ApnsOverrides, true>;

// Only the block's own fields: what goes inside `android`, `apns`, `webpush` is FCM's message
// format, which FCM itself checks (a dry run's validate_only shows it).
const FCM = {
  topic: true,
  condition: true,
  data: true,
  android: true,
  apns: true,
  webpush: true,
  fcm_options: true,
} satisfies Record<keyof FcmOverrides, true>;

const WEBPUSH = {
  payload: true,
  topic: true,
  urgency: true,
  ttl: true,
  icon: true,
  badge: true,
  url: true,
  actions: true,
  requireInteraction: true,
  renotify: true,
  lang: true,
  dir: true,
} satisfies Record<keyof WebPushOverrides, true>;

const HMS = {
  topic: true,
  condition: true,
  data: true,
  android: true,
  notification: true,
} satisfies Record<keyof HmsOverrides, true>;

/** The blocks whose fields are checked, by the path they sit at. */
const BLOCKS: ReadonlyArray<[path: string, fields: Record<string, true>]> = [
  ['localization', LOCALIZATION],
  ['apns', APNS],
  ['fcm', FCM],
  ['webpush', WEBPUSH],
  ['hms', HMS],
];

/** A field the notification does not know, with the closest known one when there is one. */
export interface UnknownField {
  /** Dotted path, e.g. `bodyy` or `apns.alrt`. */
  field: string;
  suggestion?: string;
  known: string[];
}

/** The first unknown field of a parsed notification object, or undefined when all are known. */
export function findUnknownField(notification: Record<string, unknown>): UnknownField | undefined {
  const top = unknownIn(notification, NOTIFICATION, '');
  if (top) return top;
  for (const [path, fields] of BLOCKS) {
    const block = notification[path];
    if (block === null || typeof block !== 'object' || Array.isArray(block)) continue;
    const found = unknownIn(block as Record<string, unknown>, fields, `${path}.`);
    if (found) return found;
  }
  return undefined;
}

function unknownIn(
  object: Record<string, unknown>,
  fields: Record<string, true>,
  prefix: string,
): UnknownField | undefined {
  const known = Object.keys(fields);
  for (const key of Object.keys(object)) {
    if (Object.hasOwn(fields, key)) continue;
    const suggestion = closest(key, known);
    return {
      field: `${prefix}${key}`,
      ...(suggestion === undefined ? {} : { suggestion: `${prefix}${suggestion}` }),
      known,
    };
  }
  return undefined;
}

/**
 * The known name nearest to `name`: the same once case, `_` and `-` are ignored
 * (`thread_id` → `threadId`), or within a third of its length in edits (`bodyy` → `body`).
 */
export function closest(name: string, known: readonly string[]): string | undefined {
  const plain = (text: string) => text.toLowerCase().replace(/[_-]/g, '');
  const target = plain(name);
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(target, plain(candidate));
    if (best === undefined || distance < best.distance) best = { name: candidate, distance };
  }
  if (best === undefined) return undefined;
  return best.distance <= Math.max(1, Math.floor(target.length / 3)) ? best.name : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]![j] = j;
        continue;
      }
      const row = rows[i]!;
      const previous = rows[i - 1]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      }
      row[j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}

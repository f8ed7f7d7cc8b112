/**
 * The `apns` override block of a {@link Notification}: what the common model cannot say
 * about an APNs push. Added to `ProviderOverrides` by declaration merging so the core never
 * depends on this provider's types.
 */

/** Values of the `apns-push-type` header (Apple: "must accurately reflect the contents of your notification's payload"). */
export type ApnsPushType =
  | 'alert'
  | 'background'
  | 'voip'
  | 'complication'
  | 'fileprovider'
  | 'mdm'
  | 'liveactivity'
  | 'location'
  | 'pushtotalk'
  | 'widgets'
  | 'controls';

/** Every push type, in Apple's order. */
export const APNS_PUSH_TYPES: readonly ApnsPushType[] = [
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
];

/** `aps.interruption-level`. */
export type ApnsInterruptionLevel = 'passive' | 'active' | 'time-sensitive' | 'critical';

/** `aps.alert` fields beyond the common title/subtitle/body and localisation keys. */
export interface ApnsAlert {
  title?: string;
  subtitle?: string;
  body?: string;
  /** `launch-image`: the launch image file shown when the user opens the notification. */
  launchImage?: string;
  titleLocKey?: string;
  titleLocArgs?: string[];
  subtitleLocKey?: string;
  subtitleLocArgs?: string[];
  /** `loc-key`: the body's localisation key. */
  locKey?: string;
  locArgs?: string[];
}

/** `aps.sound` as a dictionary, for critical alerts. */
export interface ApnsSound {
  /** Sound file name, or `'default'`. */
  name: string;
  /** Plays as a critical alert (needs Apple's entitlement). */
  critical?: boolean;
  /** 0 (silent) to 1 (full volume). */
  volume?: number;
}

/** Live Activity fields (`apns-push-type: liveactivity`). Dates are `Date` or UNIX seconds. */
export interface ApnsLiveActivity {
  event: 'start' | 'update' | 'end';
  /** When the update was made; defaults to the time of `prepare`. Apple drops updates older than the last one. */
  timestamp?: Date | number;
  /** `content-state`: must match the app's `ActivityAttributes.ContentState`. Required for `start` and `update`. */
  contentState?: Record<string, unknown>;
  /** `stale-date`: when the system marks the activity out of date. */
  staleDate?: Date | number;
  /** `dismissal-date`: when an ended activity leaves the Lock Screen (`end` only). */
  dismissalDate?: Date | number;
  /** `attributes-type`: the `ActivityAttributes` type name (`start` only, required there). */
  attributesType?: string;
  /** `attributes`: the static attributes (`start` only, required there). */
  attributes?: Record<string, unknown>;
  /** `input-push-token: 1`: ask the started activity to report its update token (`start` only). */
  inputPushToken?: boolean;
}

/**
 * APNs-only settings for one notification. Each field wins over the common field it
 * shadows (`threadId`, `category`, `sound`, `badge`, `collapseKey`, `priority`, `mutableContent`).
 */
export interface ApnsOverrides {
  /** `apns-push-type`; inferred when absent: `liveactivity` with `liveActivity`, `background` when silent, else `alert`. */
  pushType?: ApnsPushType;
  /** `apns-priority`: 10 immediate, 5 power-considerate, 1 lowest. `background` pushes must use 5. */
  priority?: 10 | 5 | 1;
  /** `apns-collapse-id` (≤ 64 bytes); defaults to the common `collapseKey`. */
  collapseId?: string;
  /** A string alert (body only) or alert fields merged over the common title/subtitle/body. */
  alert?: string | ApnsAlert;
  badge?: number;
  sound?: string | ApnsSound;
  threadId?: string;
  category?: string;
  /** `content-available: 1` without making the push silent (e.g. an alert that also wakes the app). */
  contentAvailable?: boolean;
  mutableContent?: boolean;
  interruptionLevel?: ApnsInterruptionLevel;
  /** `relevance-score`: 0 to 1 for notification summaries (any number orders Live Activities). */
  relevanceScore?: number;
  targetContentId?: string;
  filterCriteria?: string;
  liveActivity?: ApnsLiveActivity;
  /**
   * Extra `aps` keys merged last, verbatim (Apple's own key names), for keys this block
   * does not know yet. Custom app data belongs in the notification's `data`, not here.
   */
  aps?: Record<string, unknown>;
}

declare module '../../notification.js' {
  interface ProviderOverrides {
    /** APNs-only settings; see {@link ApnsOverrides}. */
    apns?: ApnsOverrides;
  }
}

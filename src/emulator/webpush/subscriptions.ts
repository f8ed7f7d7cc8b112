/**
 * What the emulated browsers hold: each subscription's P-256 key pair and auth secret (the
 * emulator plays both the push service and the user agent), plus its scenario (scenarios.ts)
 * and counters.
 */
import { createECDH, type ECDH, randomBytes } from 'node:crypto';
import type { WebPushSubscription } from '../../device.js';
import { PushError } from '../../errors.js';
import type { SubscriptionScenario } from './scenarios.js';

export interface SubscribeOptions {
  /** Which listener (push-service origin) issues it, by index. Default: round robin. */
  origin?: number;
  /**
   * The `applicationServerKey` the page subscribed with (base64url). When set, messages whose
   * VAPID `k` differs are refused with 403, as FCM and Mozilla do for such "restricted" subscriptions.
   */
  applicationServerKey?: string;
}

/** Per-subscription counters, for the inspection API. */
export interface SubscriptionStats {
  /** Requests that reached this subscription's URL. */
  attempts: number;
  /** Messages answered 201. */
  accepted: number;
  /** Count of responses by status. */
  byStatus: Record<number, number>;
}

export interface EmulatedSubscription {
  id: string;
  originIndex: number;
  endpoint: string;
  /** The browser's key pair (p256dh is its public half). */
  receiverKey: ECDH;
  /** base64url auth secret. */
  auth: string;
  p256dh: string;
  applicationServerKey: string | undefined;
  scenario: SubscriptionScenario | undefined;
  /** Attempts counted since the scenario was set (for "first K attempts"). */
  scenarioAttempts: number;
  unsubscribed: boolean;
  stats: SubscriptionStats;
}

export class SubscriptionStore {
  readonly #byId = new Map<string, EmulatedSubscription>();
  #nextOrigin = 0;

  create(origins: readonly string[], options: SubscribeOptions = {}): EmulatedSubscription {
    const originIndex = options.origin ?? this.#nextOrigin++ % origins.length;
    const origin = origins[originIndex];
    if (origin === undefined)
      throw new PushError(
        'bad-request',
        `no emulated push service with index ${originIndex}: the emulator runs ${origins.length} (origin 0 to ${origins.length - 1})`,
      );
    const id = randomBytes(18).toString('base64url');
    const receiverKey = createECDH('prime256v1');
    const p256dh = receiverKey.generateKeys().toString('base64url');
    const subscription: EmulatedSubscription = {
      id,
      originIndex,
      endpoint: `${origin}/push/${id}`,
      receiverKey,
      auth: randomBytes(16).toString('base64url'),
      p256dh,
      applicationServerKey: options.applicationServerKey,
      scenario: undefined,
      scenarioAttempts: 0,
      unsubscribed: false,
      stats: { attempts: 0, accepted: 0, byStatus: {} },
    };
    this.#byId.set(id, subscription);
    return subscription;
  }

  get(id: string): EmulatedSubscription | undefined {
    return this.#byId.get(id);
  }

  /** Finds the record for a subscription object or endpoint URL. */
  find(target: WebPushSubscription | string): EmulatedSubscription | undefined {
    const endpoint = typeof target === 'string' ? target : target.endpoint;
    const id = /\/push\/([^/?#]+)$/.exec(endpoint)?.[1];
    return id === undefined ? undefined : this.#byId.get(id);
  }

  all(): IterableIterator<EmulatedSubscription> {
    return this.#byId.values();
  }

  clear(): void {
    this.#byId.clear();
  }
}

export function toWebPushSubscription(record: EmulatedSubscription): WebPushSubscription {
  return { endpoint: record.endpoint, keys: { p256dh: record.p256dh, auth: record.auth } };
}

/**
 * Scenarios: what the emulator does besides validating, so tests can meet Apple's failure
 * modes on purpose. Every choice is deterministic (sets, predicates, or a hash of the token)
 * so a test knows in advance which tokens fail and how.
 */
import type { ApnsReason } from './responses.js';

/**
 * Which device tokens a scenario applies to: a list or set of tokens, a predicate, or a rate
 * in [0, 1] picked by a hash of the token (stable across runs; see {@link ApnsEmulator.classify}).
 */
export type TokenSelector = Iterable<string> | ((token: string) => boolean) | { rate: number };

export interface ApnsScenarios {
  /** 410 Unregistered with a `timestamp`. */
  unregistered?: TokenSelector;
  /** The invalidation time reported for unregistered tokens (ms since epoch); default: the emulator clock. */
  unregisteredAt?: number | ((token: string) => number);
  /** 400 BadDeviceToken for well-formed tokens (e.g. a sandbox token sent to production). */
  badTokens?: TokenSelector;
  /** 400 DeviceTokenNotForTopic: tokens registered to another app, by token → bundle id. */
  tokenTopics?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** 429 TooManyRequests on every push to these tokens. */
  tooManyRequests?: TokenSelector;
  /** Tokens that fail their first `failures` attempts with a 5xx, then succeed. */
  flaky?: { tokens: TokenSelector; failures: number; reason?: 'InternalServerError' | 'ServiceUnavailable' };
  /** After every `streams` streams on a connection: GOAWAY with `{"reason": reason}` (default `Shutdown`). */
  goAway?: { streams: number; reason?: ApnsReason };
  /** Added latency before each answer, in ms: fixed, or uniform in [min, max]. */
  latencyMs?: number | readonly [number, number];
  /**
   * Benchmark mode: no validation, no recording; every request answers 200 at once.
   * Only connections and requests are counted.
   */
  sink?: boolean;
}

/** What the scenarios make of a token (before its attempt count is considered). */
export type TokenClass = 'bad-token' | 'unregistered' | 'too-many-requests' | 'flaky' | 'ok';

/**
 * FNV-1a over the salt and the token, finished with murmur3's avalanche (tokens often differ
 * only in their last characters, which FNV alone leaves in the low bits), mapped to [0, 1).
 * Salted so each scenario picks its own tokens.
 */
export function tokenFraction(token: string, salt: string): number {
  let hash = 0x811c9dc5;
  const text = `${salt}:${token}`;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) / 0x1_0000_0000;
}

/** Compiles a selector once into a predicate (sets are copied so later caller edits don't leak in). */
export function compileSelector(
  selector: TokenSelector | undefined,
  salt: string,
): (token: string) => boolean {
  if (selector === undefined) return () => false;
  if (typeof selector === 'function') return selector;
  if ('rate' in selector && typeof selector.rate === 'number') {
    const rate = selector.rate;
    return (token) => tokenFraction(token, salt) < rate;
  }
  const set = new Set(selector as Iterable<string>);
  return (token) => set.has(token);
}

/** Scenarios prepared for the request path. */
export class CompiledScenarios {
  readonly isBad: (token: string) => boolean;
  readonly isUnregistered: (token: string) => boolean;
  readonly isThrottled: (token: string) => boolean;
  readonly isFlaky: (token: string) => boolean;
  readonly tokenTopics: ReadonlyMap<string, string>;

  constructor(readonly source: Readonly<ApnsScenarios>) {
    this.isBad = compileSelector(source.badTokens, 'bad-token');
    this.isUnregistered = compileSelector(source.unregistered, 'unregistered');
    this.isThrottled = compileSelector(source.tooManyRequests, 'too-many-requests');
    this.isFlaky = compileSelector(source.flaky?.tokens, 'flaky');
    const topics = source.tokenTopics;
    this.tokenTopics = topics instanceof Map ? new Map(topics) : new Map(Object.entries(topics ?? {}));
  }

  classify(token: string): TokenClass {
    if (this.isBad(token)) return 'bad-token';
    if (this.isUnregistered(token)) return 'unregistered';
    if (this.isThrottled(token)) return 'too-many-requests';
    if (this.isFlaky(token)) return 'flaky';
    return 'ok';
  }

  /** The scenario's answer for a valid request to `token` on its `attempt`-th try (1-based), if any. */
  rejection(token: string, bundleId: string, attempt: number): ApnsReason | undefined {
    const registeredTo = this.tokenTopics.get(token);
    if (registeredTo !== undefined && registeredTo !== bundleId) return 'DeviceTokenNotForTopic';
    switch (this.classify(token)) {
      case 'bad-token':
        return 'BadDeviceToken';
      case 'unregistered':
        return 'Unregistered';
      case 'too-many-requests':
        return 'TooManyRequests';
      case 'flaky': {
        const flaky = this.source.flaky!;
        return attempt <= flaky.failures ? (flaky.reason ?? 'ServiceUnavailable') : undefined;
      }
      case 'ok':
        return undefined;
    }
  }

  unregisteredAt(token: string, now: number): number {
    const at = this.source.unregisteredAt;
    if (at === undefined) return now;
    return typeof at === 'function' ? at(token) : at;
  }

  latency(): number {
    const latency = this.source.latencyMs;
    if (latency === undefined) return 0;
    if (typeof latency === 'number') return latency;
    const [min, max] = latency;
    return min + Math.random() * (max - min);
  }
}

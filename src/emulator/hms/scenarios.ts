/**
 * What the HMS emulator does to a valid send, besides accepting it: dead tokens (by list or by
 * a hashed rate, so a test knows exactly which) answered as partial success or "all invalid",
 * a misconfigured app, 503 flow control by rate or burst, internal errors, latency, and a sink
 * mode for benchmarks. Deterministic: the n-th request and the token decide, never a dice roll.
 */
import { PushError } from '../../errors.js';
import { tokenLifetime } from '../access-tokens.js';
import { tokenFraction } from '../apns/scenarios.js';

/**
 * Scenarios; every field can be set at start and changed at run time with `setScenarios`
 * (fields left out stay as they are; `null`, 0 or an empty list turns one off).
 */
export interface HmsScenarios {
  /** Tokens Huawei no longer accepts: listed in `illegal_tokens` (80100000), or 80300007 when a request holds only those. */
  deadTokens?: Iterable<string>;
  /** Share of tokens that are dead, by a hash of the token (see {@link isDeadToken}). */
  deadRate?: number;
  /** The shape of a partial answer's `msg`: `'v1'` `illegal_tokens` array (default) or `'v3'` `illegalTokens` map. */
  partialFormat?: 'v1' | 'v3';
  /**
   * Every send answered 80300007 "all tokens invalid", whatever its tokens: what Huawei answers
   * when the app id or package name does not match AppGallery Connect.
   */
  misconfigured?: boolean;
  /** Share of send requests answered HTTP 503 (flow control), spread evenly: 0.01 = the 100th, 200th, … */
  throttleRate?: number;
  /** The next N send requests are answered 503. */
  throttleBurst?: number;
  /** The next N send requests are answered 81000001 "System internal error" (HTTP 500). */
  internalErrorBurst?: number;
  /** Delay before answering each send, ms (a number, or a random range). */
  latencyMs?: number | { min: number; max: number };
  /** Lifetime of issued access tokens, seconds (default 3600). */
  tokenLifetimeSeconds?: number;
  /**
   * Benchmark mode: accept every send that carries a valid access token with 80000000, without
   * reading the message or recording anything but counts.
   */
  sink?: boolean;
}

/** The salt of the `deadRate` hash: `tokenFraction(token, DEAD_SALT) < deadRate` is dead. */
export const DEAD_SALT = 'hms-dead';

/** The scenarios in lookup form. */
export class ScenarioState {
  dead = new Set<string>();
  deadRate = 0;
  partialFormat: 'v1' | 'v3' = 'v1';
  misconfigured = false;
  throttleRate = 0;
  throttleBurst = 0;
  internalErrorBurst = 0;
  latencyMs: HmsScenarios['latencyMs'] = 0;
  tokenLifetimeSeconds = 3600;
  sink = false;

  apply(s: HmsScenarios): void {
    if (s.deadTokens !== undefined) this.dead = new Set(s.deadTokens ?? []);
    if (s.deadRate !== undefined) this.deadRate = rate(s.deadRate ?? 0, 'deadRate');
    if (s.partialFormat !== undefined) this.partialFormat = s.partialFormat === 'v3' ? 'v3' : 'v1';
    if (s.misconfigured !== undefined) this.misconfigured = s.misconfigured === true;
    if (s.throttleRate !== undefined) this.throttleRate = rate(s.throttleRate ?? 0, 'throttleRate');
    if (s.throttleBurst !== undefined) this.throttleBurst = s.throttleBurst ?? 0;
    if (s.internalErrorBurst !== undefined) this.internalErrorBurst = s.internalErrorBurst ?? 0;
    if (s.latencyMs !== undefined) this.latencyMs = s.latencyMs;
    if (s.tokenLifetimeSeconds !== undefined)
      this.tokenLifetimeSeconds = tokenLifetime(s.tokenLifetimeSeconds);
    if (s.sink !== undefined) this.sink = s.sink === true;
  }

  latency(): number {
    const l = this.latencyMs;
    if (typeof l === 'number') return l;
    if (!l) return 0;
    return l.min + Math.random() * (l.max - l.min);
  }

  /** Whether `token` is dead (by the list or the rate). */
  isDead(token: string): boolean {
    return this.dead.has(token) || (this.deadRate > 0 && isDeadToken(token, this.deadRate));
  }

  /** Whether the `n`-th send request (from 1) is throttled by the rate or the burst. */
  throttled(n: number): boolean {
    if (this.throttleBurst > 0) {
      this.throttleBurst--;
      return true;
    }
    const r = this.throttleRate;
    return r > 0 && Math.floor(n * r) > Math.floor((n - 1) * r);
  }

  /** Whether this request gets 81000001 (a burst). */
  internalError(): boolean {
    if (this.internalErrorBurst <= 0) return false;
    this.internalErrorBurst--;
    return true;
  }
}

function rate(value: number, name: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    throw new PushError('config', `${name} must be a share of tokens from 0 to 1, got ${String(value)}`);
  return value;
}

/** Whether `token` is dead under `deadRate: rate` (for tests that must know which, independently). */
export function isDeadToken(token: string, rate: number): boolean {
  return tokenFraction(token, DEAD_SALT) < rate;
}

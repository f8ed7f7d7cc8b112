/**
 * What the FCM emulator does to a valid send, besides accepting it: dead tokens, throttling,
 * 5xx bursts and flaky tokens, latency. Deterministic (per token, by attempt number), so a
 * test knows exactly which devices end how.
 */

import { tokenLifetime } from '../access-tokens.js';
import { type RpcError, rpcError } from './responses.js';

/**
 * Scenarios; every field can be set at start and changed at run time with `setScenarios`
 * (fields left out stay as they are; `null` or an empty list turns one off).
 */
export interface FcmScenarios {
  /** Tokens answered `404 UNREGISTERED` (the app was uninstalled). */
  unregisteredTokens?: Iterable<string>;
  /** Tokens answered `403 SENDER_ID_MISMATCH` (registered to another project). */
  senderMismatchTokens?: Iterable<string>;
  /** Tokens answered `400 INVALID_ARGUMENT` "The registration token is not a valid FCM registration token". */
  invalidTokens?: Iterable<string>;
  /** Tokens whose iOS / web credentials are broken in the project: `401 THIRD_PARTY_AUTH_ERROR`. */
  thirdPartyAuthErrorTokens?: Iterable<string>;
  /** Tokens answered `429 QUOTA_EXCEEDED` with `Retry-After` for their first `failFirst` attempts (default 1). */
  quota?: { tokens: Iterable<string>; failFirst?: number; retryAfterSeconds?: number } | null;
  /** Tokens answered 503 `UNAVAILABLE` (or 500 `INTERNAL`) for their first `failFirst` attempts (default 1). */
  flaky?: {
    tokens: Iterable<string>;
    failFirst?: number;
    status?: 500 | 503;
    retryAfterSeconds?: number;
  } | null;
  /** The next N send requests (any target) are answered 503 UNAVAILABLE. */
  unavailableBurst?: number;
  /** Delay before answering each send, ms (a number, or a random range). */
  latencyMs?: number | { min: number; max: number };
  /** Lifetime of issued access tokens, seconds (default 3600). Short values force refreshes. */
  tokenLifetimeSeconds?: number;
  /**
   * Benchmark mode: accept every send that carries a valid access token, without checking
   * the message or recording anything but counts.
   */
  sink?: boolean;
}

interface Throttle {
  tokens: Set<string>;
  failFirst: number;
  retryAfterSeconds: number;
}

/** The scenarios in lookup form. */
export class ScenarioState {
  unregistered = new Set<string>();
  senderMismatch = new Set<string>();
  invalid = new Set<string>();
  thirdPartyAuth = new Set<string>();
  quota: Throttle | undefined;
  flaky: (Throttle & { status: 500 | 503 }) | undefined;
  unavailableBurst = 0;
  latencyMs: FcmScenarios['latencyMs'] = 0;
  tokenLifetimeSeconds = 3600;
  sink = false;

  /** Replaces the scenarios named in `s`; the others stay. */
  apply(s: FcmScenarios): void {
    if (s.unregisteredTokens !== undefined) this.unregistered = new Set(s.unregisteredTokens);
    if (s.senderMismatchTokens !== undefined) this.senderMismatch = new Set(s.senderMismatchTokens);
    if (s.invalidTokens !== undefined) this.invalid = new Set(s.invalidTokens);
    if (s.thirdPartyAuthErrorTokens !== undefined) this.thirdPartyAuth = new Set(s.thirdPartyAuthErrorTokens);
    if (s.quota !== undefined) {
      this.quota =
        s.quota === null
          ? undefined
          : {
              tokens: new Set(s.quota.tokens),
              failFirst: s.quota.failFirst ?? 1,
              retryAfterSeconds: s.quota.retryAfterSeconds ?? 1,
            };
    }
    if (s.flaky !== undefined) {
      this.flaky =
        s.flaky === null
          ? undefined
          : {
              tokens: new Set(s.flaky.tokens),
              failFirst: s.flaky.failFirst ?? 1,
              status: s.flaky.status ?? 503,
              retryAfterSeconds: s.flaky.retryAfterSeconds ?? 0,
            };
    }
    if (s.unavailableBurst !== undefined) this.unavailableBurst = s.unavailableBurst;
    if (s.latencyMs !== undefined) this.latencyMs = s.latencyMs;
    if (s.tokenLifetimeSeconds !== undefined)
      this.tokenLifetimeSeconds = tokenLifetime(s.tokenLifetimeSeconds);
    if (s.sink !== undefined) this.sink = s.sink;
  }

  latency(): number {
    const l = this.latencyMs;
    if (typeof l === 'number') return l;
    if (!l) return 0;
    return l.min + Math.random() * (l.max - l.min);
  }
}

export interface ScenarioAnswer {
  error: RpcError;
  retryAfterSeconds?: number;
}

/**
 * The scenario answer for a send, or undefined to accept it. `attempt` is this token's
 * attempt number, counted from 1 since start or `reset()`.
 */
export function scenarioAnswer(
  state: ScenarioState,
  token: string | undefined,
  attempt: number,
): ScenarioAnswer | undefined {
  if (state.unavailableBurst > 0) {
    state.unavailableBurst--;
    return { error: rpcError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE') };
  }
  if (token === undefined) return undefined;
  if (state.unregistered.has(token)) {
    return { error: rpcError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED') };
  }
  if (state.senderMismatch.has(token)) {
    return { error: rpcError(403, 'PERMISSION_DENIED', 'SenderId mismatch', 'SENDER_ID_MISMATCH') };
  }
  if (state.invalid.has(token)) {
    return {
      error: rpcError(
        400,
        'INVALID_ARGUMENT',
        'The registration token is not a valid FCM registration token',
        'INVALID_ARGUMENT',
      ),
    };
  }
  if (state.thirdPartyAuth.has(token)) {
    return {
      error: rpcError(
        401,
        'UNAUTHENTICATED',
        'Auth error from APNS or Web Push Service',
        'THIRD_PARTY_AUTH_ERROR',
      ),
    };
  }
  const q = state.quota;
  if (q?.tokens.has(token) && attempt <= q.failFirst) {
    return {
      error: rpcError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for the device.', 'QUOTA_EXCEEDED'),
      retryAfterSeconds: q.retryAfterSeconds,
    };
  }
  const f = state.flaky;
  if (f?.tokens.has(token) && attempt <= f.failFirst) {
    const error =
      f.status === 500
        ? rpcError(500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL')
        : rpcError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE');
    return f.retryAfterSeconds > 0 ? { error, retryAfterSeconds: f.retryAfterSeconds } : { error };
  }
  return undefined;
}

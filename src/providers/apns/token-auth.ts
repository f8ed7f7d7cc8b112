/**
 * APNs token authentication: ONE ES256 provider token (JWT) shared by every connection and
 * every send of a provider, kept as the ready-made `bearer <jwt>` header string.
 *
 * Apple's rule (PROTOCOLS.md §1): refresh no more than once every 20 minutes and at least
 * once every 60. Older than an hour → `ExpiredProviderToken`; refreshing too often →
 * `TooManyProviderTokenUpdates`. So:
 *  - a token is reused until it is {@link DEFAULT_REFRESH_AFTER_MS} old; then the next send
 *    signs a new one (synchronously: one ECDSA signature, nothing to wait for); should
 *    signing fail, the old one keeps serving until {@link DEFAULT_MAX_AGE_MS}, never later;
 *  - `ExpiredProviderToken` triggers a refresh, but a burst of them triggers only one, and
 *    never sooner than {@link DEFAULT_MIN_REFRESH_INTERVAL_MS} after the last mint.
 */
import type { KeyObject } from 'node:crypto';
import { signJwt } from '../../jwt.js';

export const DEFAULT_REFRESH_AFTER_MS = 50 * 60_000;
export const DEFAULT_MAX_AGE_MS = 55 * 60_000;
export const DEFAULT_MIN_REFRESH_INTERVAL_MS = 20 * 60_000;

/** A minted provider token. Compared by identity: a send keeps the one it used. */
export interface ProviderToken {
  /** The `authorization` header value, `bearer <jwt>`. */
  readonly header: string;
  readonly jwt: string;
  /** The clock's time (ms) when minted; `iat` is this in seconds. */
  readonly issuedAtMs: number;
}

export interface ProviderTokenCacheOptions {
  /** The 10-character Team ID (`iss`). */
  teamId: string;
  /** The 10-character Key ID (`kid`). */
  keyId: string;
  /** The `.p8` key, parsed. */
  key: KeyObject;
  /** Milliseconds since the epoch; inject for tests. */
  clock?: () => number;
  refreshAfterMs?: number;
  maxAgeMs?: number;
  minRefreshIntervalMs?: number;
}

export class ProviderTokenCache {
  readonly #options: ProviderTokenCacheOptions;
  readonly #clock: () => number;
  readonly #refreshAfterMs: number;
  readonly #maxAgeMs: number;
  readonly #minRefreshIntervalMs: number;
  #current: ProviderToken | undefined;
  /** `#current` as a resolved promise, so the hot path allocates nothing. */
  #currentPromise: Promise<ProviderToken> | undefined;
  #mints = 0;

  constructor(options: ProviderTokenCacheOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    this.#refreshAfterMs = options.refreshAfterMs ?? DEFAULT_REFRESH_AFTER_MS;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.#minRefreshIntervalMs = options.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS;
  }

  /** How many tokens were minted so far (for tests and metrics). */
  get mints(): number {
    return this.#mints;
  }

  /** The token in use, if one was minted. */
  get current(): ProviderToken | undefined {
    return this.#current;
  }

  /**
   * The token to send with now, without waiting (the hot path's way in). From
   * {@link DEFAULT_REFRESH_AFTER_MS} of age the next one is signed here and serves at once
   * (signing is one ECDSA signature); if signing fails, the old one serves while it is valid.
   * Undefined when there is none valid: then {@link get}, which reports why.
   */
  usable(): ProviderToken | undefined {
    const current = this.#current;
    if (current === undefined) return undefined;
    const age = this.#clock() - current.issuedAtMs;
    if (age < this.#refreshAfterMs) return current;
    try {
      return this.mintNow();
    } catch {
      return age < this.#maxAgeMs ? current : undefined;
    }
  }

  /** The token to send with now: the current one, or a new one; rejects when signing fails. */
  get(): Promise<ProviderToken> {
    // A usable token is always `#current` (usable() adopts what it signs).
    if (this.usable() !== undefined) return this.#currentPromise!;
    return this.#mint();
  }

  /**
   * APNs answered `ExpiredProviderToken` to a request sent with `used`. Resolves to the token
   * to re-send with, or undefined when a refresh is not allowed (the token in use was minted
   * less than 20 minutes ago: another refresh would earn `TooManyProviderTokenUpdates`, and
   * a fresh token refused as expired points at a wrong clock, not at the cache).
   */
  async refreshAfterExpired(used: ProviderToken): Promise<ProviderToken | undefined> {
    // Someone already refreshed since this request left: use theirs.
    if (this.#current !== undefined && this.#current !== used) return this.#current;
    if (this.#clock() - used.issuedAtMs < this.#minRefreshIntervalMs) return undefined;
    return this.#mint();
  }

  /**
   * Signs a token now, so the first sends need not wait for one: the provider calls this when
   * it is made. Throws what signing throws (the send that needs a token reports it).
   */
  mintNow(): ProviderToken {
    const token = this.#sign();
    this.#current = token;
    this.#currentPromise = Promise.resolve(token);
    return token;
  }

  /** Signing is synchronous (one ECDSA signature): concurrent callers find its token in place. */
  #mint(): Promise<ProviderToken> {
    try {
      this.mintNow();
      return this.#currentPromise!;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #sign(): ProviderToken {
    const issuedAtMs = this.#clock();
    const { teamId, keyId, key } = this.#options;
    const jwt = signJwt('ES256', { kid: keyId }, { iss: teamId, iat: Math.floor(issuedAtMs / 1000) }, key);
    this.#mints += 1;
    return { header: `bearer ${jwt}`, jwt, issuedAtMs };
  }
}

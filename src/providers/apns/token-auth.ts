/**
 * APNs token authentication: ONE ES256 provider token (JWT) shared by every connection and
 * every send of a provider, kept as the ready-made `bearer <jwt>` header string.
 *
 * Apple's rule (PROTOCOLS.md §1): refresh no more than once every 20 minutes and at least
 * once every 60. Older than an hour → `ExpiredProviderToken`; refreshing too often →
 * `TooManyProviderTokenUpdates`. So:
 *  - a token is reused until it is {@link DEFAULT_REFRESH_AFTER_MS} old; then a new one is
 *    minted in the background while the old one keeps serving (it is still valid);
 *  - only past {@link DEFAULT_MAX_AGE_MS} does a send wait for the new token;
 *  - `ExpiredProviderToken` triggers a refresh, but a burst of them triggers only one, and
 *    never sooner than {@link DEFAULT_MIN_REFRESH_INTERVAL_MS} after the last mint.
 */
import type { KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

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
  #minting: Promise<ProviderToken> | undefined;
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
   * The token to send with now when one is valid, without waiting: the hot path's way in. When
   * it is due for refresh by age it is still served while the new one is signed in the background.
   * Undefined when none is valid yet (first use, or past its maximum age): then {@link get}.
   */
  usable(): ProviderToken | undefined {
    const current = this.#current;
    if (current === undefined) return undefined;
    const age = this.#clock() - current.issuedAtMs;
    if (age < this.#refreshAfterMs) return current;
    if (age < this.#maxAgeMs) {
      this.#mint().catch(() => {});
      return current;
    }
    return undefined;
  }

  /** The token to send with now. Mints the first one; refreshes by age (in the background while still valid). */
  get(): Promise<ProviderToken> {
    const usable = this.usable();
    if (usable !== undefined && usable === this.#current && this.#currentPromise !== undefined) {
      return this.#currentPromise;
    }
    return this.#mint();
  }

  /**
   * APNs answered `ExpiredProviderToken` to a request sent with `used`. Resolves to the token
   * to re-send with, or undefined when a refresh is not allowed (the token in use was minted
   * less than 20 minutes ago: another refresh would earn `TooManyProviderTokenUpdates`, and
   * a fresh token refused as expired points at a wrong clock, not at the cache).
   */
  async refreshAfterExpired(used: ProviderToken): Promise<ProviderToken | undefined> {
    // Someone already refreshed (or is refreshing) since this request left: use theirs.
    if (this.#minting !== undefined) return this.#minting;
    if (this.#current !== undefined && this.#current !== used) return this.#current;
    if (this.#clock() - used.issuedAtMs < this.#minRefreshIntervalMs) return undefined;
    return this.#mint();
  }

  /** One signing at a time: concurrent callers share it. */
  #mint(): Promise<ProviderToken> {
    if (this.#minting !== undefined) return this.#minting;
    const minting = this.#sign().then(
      (token) => {
        this.#current = token;
        this.#currentPromise = Promise.resolve(token);
        this.#minting = undefined;
        return token;
      },
      (error: unknown) => {
        this.#minting = undefined;
        throw error;
      },
    );
    this.#minting = minting;
    return minting;
  }

  async #sign(): Promise<ProviderToken> {
    const issuedAtMs = this.#clock();
    const { teamId, keyId, key } = this.#options;
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: keyId })
      .setIssuer(teamId)
      .setIssuedAt(Math.floor(issuedAtMs / 1000))
      .sign(key);
    this.#mints += 1;
    return { header: `bearer ${jwt}`, jwt, issuedAtMs };
  }
}

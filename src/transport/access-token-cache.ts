/**
 * An OAuth access token shared by every request of a provider: fetched once, reused until
 * shortly before it expires, fetched again by ONE request however many sends wait for it
 * (single-flight), and dropped when the API refuses it — but only while it is still the cached
 * one, so a burst of refusals of the same stale token leads to one new token, not a storm.
 *
 * What differs between providers (the grant: a signed JWT for Google, client credentials for
 * Huawei; how the token endpoint's errors read) stays in each provider's `access-token.ts`,
 * which hands this cache the function that fetches a token.
 */
import type { TransportResponse } from './types.js';

/** Refresh this long before expiry, at most a tenth of the lifetime (short-lived test tokens). */
const REFRESH_MARGIN_MS = 5 * 60_000;

/** A token as the endpoint granted it. */
export interface AccessTokenGrant {
  value: string;
  /** Its lifetime from now, ms (`expires_in` × 1000). */
  lifetimeMs: number;
}

export class AccessTokenCache {
  readonly #fetch: () => Promise<AccessTokenGrant>;
  readonly #now: () => number;
  #cached: { value: string; refreshAt: number } | undefined;
  #inFlight: Promise<string> | undefined;
  #requests = 0;

  constructor(fetch: () => Promise<AccessTokenGrant>, now: () => number = Date.now) {
    this.#fetch = fetch;
    this.#now = now;
  }

  /** Token requests made so far (for tests and metrics). */
  get requests(): number {
    return this.#requests;
  }

  /** The cached token while it is valid, without waiting (the hot path); otherwise undefined: then {@link get}. */
  usable(): string | undefined {
    const cached = this.#cached;
    return cached && this.#now() < cached.refreshAt ? cached.value : undefined;
  }

  /** A valid token: the cached one, the one being fetched, or a new one. Rejects as the fetch does. */
  get(): Promise<string> {
    const usable = this.usable();
    if (usable !== undefined) return Promise.resolve(usable);
    if (!this.#inFlight) {
      this.#requests++;
      this.#inFlight = this.#fetch()
        .then(({ value, lifetimeMs }) => {
          const margin = Math.min(REFRESH_MARGIN_MS, lifetimeMs / 10);
          this.#cached = { value, refreshAt: this.#now() + lifetimeMs - margin };
          return value;
        })
        .finally(() => {
          this.#inFlight = undefined;
        });
    }
    return this.#inFlight;
  }

  /** Forgets `token` if it is still the cached one (the API said it is no longer valid). */
  invalidate(token: string): void {
    if (this.#cached?.value === token) this.#cached = undefined;
  }
}

/**
 * A token endpoint's answer as JSON when it is a JSON object, else `{}` (a proxy's HTML error
 * page: the caller reports it by status), with the text for messages.
 */
export function tokenEndpointAnswer(res: TransportResponse): { json: Record<string, unknown>; text: string } {
  const text = res.body.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return { json: parsed as Record<string, unknown>, text };
    }
  } catch {
    // Not JSON: reported by status.
  }
  return { json: {}, text };
}

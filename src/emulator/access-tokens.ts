/**
 * The OAuth access tokens an emulator issued, with their expiry: what its send endpoint checks
 * a bearer token against. Each emulator mints tokens in its service's own format (Google's
 * `ya29.…`, Huawei's base64 with `/` and `+`), so a client that mangles them is caught.
 */
import { PushError } from '../errors.js';

/** A scenario's `tokenLifetimeSeconds`, checked: a config PushError unless it is > 0. */
export function tokenLifetime(seconds: number): number {
  if (!(seconds > 0)) {
    throw new PushError('config', `tokenLifetimeSeconds must be a number of seconds > 0, got ${seconds}`);
  }
  return seconds;
}

export class IssuedTokens {
  readonly #expiry = new Map<string, number>();
  readonly #mint: () => string;

  constructor(mint: () => string) {
    this.#mint = mint;
  }

  issue(lifetimeSeconds: number, now = Date.now()): string {
    const token = this.#mint();
    this.#expiry.set(token, now + lifetimeSeconds * 1000);
    if (this.#expiry.size > 10_000) this.#prune(now);
    return token;
  }

  /** 'valid', or why not. */
  check(token: string, now = Date.now()): 'valid' | 'unknown' | 'expired' {
    const at = this.#expiry.get(token);
    if (at === undefined) return 'unknown';
    return now < at ? 'valid' : 'expired';
  }

  /** Makes every issued token expired (known, but past its time). */
  expireAll(): void {
    for (const token of this.#expiry.keys()) this.#expiry.set(token, 0);
  }

  /** Forgets every issued token (unknown from now on). */
  revokeAll(): void {
    this.#expiry.clear();
  }

  #prune(now: number): void {
    // Tokens expired on purpose (expireAll) stay known: they must keep answering "expired".
    for (const [token, at] of this.#expiry) if (at <= now && at !== 0) this.#expiry.delete(token);
  }
}

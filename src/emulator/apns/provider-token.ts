/**
 * Provider-token (JWT) checks as APNs makes them ("Establishing a token-based connection to
 * APNs"): ES256 only, a known `kid`, `iss` = the key's team, `iat` at most one hour old; a
 * connection is bound to the team (and key scope) of its first push; a connection may take a
 * new token at most once every 20 minutes.
 */
import { compactVerify, decodeProtectedHeader } from 'jose';
import type { ApnsSigningKey } from './credentials.js';
import type { ApnsReason } from './responses.js';

/** APNs rejects tokens older than this ("more than one hour old"). */
export const TOKEN_MAX_AGE_MS = 60 * 60_000;
/** A connection may take a new token no more often than this. */
export const TOKEN_REFRESH_MIN_MS = 20 * 60_000;
/** Tolerance for a provider clock slightly ahead of ours; beyond it an `iat` is in the future. */
export const CLOCK_SKEW_MS = 60_000;

/** What one connection remembers about its provider token. */
export interface ConnectionAuthState {
  /** Team of the first accepted push: the connection is bound to it. */
  teamId?: string;
  /** Key of the first accepted push. */
  keyId?: string;
  /** The token currently in use on this connection, and when (emulator clock) it was first accepted. */
  token?: string;
  tokenSince?: number;
}

export type TokenCheck =
  | { ok: true; key: ApnsSigningKey; token: string; iat: number; refreshed: boolean }
  | { ok: false; reason: ApnsReason };

interface VerifiedToken {
  key: ApnsSigningKey;
  iat: number;
}

// Signature checks are the costly part; a provider reuses one token for up to an hour, so
// remember the tokens already verified (bounded, so a token-per-request client cannot grow it).
const VERIFIED_CACHE_LIMIT = 10_000;

export class ProviderTokenVerifier {
  private readonly verified = new Map<string, Promise<VerifiedToken | ApnsReason>>();
  /** Distinct valid tokens seen since the last reset. */
  tokensSeen = 0;
  /** Accepted token changes on a connection (the 20-minute rule's subject). */
  refreshes = 0;

  constructor(
    private readonly keys: ReadonlyMap<string, ApnsSigningKey>,
    private readonly environment: 'sandbox' | 'production',
    private readonly now: () => number,
  ) {}

  reset(): void {
    this.verified.clear();
    this.tokensSeen = 0;
    this.refreshes = 0;
  }

  /** Checks an `authorization` header for a request on the connection `state`, binding it on success. */
  async check(authorization: string | undefined, state: ConnectionAuthState): Promise<TokenCheck> {
    const match = authorization === undefined ? null : /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (!match) return { ok: false, reason: 'MissingProviderToken' };
    const token = match[1]!;

    // Concurrent requests carrying one new token share a single verification (and count once).
    let verifying = this.verified.get(token);
    if (verifying === undefined) {
      verifying = this.verifySignature(token);
      if (this.verified.size >= VERIFIED_CACHE_LIMIT) this.verified.clear();
      this.verified.set(token, verifying);
      verifying.then((result) => {
        if (typeof result === 'string') this.verified.delete(token);
        else this.tokensSeen++;
      });
    }
    const verified = await verifying;
    if (typeof verified === 'string') return { ok: false, reason: verified };
    const { key, iat } = verified;

    const now = this.now();
    if (iat * 1000 > now + CLOCK_SKEW_MS) return { ok: false, reason: 'InvalidProviderToken' };
    if (now - iat * 1000 > TOKEN_MAX_AGE_MS) return { ok: false, reason: 'ExpiredProviderToken' };
    if (key.environment !== 'both' && key.environment !== this.environment) {
      return { ok: false, reason: 'BadEnvironmentKeyIdInToken' };
    }
    if (state.teamId !== undefined && state.teamId !== key.teamId) {
      return { ok: false, reason: 'UnrelatedKeyIdInToken' };
    }
    if (state.keyId !== undefined && state.keyId !== key.keyId) {
      // Apple: after a first push with a team-scoped key, a topic-specific key (and the reverse)
      // is unrelated to the connection. Two team-scoped keys of one team are related.
      const bound = this.keys.get(state.keyId);
      if (bound?.topics !== undefined || key.topics !== undefined) {
        return { ok: false, reason: 'UnrelatedKeyIdInToken' };
      }
    }

    let refreshed = false;
    if (state.token !== token) {
      if (state.token !== undefined && state.tokenSince !== undefined) {
        if (now - state.tokenSince < TOKEN_REFRESH_MIN_MS) {
          return { ok: false, reason: 'TooManyProviderTokenUpdates' };
        }
        refreshed = true;
        this.refreshes++;
      }
      state.token = token;
      state.tokenSince = now;
    }
    state.teamId ??= key.teamId;
    state.keyId ??= key.keyId;
    return { ok: true, key, token, iat, refreshed };
  }

  private async verifySignature(token: string): Promise<VerifiedToken | ApnsReason> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return 'InvalidProviderToken';
    }
    // "APNs supports only provider authentication tokens that are signed with the ES256
    // algorithm. Unsecured JWTs, or JWTs signed with other algorithms, are rejected."
    if (header.alg !== 'ES256' || typeof header.kid !== 'string') return 'InvalidProviderToken';
    const key = this.keys.get(header.kid);
    if (key === undefined) return 'InvalidProviderToken';
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(token, key.publicKey, { algorithms: ['ES256'] }));
    } catch {
      return 'InvalidProviderToken';
    }
    let claims: unknown;
    try {
      claims = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return 'InvalidProviderToken';
    }
    if (typeof claims !== 'object' || claims === null) return 'InvalidProviderToken';
    const { iss, iat } = claims as { iss?: unknown; iat?: unknown };
    if (iss !== key.teamId) return 'InvalidProviderToken';
    if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'InvalidProviderToken';
    return { key, iat };
  }
}

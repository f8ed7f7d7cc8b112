/**
 * The push service's side of VAPID (RFC 8292): checks the `Authorization: vapid t=…, k=…`
 * header of each request, strictly. Absent authorization is answered 401 and invalid
 * authorization 403 (RFC 8292 §4.2), with a reason in the body the way Apple's service
 * words it (`BadJwtToken`).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { errors, jwtVerify } from 'jose';

/** RFC 8292 §2: `exp` no more than 24 hours ahead. A minute of leeway for clock skew. */
const MAX_LIFETIME_SECONDS = 24 * 3600;
const CLOCK_LEEWAY_SECONDS = 60;
const MAX_CACHED_TOKENS = 1024;

export type VapidVerdict =
  | { ok: true; publicKey: string; subject: string }
  | { ok: false; status: 401 | 403; reason: string; message: string };

interface VerifiedToken {
  publicKey: string;
  subject: string;
  expiresAtMs: number;
}

function parseAuthorization(header: string): { t: string; k: string } | undefined {
  // `vapid t=<jwt>, k=<key>` (RFC 8292 §3): parameters in any order, comma-separated.
  const match = /^vapid\s+(.*)$/i.exec(header.trim());
  if (!match) return undefined;
  const params = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    params.set(
      part.slice(0, eq).trim().toLowerCase(),
      part
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, ''),
    );
  }
  const t = params.get('t');
  const k = params.get('k');
  return t && k ? { t, k } : undefined;
}

function importVapidPublicKey(k: string): KeyObject | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(k)) return undefined;
  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 0x04) return undefined;
  try {
    return createPublicKey({
      format: 'jwk',
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(1, 33).toString('base64url'),
        y: raw.subarray(33).toString('base64url'),
      },
    });
  } catch {
    return undefined;
  }
}

function invalid(message: string): VapidVerdict {
  return { ok: false, status: 403, reason: 'BadJwtToken', message };
}

/** Verifies VAPID for one push-service origin; tokens that verified are remembered until `exp`. */
export class VapidChecker {
  readonly #audience: string;
  readonly #verified = new Map<string, VerifiedToken>();

  constructor(audience: string) {
    this.#audience = audience;
  }

  async check(header: string | undefined): Promise<VapidVerdict> {
    if (header === undefined || header === '') {
      return {
        ok: false,
        status: 401,
        reason: 'MissingAuthorization',
        message: 'VAPID authorization is required',
      };
    }
    const nowMs = Date.now();
    const cached = this.#verified.get(header);
    if (cached !== undefined) {
      if (nowMs < cached.expiresAtMs)
        return { ok: true, publicKey: cached.publicKey, subject: cached.subject };
      this.#verified.delete(header);
    }
    const parts = parseAuthorization(header);
    if (parts === undefined) {
      return {
        ok: false,
        status: 401,
        reason: 'BadAuthorizationHeader',
        message: 'Authorization must be `vapid t=<JWT>, k=<public key>`',
      };
    }
    const key = importVapidPublicKey(parts.k);
    if (key === undefined) return invalid('k is not a base64url uncompressed P-256 public key');

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(parts.t, key, {
        algorithms: ['ES256'],
        audience: this.#audience,
        requiredClaims: ['exp', 'sub', 'aud'],
        clockTolerance: CLOCK_LEEWAY_SECONDS,
      }));
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) {
        return invalid('JWT signature does not verify with the key in k');
      }
      if (error instanceof errors.JWTExpired) return invalid('JWT has expired');
      if (error instanceof errors.JWTClaimValidationFailed) {
        return invalid(
          `JWT claim ${error.claim} is invalid: ${error.reason} (aud must be ${this.#audience})`,
        );
      }
      return invalid(`JWT is invalid: ${(error as Error).message}`);
    }
    const exp = payload['exp'] as number;
    const nowSeconds = Math.floor(nowMs / 1000);
    if (exp > nowSeconds + MAX_LIFETIME_SECONDS + CLOCK_LEEWAY_SECONDS) {
      return invalid('JWT exp is more than 24 hours ahead');
    }
    const subject = payload['sub'];
    if (typeof subject !== 'string' || !/^(mailto:|https:)/.test(subject)) {
      return invalid('JWT sub must be a mailto: or https: URL');
    }
    if (this.#verified.size >= MAX_CACHED_TOKENS) this.#verified.clear();
    this.#verified.set(header, { publicKey: parts.k, subject, expiresAtMs: exp * 1000 });
    return { ok: true, publicKey: parts.k, subject };
  }
}

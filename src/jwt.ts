/**
 * Compact JWS (RFC 7515) for the providers' own tokens, signed with node:crypto synchronously:
 * APNs provider tokens (ES256), the FCM OAuth assertion (RS256) and VAPID (ES256).
 *
 * Why not jose, which verifies them in the tests and the emulators: its signing goes through
 * WebCrypto, asynchronously, and its first use costs milliseconds on the first send's path.
 * Signing a token is one signature over `base64url(header).base64url(claims)`.
 */
import { type KeyObject, sign } from 'node:crypto';

export type JwtAlgorithm = 'ES256' | 'RS256';

export function signJwt(
  alg: JwtAlgorithm,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: KeyObject,
): string {
  const input = `${base64url({ alg, ...header })}.${base64url(claims)}`;
  // ES256's JWS signature is r ‖ s (RFC 7518 §3.4), not the DER that ECDSA APIs return by
  // default; RS256 is RSASSA-PKCS1-v1_5, node's default padding for RSA keys.
  const signature = sign(
    'sha256',
    Buffer.from(input),
    alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
  );
  return `${input}.${signature.toString('base64url')}`;
}

function base64url(json: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

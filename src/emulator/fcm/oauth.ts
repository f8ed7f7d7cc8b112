/**
 * The emulator's OAuth2 token endpoint: Google's JWT-bearer grant (RFC 7523), checked the
 * way oauth2.googleapis.com checks it, answering in Google's shapes:
 * `{access_token, expires_in, token_type: 'Bearer'}` or `{error, error_description}` (400).
 */
import { randomBytes } from 'node:crypto';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { IssuedTokens } from '../access-tokens.js';
import type { EmulatorServiceAccount } from './service-account.js';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Scopes that allow sending with FCM v1. */
const ACCEPTED_SCOPES = new Set([
  'https://www.googleapis.com/auth/firebase.messaging',
  'https://www.googleapis.com/auth/cloud-platform',
]);
/** Google's words for an assertion whose iat/exp are out of bounds. */
const TIMEFRAME_ERROR =
  'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';
/** Clock skew tolerated between the signer and us. */
const SKEW_S = 60;

export type TokenAnswer =
  | { ok: true; body: { access_token: string; expires_in: number; token_type: 'Bearer' } }
  | { ok: false; status: number; body: { error: string; error_description: string } };

function refuse(error: string, description: string, status = 400): TokenAnswer {
  return { ok: false, status, body: { error, error_description: description } };
}

/** Access tokens the emulator issued; `revokeAll()` makes the next send get 401 UNAUTHENTICATED. */
export class AccessTokens extends IssuedTokens {
  constructor() {
    super(() => `ya29.emu-${randomBytes(24).toString('base64url')}`);
  }
}

/** Checks a token request's form body; issues a token on success. */
export async function answerTokenRequest(
  form: URLSearchParams,
  sa: EmulatorServiceAccount,
  tokens: AccessTokens,
  lifetimeSeconds: number,
): Promise<TokenAnswer> {
  const grantType = form.get('grant_type');
  if (grantType !== JWT_BEARER_GRANT) {
    return refuse('unsupported_grant_type', `Invalid grant_type: ${grantType ?? ''}`);
  }
  const assertion = form.get('assertion');
  if (!assertion) return refuse('invalid_request', 'Missing required parameter: assertion');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return refuse('invalid_grant', 'Invalid JWT: the assertion is not a JWS compact serialization.');
  }
  if (header.alg !== 'RS256')
    return refuse('invalid_grant', `Invalid JWT: algorithm ${String(header.alg)} is not RS256.`);
  if (header.kid !== undefined && header.kid !== sa.account.private_key_id) {
    return refuse('invalid_grant', 'Invalid JWT Signature.');
  }
  let claims: Record<string, unknown>;
  try {
    const { payload } = await compactVerify(assertion, sa.publicKey, { algorithms: ['RS256'] });
    claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
  } catch {
    return refuse('invalid_grant', 'Invalid JWT Signature.');
  }
  if (claims['iss'] !== sa.account.client_email)
    return refuse('invalid_grant', 'Invalid grant: account not found');
  if (claims['aud'] !== sa.account.token_uri) {
    return refuse(
      'invalid_grant',
      `Invalid JWT: audience ${JSON.stringify(claims['aud'])} is not ${sa.account.token_uri}.`,
    );
  }
  const scopes = typeof claims['scope'] === 'string' ? claims['scope'].split(' ') : [];
  if (!scopes.some((s) => ACCEPTED_SCOPES.has(s))) {
    return refuse('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
  }
  const iat = claims['iat'];
  const exp = claims['exp'];
  const now = Math.floor(Date.now() / 1000);
  if (
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    exp <= iat ||
    exp - iat > 3600 ||
    iat > now + SKEW_S ||
    exp < now - SKEW_S
  ) {
    return refuse('invalid_grant', TIMEFRAME_ERROR);
  }
  return {
    ok: true,
    body: { access_token: tokens.issue(lifetimeSeconds), expires_in: lifetimeSeconds, token_type: 'Bearer' },
  };
}

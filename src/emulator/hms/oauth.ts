/**
 * The emulator's OAuth 2.0 token endpoint (`POST /oauth2/v3/token`), client-credentials grant
 * only, checked the way Huawei's is: a form body, `grant_type=client_credentials`, the app's
 * client id and secret. It answers `{access_token, expires_in, token_type: 'Bearer'}`, or
 * Huawei's error shape `{"error":1101,"sub_error":…,"error_description":…}` with 400 (the status
 * is unconfirmed, HMS.md §9). The secret the emulator makes holds `+`, `/`, `=` and `&`, so a
 * client that does not form-encode it is refused, as it would be by Huawei.
 */
import { randomBytes } from 'node:crypto';
import { IssuedTokens } from '../access-tokens.js';

export type TokenAnswer =
  | { ok: true; body: { access_token: string; expires_in: number; token_type: 'Bearer' } }
  | { ok: false; status: number; body: { error: number; sub_error: number; error_description: string } };

function refuse(sub: number, description: string): TokenAnswer {
  return { ok: false, status: 400, body: { error: 1101, sub_error: sub, error_description: description } };
}

/** A client secret of the kind that breaks clients that paste it into a form body raw. */
export function makeClientSecret(): string {
  return `${randomBytes(18).toString('base64')}+/&=%`;
}

/**
 * Access tokens the emulator issued: `expireAll()` makes the next sends get 80200003,
 * `revokeAll()` 80200001.
 */
export class AccessTokens extends IssuedTokens {
  constructor() {
    // Huawei's tokens are base64 with '/' and '+' (and come JSON-escaped as "\/"): always one '/' here.
    super(() => {
      const b64 = randomBytes(48).toString('base64');
      return `CgB6e3x9${b64.slice(0, 24)}/${b64.slice(24)}`;
    });
  }
}

/** Checks a token request's form; issues a token on success. */
export function answerTokenRequest(
  form: URLSearchParams,
  client: { id: string; secret: string },
  tokens: AccessTokens,
  lifetimeSeconds: number,
): TokenAnswer {
  if (form.get('grant_type') !== 'client_credentials') return refuse(20001, 'invalid grant_type');
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  if (!id || !secret) return refuse(20003, 'missing client_id or client_secret');
  if (id !== client.id) return refuse(20152, 'invalid client');
  if (secret !== client.secret) return refuse(12304, 'invalid client_secret');
  return {
    ok: true,
    body: { access_token: tokens.issue(lifetimeSeconds), expires_in: lifetimeSeconds, token_type: 'Bearer' },
  };
}

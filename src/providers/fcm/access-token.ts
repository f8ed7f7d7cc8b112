/**
 * OAuth2 access tokens for FCM, by Google's JWT-bearer grant (RFC 7523): sign an RS256
 * assertion with the service-account key, POST it to the account's `token_uri`, cache the
 * access token until shortly before it expires.
 *
 * Single-flight: however many sends are waiting, one token request is in flight at a time;
 * they all await the same promise. A token the FCM endpoint answered 401 to is dropped with
 * `invalidate(token)`, which only drops it if it is still the cached one, so a burst of
 * 401s for the same stale token leads to ONE new token.
 */

import { signJwt } from '../../jwt.js';
import { maskUrl, redactText } from '../../redact.js';
import {
  AccessTokenCache,
  type AccessTokenGrant,
  tokenEndpointAnswer,
} from '../../transport/access-token-cache.js';
import type { Pool } from '../../transport/types.js';
import { fcmError } from './errors.js';
import type { LoadedServiceAccount } from './service-account.js';

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google refuses assertions living longer than an hour. */
const ASSERTION_LIFETIME_S = 3600;
export interface AccessTokenSourceOptions {
  account: LoadedServiceAccount;
  /** The pool for the token_uri's origin. */
  pool: Pick<Pool, 'request'>;
  now?: () => number;
}

/**
 * Where the provider's access tokens and project id come from: a service-account key (below,
 * no dependency) or Application Default Credentials (application-default.ts).
 */
export interface FcmCredential {
  readonly kind: 'service-account' | 'application-default';
  /** The shared token cache: `usable()` on the hot path, `get()`, `invalidate(token)` after a 401. */
  readonly tokens: AccessTokenCache;
  /** The project id, known at once or found on first use (ADC). Rejects with a `config` PushError. */
  projectId(): Promise<string>;
  /** Headers every request carries besides the token (`x-goog-user-project` for user credentials). */
  extraHeaders(): Record<string, string>;
}

/** The credential of a service-account key: our own signed JWT, no dependency. */
export function serviceAccountCredential(
  options: AccessTokenSourceOptions,
  projectId: string,
): FcmCredential {
  const tokens = new AccessTokenSource(options);
  const none = {};
  return {
    kind: 'service-account',
    tokens,
    projectId: () => Promise.resolve(projectId),
    extraHeaders: () => none,
  };
}

/** The FCM token cache: {@link AccessTokenCache} fed by the JWT-bearer grant. */
export class AccessTokenSource extends AccessTokenCache {
  constructor(options: AccessTokenSourceOptions) {
    const url = new URL(options.account.tokenUri);
    const now = options.now ?? Date.now;
    super(() => requestToken(options.account, options.pool, url.pathname + url.search, now), now);
  }
}

/** One token request: the signed assertion posted to `token_uri`. Rejects with a PushError. */
async function requestToken(
  loaded: LoadedServiceAccount,
  pool: Pick<Pool, 'request'>,
  path: string,
  now: () => number,
): Promise<AccessTokenGrant> {
  const { account, privateKey, tokenUri } = loaded;
  const iat = Math.floor(now() / 1000);
  const assertion = signJwt(
    'RS256',
    account.private_key_id ? { typ: 'JWT', kid: account.private_key_id } : { typ: 'JWT' },
    { scope: FCM_SCOPE, iss: account.client_email, aud: tokenUri, iat, exp: iat + ASSERTION_LIFETIME_S },
    privateKey,
  );
  const body = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString();
  const res = await pool.request({
    method: 'POST',
    path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body,
  });
  const { json, text } = tokenEndpointAnswer(res);
  if (res.status === 200 && typeof json['access_token'] === 'string') {
    const lifetimeMs = (typeof json['expires_in'] === 'number' ? json['expires_in'] : 3600) * 1000;
    return { value: json['access_token'], lifetimeMs };
  }
  const error = typeof json['error'] === 'string' ? json['error'] : undefined;
  const description = typeof json['error_description'] === 'string' ? json['error_description'] : undefined;
  // What the server said is shown, minus anything that looks like a credential it echoed.
  const said = redactText(error ? `${error}${description ? `: ${description}` : ''}` : text.slice(0, 200));
  if (res.status >= 500 || res.status === 429) {
    throw fcmError(
      'unavailable',
      `the OAuth token endpoint ${maskUrl(tokenUri)} answered ${res.status} (${said})`,
      {
        httpStatus: res.status,
        reason: error,
        retryable: true,
      },
    );
  }
  // invalid_grant (bad signature, unknown key, clock skew), invalid_client, invalid_scope…:
  // the key will not work for any device, so this stops the lane.
  throw fcmError(
    'auth',
    `Google refused the service-account assertion for ${account.client_email} (${said}). ` +
      'Check that the key is current (not deleted in the Cloud console) and that the machine clock is right.',
    { httpStatus: res.status, reason: error ?? `HTTP ${res.status}` },
  );
}

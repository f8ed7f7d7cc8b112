/**
 * OAuth 2.0 access tokens for Push Kit, by the client-credentials grant: POST
 * `grant_type=client_credentials&client_id=…&client_secret=…` — form-encoded with
 * URLSearchParams, so a secret holding `&`, `=` or `+` arrives as it is (go-hms-push and the
 * Java demo paste it in raw) — and cache the token until five minutes before `expires_in`
 * runs out (as Huawei's Python demo does; at most a tenth of the lifetime for short test
 * tokens). Huawei allows 1,000 tokens per 5 minutes per app, so this matters.
 *
 * Single-flight: however many batches wait, one token request is in flight at a time. A token
 * the send API rejected (80200001/80200003) is dropped with `invalidate(token)`, which only
 * drops it while it is still the cached one, so a burst of rejections leads to ONE new token.
 */
import {
  AccessTokenCache,
  type AccessTokenGrant,
  tokenEndpointAnswer,
} from '../../transport/access-token-cache.js';
import type { Pool } from '../../transport/types.js';
import { tokenEndpointUnavailable, tokenRefused } from './errors.js';

/** Huawei documents one hour. */
const DEFAULT_LIFETIME_S = 3600;

export interface AccessTokenSourceOptions {
  clientId: string;
  clientSecret: string;
  /** The token URL. */
  url: URL;
  /** The pool for the token URL's origin. */
  pool: Pick<Pool, 'request'>;
  provider: string;
  now?: () => number;
}

/** The Push Kit token cache: {@link AccessTokenCache} fed by the client-credentials grant. */
export class AccessTokenSource extends AccessTokenCache {
  constructor(options: AccessTokenSourceOptions) {
    super(() => requestToken(options), options.now ?? Date.now);
  }
}

/** One token request: the form-encoded client credentials. Rejects with a PushError. */
async function requestToken(options: AccessTokenSourceOptions): Promise<AccessTokenGrant> {
  const { clientId, clientSecret, url, pool, provider } = options;
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
  }).toString();
  const res = await pool.request({
    method: 'POST',
    path: url.pathname + url.search,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body,
  });
  const { json, text } = tokenEndpointAnswer(res);
  const token = json['access_token'];
  if (res.status === 200 && typeof token === 'string' && token !== '') {
    const seconds = json['expires_in'];
    const lifetimeMs =
      (typeof seconds === 'number' && seconds > 0
        ? seconds
        : typeof seconds === 'string' && Number(seconds) > 0
          ? Number(seconds)
          : DEFAULT_LIFETIME_S) * 1000;
    return { value: token, lifetimeMs };
  }
  // Huawei's shape: {"error":1101,"sub_error":20152,"error_description":"invalid client"}.
  const error = json['error'];
  const sub = json['sub_error'];
  const description = typeof json['error_description'] === 'string' ? json['error_description'] : undefined;
  const code =
    error === undefined ? undefined : `${String(error)}${sub === undefined ? '' : `/${String(sub)}`}`;
  const said = code
    ? `${code}${description ? `: ${description}` : ''}`
    : text.slice(0, 200) || `HTTP ${res.status}`;
  if (res.status >= 500 || res.status === 429 || (res.status === 200 && code === undefined)) {
    throw tokenEndpointUnavailable(url, res.status, said, provider);
  }
  throw tokenRefused(
    clientId,
    res.status,
    said,
    code ? `oauth ${code}` : `oauth HTTP ${res.status}`,
    provider,
  );
}

/**
 * The PushErrors the HMS provider raises itself, not read from a send response: bad options,
 * a notification it refuses, a device token that cannot be sent, the guard on 80300007, and
 * the OAuth endpoint's refusals.
 */
import { PushError } from '../../errors.js';
import { maskUrl, redactText } from '../../redact.js';

/** Bad options at `hms()` time. */
export function configError(message: string): PushError {
  return new PushError('config', `hms: ${message}`, { provider: 'hms' });
}

/** A notification the provider refuses at `prepare`: the same for every device, never retryable. */
export function badRequest(message: string): PushError {
  return new PushError('bad-request', message, { provider: 'hms' });
}

/** Longest token accepted (Huawei's are ~130 characters): bounds what one request can carry. */
export const MAX_TOKEN_LENGTH = 1024;

/** A device whose token is empty, not a string, or far longer than any Huawei token. */
export function unusableToken(token: unknown, provider: string): PushError {
  const what =
    typeof token !== 'string'
      ? `not a string (${token === null ? 'null' : typeof token})`
      : token.trim() === ''
        ? 'empty'
        : `${token.length} characters long (Huawei tokens are ~130; at most ${MAX_TOKEN_LENGTH} accepted)`;
  return new PushError('invalid-token', `hms: the device token is ${what}`, {
    provider,
    reason: 'MissingToken',
  });
}

/**
 * Tokens answered 80300007 "all tokens invalid", with no device of the send delivered, from
 * which the lane stops as misconfigured: a tenth of a full batch. One full batch is enough;
 * a few lone tokens at the start of a trickling send are not.
 */
export const MISCONFIGURATION_EVIDENCE = 100;

/**
 * 80300007 before any device of this send was delivered, for too few tokens to tell dead
 * tokens from a wrong app id: retryable, so the devices are tried again (and believed dead
 * once the send has delivered something), never deleted on this answer alone.
 */
export function allInvalidUnconfirmed(
  code: string,
  said: string,
  tokens: number,
  httpStatus: number,
  provider: string,
): PushError {
  return new PushError(
    'unavailable',
    `hms: Huawei answered ${code}${said ? ` "${said}"` : ''} (all ${tokens} tokens of the request invalid) before any device of this send was delivered: ` +
      'too few tokens yet to tell dead tokens from a wrong app id, so none is reported dead; tried again later',
    { provider, reason: `${code} unconfirmed`, httpStatus, retryable: true },
  );
}

/**
 * 80300007 "all tokens invalid" for {@link MISCONFIGURATION_EVIDENCE} tokens or more before any
 * device of this send was delivered: far more often a wrong app id, package name or URL than
 * that many dead tokens, so the lane stops and no token is declared dead.
 */
export function allInvalidBeforeAnySuccess(
  code: string,
  said: string,
  tokens: number,
  appId: string,
  httpStatus: number,
  provider: string,
): PushError {
  return new PushError(
    'config',
    `hms: Huawei answered ${code}${said ? ` "${said}"` : ''} for ${tokens} tokens (all invalid) before any device of this send was delivered. ` +
      `That is what a wrong app id (${appId}), a package name that does not match AppGallery Connect or a wrong endpoint gives, ` +
      'so no token is reported dead: check the app id and client id, and that the tokens come from this app.',
    { provider, reason: `${code} before any success`, httpStatus },
  );
}

/** The OAuth endpoint failed (5xx, 429, or no answer worth reading): retried later. */
export function tokenEndpointUnavailable(
  url: URL,
  status: number,
  said: string,
  provider: string,
): PushError {
  return new PushError(
    'unavailable',
    `hms: the OAuth token endpoint ${maskUrl(url.href)} answered ${status} (${redactText(said)})`,
    { provider, httpStatus: status, reason: `oauth HTTP ${status}`, retryable: true },
  );
}

/** The OAuth endpoint refused our client credentials: stops the lane. */
export function tokenRefused(
  clientId: string,
  status: number,
  said: string,
  reason: string,
  provider: string,
): PushError {
  return new PushError(
    'auth',
    `hms: Huawei's OAuth endpoint refused the client credentials of client id ${clientId} (${status}: ${redactText(said)}). ` +
      'Check clientId and clientSecret against AppGallery Connect (Project settings → App information → OAuth 2.0 client ID).',
    { provider, httpStatus: status, reason },
  );
}

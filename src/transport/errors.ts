/**
 * Low-level failures (socket errno, TLS, HTTP/2 codes) → the PushError codes of the transport
 * contract. `reason` always carries the low-level code so logs can tell ECONNREFUSED from
 * NGHTTP2_ENHANCE_YOUR_CALM.
 */
import { PushError } from '../errors.js';
import { h2ErrorName } from './wire/frames.js';

export { h2ErrorName };

/**
 * OpenSSL / Node codes meaning "this peer's certificate is not acceptable" (or ours is not
 * to the server): a configuration problem that retrying will not fix.
 */
const TLS_VERIFY_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_OSSL_PEM_NO_START_LINE',
  'ERR_OSSL_BAD_DECRYPT',
  'ERR_CRYPTO_OPERATION_FAILED',
]);

export function errorCode(error: unknown): string {
  if (error instanceof PushError) return error.reason ?? error.code;
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return 'ERROR';
}

/**
 * The server rejected our certificate (or has none it accepts): TLS alerts arrive as
 * ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE, ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, …
 */
const TLS_ALERT =
  /^ERR_SSL_.*ALERT_(BAD_CERTIFICATE|CERTIFICATE_|UNKNOWN_CA|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)/;

function isTlsConfigError(code: string): boolean {
  return TLS_VERIFY_CODES.has(code) || TLS_ALERT.test(code);
}

/** Classifies an error met while connecting (TCP, proxy, TLS, first SETTINGS). */
export function connectError(error: unknown, origin: string): PushError {
  if (error instanceof PushError) return error;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') {
    // The server's TLS refused every protocol we offered (RFC 7301 §3.2 alert 120): an HTTP/1.1-only
    // server asked for h2. Retrying cannot help; the endpoint is wrong. Same reason as the
    // handshake that completes on another protocol (connect.ts), so callers treat both alike.
    return new PushError(
      'config',
      `${origin} does not speak the HTTP version asked for (its TLS refused our ALPN protocols): check the endpoint`,
      { reason: 'ALPN', cause: error },
    );
  }
  if (isTlsConfigError(code)) {
    return new PushError('config', `TLS with ${origin} failed: ${message}`, { reason: code, cause: error });
  }
  return new PushError('unavailable', `cannot connect to ${origin}: ${message}`, {
    reason: code,
    cause: error,
  });
}

/**
 * A request lost with its connection or stream. `maybeDelivered`: its bytes had been written,
 * so the server may have processed it (a push delivered) although no answer came back.
 */
export function lostError(
  reason: string,
  origin: string,
  cause?: unknown,
  maybeDelivered = false,
): PushError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  const sent = maybeDelivered ? ' after the request was sent; it may have been delivered' : '';
  return new PushError('unavailable', `request to ${origin} failed (${reason})${sent}${detail}`, {
    reason,
    cause,
    maybeDelivered,
  });
}

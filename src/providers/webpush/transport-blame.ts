/**
 * Transport failures, seen from Web Push: who is at fault when a request to a push service
 * fails below HTTP. The transport calls an untrusted certificate `config` (for APNs and FCM,
 * whose hosts are fixed, it can only be our trust store or our network), but a subscription's
 * endpoint is any server someone registered: an untrusted certificate there is that origin's
 * problem, so it fails that device (and counts against that origin), never the lane.
 */
import { PushError } from '../../errors.js';
import type { OriginVerdict } from './responses.js';

/** Our own TLS options are unusable (a bad `ca`): that is ours, and stops the lane. */
const OWN_TLS_OPTION_CODES: ReadonlySet<string> = new Set([
  'ERR_TLS_OPTIONS',
  'ERR_OSSL_PEM_NO_START_LINE',
  'ERR_OSSL_BAD_DECRYPT',
  'ERR_CRYPTO_OPERATION_FAILED',
]);

/** The peer's certificate or handshake was refused (OpenSSL verify codes, TLS alerts, host name). */
const PEER_TLS = /CERT|VERIFY|SELF_SIGNED|HOSTNAME|ALTNAME|INVALID_CA|INVALID_PURPOSE|^ERR_SSL_/;

/**
 * The server answered bytes no HTTP server sends (HTTP/1 parse errors, HTTP/2 framing errors),
 * or no TLS at all (`ERR_SSL_WRONG_VERSION_NUMBER`: plain text on an https endpoint).
 */
const GARBAGE =
  /^(HPE_|ERR_SSL_|ERR_HTTP2_SESSION_ERROR$|ERR_HTTP2_ERROR$|NGHTTP2_(PROTOCOL|FRAME_SIZE|COMPRESSION|FLOW_CONTROL)_ERROR$|PROTOCOL_ERROR$|FRAME_SIZE_ERROR$|COMPRESSION_ERROR$)/;

/** Proxy answers to CONNECT that concern this one target (a proxy policy refusing it). */
const PROXY_TARGET_REFUSED: ReadonlySet<string> = new Set(['proxy-400', 'proxy-403']);

/** Re-labels a transport failure for an untrusted origin, and says what it shows about it. */
export function blameTransportError(
  error: PushError,
  origin: string,
): { error: PushError; verdict: OriginVerdict } {
  const reason = error.reason ?? '';
  if (error.code === 'config') {
    if (PROXY_TARGET_REFUSED.has(reason)) {
      return {
        error: relabel(error, 'bad-request', `the proxy refused to tunnel to push service ${origin}`),
        verdict: 'proxy',
      };
    }
    if (reason === 'ALPN') {
      return {
        error: relabel(error, 'bad-request', `push service ${origin} speaks no HTTP version we offer`),
        verdict: 'malformed',
      };
    }
    if (!OWN_TLS_OPTION_CODES.has(reason) && PEER_TLS.test(reason)) {
      return {
        error: relabel(
          error,
          'unavailable',
          `the TLS certificate of push service ${origin} is not trusted (${reason}): this subscription's push service is at fault, not your credentials`,
        ),
        verdict: 'tls',
      };
    }
    return { error, verdict: 'neutral' };
  }
  if (error.code === 'unavailable' && GARBAGE.test(reason)) return { error, verdict: 'malformed' };
  return { error, verdict: 'neutral' };
}

function relabel(error: PushError, code: 'bad-request' | 'unavailable', what: string): PushError {
  return new PushError(code, `${what} (${error.message})`, {
    reason: error.reason,
    httpStatus: error.httpStatus,
    retryable: false,
    provider: error.provider,
    cause: error,
  });
}

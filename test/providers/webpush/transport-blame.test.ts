/**
 * Transport failures seen from Web Push: what concerns one origin fails that device (and
 * counts against that origin); what is ours (our TLS options, our proxy's credentials) still
 * stops the lane.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushError, type PushErrorCode } from '../../../src/errors.js';
import { blameTransportError } from '../../../src/providers/webpush/transport-blame.js';

const ORIGIN = 'https://push.example.net';
const blame = (code: PushErrorCode, reason: string) =>
  blameTransportError(new PushError(code, `low-level ${reason}`, { reason, provider: 'webpush' }), ORIGIN);

describe('Web Push transport blame', () => {
  it("an origin's untrusted certificate fails that device (unavailable, not retried), never the lane", () => {
    for (const reason of [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'CERT_HAS_EXPIRED',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
    ]) {
      const { error, verdict } = blame('config', reason);
      assert.equal(verdict, 'tls', reason);
      assert.deepEqual([error.code, error.stopsLane, error.retryable], ['unavailable', false, false], reason);
      assert.equal(error.reason, reason);
      assert.equal(error.provider, 'webpush');
      assert.match(
        error.message,
        /TLS certificate of push service https:\/\/push\.example\.net is not trusted/,
      );
    }
  });

  it('our own unusable TLS options and our proxy refusing our credentials still stop the lane', () => {
    for (const reason of ['ERR_OSSL_PEM_NO_START_LINE', 'ERR_TLS_OPTIONS', 'proxy-407', 'proxy-405']) {
      const { error, verdict } = blame('config', reason);
      assert.equal(verdict, 'neutral', reason);
      assert.equal(error.code, 'config', reason);
      assert.equal(error.stopsLane, true, reason);
    }
  });

  it('a proxy refusing one target, an ALPN refusal and garbage count against that origin only', () => {
    const proxy = blame('config', 'proxy-403');
    assert.deepEqual(
      [proxy.verdict, proxy.error.code, proxy.error.stopsLane],
      ['proxy', 'bad-request', false],
    );
    const alpn = blame('config', 'ALPN');
    assert.deepEqual(
      [alpn.verdict, alpn.error.code, alpn.error.stopsLane],
      ['malformed', 'bad-request', false],
    );
    for (const reason of [
      'HPE_INVALID_CONSTANT',
      'ERR_HTTP2_SESSION_ERROR',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    ]) {
      const { error, verdict } = blame('unavailable', reason);
      assert.equal(verdict, 'malformed', reason);
      assert.equal(error.code, 'unavailable', reason);
    }
  });

  it('lost connections and timeouts say nothing about the origin', () => {
    for (const [code, reason] of [
      ['unavailable', 'ECONNRESET'],
      ['unavailable', 'ECONNREFUSED'],
      ['unavailable', 'EREFUSEDADDRESS'],
      ['timeout', 'timeout'],
      ['aborted', 'aborted'],
    ] as const) {
      const { error, verdict } = blame(code, reason);
      assert.equal(verdict, 'neutral', reason);
      assert.equal(error.code, code, reason);
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isUnauthenticated,
  outcomeFromResponse,
  parseErrorBody,
} from '../../../src/providers/fcm/responses.js';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../../src/transport/retry-after.js';

const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

function body(
  code: number,
  status: string,
  message: string,
  errorCode?: string,
  violations?: unknown[],
): string {
  const details: unknown[] = [];
  if (errorCode) details.push({ '@type': FCM_ERROR, errorCode });
  if (violations)
    details.push({ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: violations });
  return JSON.stringify({ error: { code, message, status, details } });
}

function failure(status: number, text: string, headers: Record<string, string> = {}) {
  const outcome = outcomeFromResponse(status, headers, text);
  assert.equal(outcome.ok, false);
  if (outcome.ok) throw new Error('unreachable');
  return outcome.error;
}

describe('fcm reasons table', () => {
  it('reads the message name on success', () => {
    assert.deepEqual(outcomeFromResponse(200, {}, '{"name":"projects/p/messages/0:1"}'), {
      ok: true,
      messageId: 'projects/p/messages/0:1',
      httpStatus: 200,
    });
  });

  it('UNREGISTERED and SENDER_ID_MISMATCH are invalid tokens', () => {
    const e1 = failure(404, body(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED'));
    assert.equal(e1.code, 'invalid-token');
    assert.equal(e1.reason, 'UNREGISTERED');
    assert.equal(e1.httpStatus, 404);
    assert.equal(e1.retryable, false);
    assert.equal(e1.provider, 'fcm');
    assert.equal(
      failure(403, body(403, 'PERMISSION_DENIED', 'SenderId mismatch', 'SENDER_ID_MISMATCH')).code,
      'invalid-token',
    );
  });

  it('INVALID_ARGUMENT is an invalid token only when the token is at fault', () => {
    const byViolation = body(400, 'INVALID_ARGUMENT', 'Invalid value', 'INVALID_ARGUMENT', [
      { field: 'message.token', description: 'Invalid registration token' },
    ]);
    assert.equal(failure(400, byViolation).code, 'invalid-token');
    const byMessage = body(
      400,
      'INVALID_ARGUMENT',
      'The registration token is not a valid FCM registration token',
      'INVALID_ARGUMENT',
    );
    assert.equal(failure(400, byMessage).code, 'invalid-token');
    const payload = body(
      400,
      'INVALID_ARGUMENT',
      "Invalid value at 'message.data[0].value' (TYPE_STRING), 12",
      undefined,
      [{ field: 'message.data[0].value', description: 'x' }],
    );
    const e = failure(400, payload);
    assert.equal(e.code, 'bad-request');
    assert.equal(e.reason, 'INVALID_ARGUMENT');
    assert.match(e.message, /message\.data\[0\]\.value/);
  });

  it('reads Retry-After with the shared parser: garbage is no Retry-After, a huge one is capped', () => {
    const after = (value: string) =>
      failure(429, body(429, 'RESOURCE_EXHAUSTED', 'x', 'QUOTA_EXCEEDED'), { 'retry-after': value })
        .retryAfterMs;
    assert.equal(after('-5'), undefined);
    assert.equal(after('99999999999999999999'), MAX_RETRY_AFTER_MS);
  });

  it('QUOTA_EXCEEDED, UNAVAILABLE and INTERNAL are retryable and honour Retry-After', () => {
    const q = failure(429, body(429, 'RESOURCE_EXHAUSTED', 'Quota', 'QUOTA_EXCEEDED'), {
      'retry-after': '1',
    });
    assert.equal(q.code, 'rate-limited');
    assert.equal(q.retryable, true);
    assert.equal(q.retryAfterMs, 1000);
    const u = failure(503, body(503, 'UNAVAILABLE', 'x', 'UNAVAILABLE'), { 'retry-after': '7' });
    assert.deepEqual([u.code, u.retryable, u.retryAfterMs], ['unavailable', true, 7000]);
    const i = failure(500, body(500, 'INTERNAL', 'x', 'INTERNAL'));
    assert.deepEqual([i.code, i.retryable, i.retryAfterMs], ['unavailable', true, undefined]);
  });

  it('PERMISSION_DENIED and UNAUTHENTICATED are auth (stop the lane); THIRD_PARTY_AUTH_ERROR fails only its token', () => {
    const t = failure(
      401,
      body(401, 'UNAUTHENTICATED', 'Auth error from APNS or Web Push Service', 'THIRD_PARTY_AUTH_ERROR'),
    );
    // About the APNs / web push credential of this token's platform: Android devices still go.
    assert.equal(t.code, 'bad-request');
    assert.equal(t.stopsLane, false);
    assert.equal(t.retryable, false);
    assert.match(t.message, /upload a valid APNs key/);
    const p = failure(
      403,
      body(403, 'PERMISSION_DENIED', "Permission 'cloudmessaging.messages.create' denied"),
    );
    assert.equal(p.code, 'auth');
    assert.equal(p.stopsLane, true);
    assert.equal(
      failure(401, body(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.')).code,
      'auth',
    );
  });

  it('UNSPECIFIED_ERROR fails without deleting the token or retrying', () => {
    const e = failure(400, body(400, 'UNKNOWN', 'x', 'UNSPECIFIED_ERROR'));
    assert.notEqual(e.code, 'invalid-token');
    assert.equal(e.retryable, false);
  });

  it('falls back on the HTTP status for bodies that are not google.rpc.Status', () => {
    assert.equal(failure(502, '<html>bad gateway</html>').code, 'unavailable');
    assert.equal(failure(429, '').code, 'rate-limited');
    assert.equal(failure(418, '').code, 'bad-request');
  });

  it('recognises the refresh-the-token answer only for a plain 401 UNAUTHENTICATED', () => {
    assert.equal(isUnauthenticated(401, parseErrorBody(body(401, 'UNAUTHENTICATED', 'x'))), true);
    assert.equal(
      isUnauthenticated(401, parseErrorBody(body(401, 'UNAUTHENTICATED', 'x', 'THIRD_PARTY_AUTH_ERROR'))),
      false,
    );
    assert.equal(isUnauthenticated(403, parseErrorBody(body(403, 'PERMISSION_DENIED', 'x'))), false);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('30', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushError } from '../../../src/errors.js';
import {
  entryForStatus,
  interpretResponse,
  parseErrorBody,
  REASONS,
} from '../../../src/providers/apns/responses.js';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../../src/transport/retry-after.js';

function respond(status: number, body?: unknown, headers: Record<string, string> = {}) {
  return interpretResponse(
    {
      status,
      headers,
      body:
        body === undefined
          ? Buffer.alloc(0)
          : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    },
    'production',
  );
}

function failure(result: ReturnType<typeof respond>): PushError {
  assert.equal(result.outcome.ok, false);
  if (result.outcome.ok) throw new Error('unreachable');
  assert.ok(result.outcome.error instanceof PushError);
  return result.outcome.error;
}

/**
 * The specification, from PROTOCOLS.md §1 "Responses": status, reason → code, retryable,
 * whether the engine stops the lane, and what the provider does first.
 */
const EXPECTED: Array<[number, string, string, boolean, string | undefined]> = [
  [400, 'BadDeviceToken', 'invalid-token', false, undefined],
  [400, 'DeviceTokenNotForTopic', 'invalid-token', false, undefined],
  [410, 'Unregistered', 'invalid-token', false, undefined],
  [410, 'ExpiredToken', 'invalid-token', false, undefined],
  [400, 'BadCollapseId', 'bad-request', false, undefined],
  [400, 'BadExpirationDate', 'bad-request', false, undefined],
  [400, 'BadMessageId', 'bad-request', false, undefined],
  [400, 'BadPriority', 'bad-request', false, undefined],
  [400, 'BadTopic', 'config', false, undefined],
  [400, 'DuplicateHeaders', 'bad-request', false, undefined],
  [400, 'InvalidPushType', 'bad-request', false, undefined],
  [400, 'MissingDeviceToken', 'bad-request', false, undefined],
  // Broadcast push (docs/APNS-BROADCAST.md): the reason of Apple's sample broadcast error.
  [400, 'MissingChannelId', 'bad-request', false, undefined],
  [400, 'MissingTopic', 'config', false, undefined],
  [400, 'PayloadEmpty', 'bad-request', false, undefined],
  [400, 'TopicDisallowed', 'config', false, undefined],
  [400, 'IdleTimeout', 'unavailable', true, 'new-connection'],
  [413, 'PayloadTooLarge', 'payload-too-large', false, undefined],
  [403, 'ExpiredProviderToken', 'auth', false, 'refresh-token'],
  [403, 'BadCertificate', 'auth', false, undefined],
  [403, 'BadCertificateEnvironment', 'auth', false, undefined],
  [403, 'Forbidden', 'auth', false, undefined],
  [403, 'InvalidProviderToken', 'auth', false, undefined],
  [403, 'MissingProviderToken', 'auth', false, undefined],
  [403, 'BadEnvironmentKeyIdInToken', 'auth', false, undefined],
  [403, 'UnrelatedKeyIdInToken', 'unavailable', true, 'new-connection'],
  [404, 'BadPath', 'internal', false, undefined],
  [405, 'MethodNotAllowed', 'internal', false, undefined],
  [429, 'TooManyRequests', 'rate-limited', true, undefined],
  [429, 'TooManyProviderTokenUpdates', 'rate-limited', true, undefined],
  [500, 'InternalServerError', 'unavailable', true, undefined],
  [503, 'ServiceUnavailable', 'unavailable', true, undefined],
  [503, 'Shutdown', 'unavailable', true, 'new-connection'],
];

describe('apns reasons table', () => {
  it('covers every reason of PROTOCOLS.md and nothing unexplained', () => {
    assert.deepEqual(Object.keys(REASONS).sort(), EXPECTED.map(([, reason]) => reason).sort());
    for (const [reason, entry] of Object.entries(REASONS)) {
      assert.ok(entry.apple.length > 10, `${reason} carries Apple's description`);
    }
  });

  for (const [status, reason, code, retryable, action] of EXPECTED) {
    it(`${status} ${reason} → ${code}${retryable ? ' (retryable)' : ''}${action ? `, ${action}` : ''}`, () => {
      const result = respond(status, { reason });
      const error = failure(result);
      assert.equal(error.code, code);
      assert.equal(error.retryable, retryable);
      assert.equal(error.reason, reason);
      assert.equal(error.httpStatus, status);
      assert.equal(error.provider, 'apns');
      assert.equal(error.stopsLane, code === 'auth' || code === 'config');
      assert.equal(result.action, action);
      assert.equal(result.outcome.httpStatus, status);
      assert.equal(REASONS[reason as keyof typeof REASONS].status, status);
      // The message names the reason and carries Apple's words.
      assert.match(error.message, new RegExp(`^apns: ${reason} \\(${status}\\)`));
      assert.ok(error.message.includes(REASONS[reason as keyof typeof REASONS].apple));
    });
  }

  it('stops the lane for auth and config reasons only', () => {
    assert.equal(failure(respond(403, { reason: 'InvalidProviderToken' })).stopsLane, true);
    assert.equal(failure(respond(400, { reason: 'TopicDisallowed' })).stopsLane, true);
    assert.equal(failure(respond(400, { reason: 'BadDeviceToken' })).stopsLane, false);
  });

  it('hints at the environment for BadDeviceToken', () => {
    assert.match(failure(respond(400, { reason: 'BadDeviceToken' })).message, /production/);
  });
});

describe('apns responses', () => {
  it('200 is sent, with apns-id as messageId', () => {
    const result = respond(200, undefined, { 'apns-id': '123e4567-e89b-12d3-a456-4266554400a0' });
    assert.deepEqual(result.outcome, {
      ok: true,
      messageId: '123e4567-e89b-12d3-a456-4266554400a0',
      httpStatus: 200,
    });
  });

  it("410 keeps Apple's timestamp as invalidatedAt", () => {
    const error = failure(respond(410, { reason: 'Unregistered', timestamp: 1_700_000_000_123 }));
    assert.equal(error.code, 'invalid-token');
    assert.deepEqual(error.invalidatedAt, new Date(1_700_000_000_123));
  });

  it('no invalidatedAt without a timestamp', () => {
    assert.equal(failure(respond(410, { reason: 'ExpiredToken' })).invalidatedAt, undefined);
  });

  it('reads Retry-After with the shared parser: garbage is no Retry-After, a huge one is capped', () => {
    const after = (value: string) =>
      failure(respond(429, { reason: 'TooManyRequests' }, { 'retry-after': value })).retryAfterMs;
    assert.equal(after('-5'), undefined);
    assert.equal(after('99999999999999999999'), MAX_RETRY_AFTER_MS);
  });

  it('honours Retry-After in seconds and as an HTTP date', () => {
    assert.equal(
      failure(respond(429, { reason: 'TooManyRequests' }, { 'retry-after': '30' })).retryAfterMs,
      30_000,
    );
    assert.equal(failure(respond(503, { reason: 'ServiceUnavailable' })).retryAfterMs, undefined);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 12:00:10 GMT', Date.UTC(2025, 0, 1, 12, 0, 0)), 10_000);
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  it('maps unknown reasons by status class', () => {
    const cases: Array<[number, string, boolean]> = [
      [400, 'bad-request', false],
      [403, 'auth', false],
      [404, 'internal', false],
      [410, 'invalid-token', false],
      [413, 'payload-too-large', false],
      [429, 'rate-limited', true],
      [500, 'unavailable', true],
      [502, 'unavailable', true],
      [418, 'bad-request', false],
    ];
    for (const [status, code, retryable] of cases) {
      const error = failure(respond(status, { reason: 'SomethingNew' }));
      assert.equal(error.code, code, `${status}`);
      assert.equal(error.retryable, retryable, `${status}`);
      assert.equal(error.reason, 'SomethingNew');
      assert.deepEqual(entryForStatus(status), { code, retryable });
    }
  });

  it('copes with a body that is not APNs JSON (a proxy page)', () => {
    const error = failure(respond(502, '<html>Bad gateway</html>'));
    assert.equal(error.code, 'unavailable');
    assert.equal(error.reason, undefined);
    assert.match(error.message, /HTTP 502/);
    assert.deepEqual(parseErrorBody(Buffer.from('null')), {});
    assert.deepEqual(parseErrorBody(Buffer.from('{"reason":5}')), {});
  });
});

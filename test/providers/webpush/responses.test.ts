import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Outcome } from '../../../src/provider.js';
import {
  classifyResponse,
  outcomeFromResponse,
  WEB_PUSH_STATUSES,
} from '../../../src/providers/webpush/responses.js';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../../src/transport/retry-after.js';

function map(status: number, body = '', headers: Record<string, string> = {}): Outcome {
  return outcomeFromResponse(status, headers, Buffer.from(body), 'webpush');
}

function failure(outcome: Outcome) {
  assert.equal(outcome.ok, false);
  return (outcome as Extract<Outcome, { ok: false }>).error;
}

describe('Web Push response table', () => {
  it("answers each status of WEB_PUSH_STATUSES as its entry says, with the service's words beside it", () => {
    const statuses = Object.keys(WEB_PUSH_STATUSES).map(Number);
    assert.deepEqual(statuses, [400, 401, 403, 404, 410, 413, 429]);
    for (const status of statuses) {
      const entry = WEB_PUSH_STATUSES[status]!;
      assert.ok(entry.said.length > 10, `${status}: the service's words`);
      const { outcome, verdict } = classifyResponse(
        status,
        { 'retry-after': '3' },
        Buffer.from('no'),
        'webpush',
      );
      const error = failure(outcome);
      assert.deepEqual(
        [error.code, error.message, verdict, error.retryAfterMs],
        [
          entry.code,
          `${entry.message} (HTTP ${status}: no)`,
          entry.verdict,
          entry.retryAfter ? 3000 : undefined,
        ],
        String(status),
      );
    }
  });

  it('201 is sent, with the Location as messageId', () => {
    assert.deepEqual(map(201, '', { location: 'https://fcm.googleapis.com/0:1705%0f49' }), {
      ok: true,
      messageId: 'https://fcm.googleapis.com/0:1705%0f49',
      httpStatus: 201,
    });
    assert.deepEqual(map(201), { ok: true, httpStatus: 201 });
    assert.equal(map(200).ok, true);
  });

  it('404 and 410 are invalid tokens, with the service body as reason', () => {
    for (const status of [404, 410]) {
      const error = failure(
        map(status, '{"code":410,"errno":106,"error":"Gone","message":"Request did not validate"}'),
      );
      assert.equal(error.code, 'invalid-token');
      assert.equal(error.httpStatus, status);
      assert.equal(error.provider, 'webpush');
      assert.equal(error.reason, 'Request did not validate: Gone: errno 106');
      assert.equal(error.retryable, false);
    }
    assert.equal(failure(map(410, '{"reason":"Unregistered"}')).reason, 'Unregistered');
    assert.equal(failure(map(404)).reason, 'HTTP 404');
  });

  it('413 is payload-too-large; 400 bad-request', () => {
    assert.equal(failure(map(413)).code, 'payload-too-large');
    const bad = failure(map(400, 'TTL header is invalid'));
    assert.equal(bad.code, 'bad-request');
    assert.equal(bad.reason, 'TTL header is invalid');
  });

  it('reads Retry-After with the shared parser: garbage is no Retry-After, a huge one is capped', () => {
    assert.equal(failure(map(429, '', { 'retry-after': '-5' })).retryAfterMs, undefined);
    assert.equal(
      failure(map(503, '', { 'retry-after': '99999999999999999999' })).retryAfterMs,
      MAX_RETRY_AFTER_MS,
    );
  });

  it('429 is rate-limited with Retry-After (seconds or HTTP-date)', () => {
    const error = failure(map(429, 'slow down', { 'retry-after': '7' }));
    assert.equal(error.code, 'rate-limited');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 7000);
    assert.equal(failure(map(429)).retryAfterMs, undefined);
    assert.equal(parseRetryAfter(new Date(1_000_000 + 30_000).toUTCString(), 1_000_000), 30_000);
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  it('401/403 fail the device (bad-request), never the lane: one server cannot prove our key is wrong', () => {
    const apple = failure(map(403, '{"reason":"BadJwtToken"}'));
    assert.equal(apple.code, 'bad-request');
    assert.equal(apple.stopsLane, false);
    assert.equal(apple.retryable, false);
    assert.equal(apple.reason, 'BadJwtToken');
    assert.match(apple.message, /refused our VAPID authorization/);
    assert.equal(failure(map(401, 'Unauthorized')).code, 'bad-request');
    assert.equal(
      classifyResponse(403, {}, Buffer.from('{"reason":"BadJwtToken"}'), 'webpush').verdict,
      'vapid',
    );
    assert.equal(classifyResponse(401, {}, Buffer.from('nope'), 'webpush').verdict, 'vapid');
    for (const [status, body] of [
      [
        403,
        'the VAPID credentials in the authorization header do not correspond to the credentials used to create the subscriptions.',
      ],
      [
        403,
        'the key in the authorization header does not correspond to the sender ID used to subscribe this user.',
      ],
      [401, '{"code":401,"errno":109,"error":"Unauthorized","message":"VAPID public key mismatch"}'],
    ] as const) {
      const error = failure(map(status, body));
      assert.equal(error.code, 'bad-request', body);
      assert.equal(classifyResponse(status, {}, Buffer.from(body), 'webpush').verdict, 'ok', body);
      assert.equal(error.stopsLane, false);
      assert.equal(error.retryable, false);
    }
  });

  it('5xx is unavailable and retryable, with Retry-After when given', () => {
    for (const status of [500, 502, 503, 504]) {
      const error = failure(map(status, 'oops', { 'retry-after': '3' }));
      assert.equal(error.code, 'unavailable');
      assert.equal(error.retryable, true);
      assert.equal(error.retryAfterMs, 3000);
    }
  });

  it('says what each answer shows about the origin (for the per-origin circuit)', () => {
    const verdict = (status: number) => classifyResponse(status, {}, Buffer.alloc(0), 'webpush').verdict;
    for (const status of [200, 201, 400, 404, 410, 413]) assert.equal(verdict(status), 'ok', String(status));
    for (const status of [429, 500, 503]) assert.equal(verdict(status), 'neutral', String(status));
    // A redirect (never followed), a teapot, an informational status: no push service answers that.
    for (const status of [301, 302, 307, 418, 451, 101]) {
      assert.equal(verdict(status), 'malformed', String(status));
      assert.equal(failure(map(status)).stopsLane, false);
    }
  });

  it('keeps long bodies as a truncated reason', () => {
    const reason = failure(map(400, 'x'.repeat(5000))).reason!;
    assert.ok(reason.length <= 301);
    assert.ok(reason.endsWith('…'));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  errorBody,
  failedEntry,
  goJson,
  hideToken,
  overLimit,
  successBody,
} from '../../../src/server/gorush/responses.js';

describe('gorush responses', () => {
  it('masks tokens as hideToken(token, 10) does', () => {
    assert.equal(hideToken(''), '');
    assert.equal(hideToken('short'), '*****');
    assert.equal(hideToken('1234567890123456789'), '*'.repeat(19));
    assert.equal(hideToken('aaaaaaaaaaMIDDLEbbbbbbbbbb'), '**********MIDDLE**********');
    assert.equal(hideToken('0123456789abcdefghij'), '*'.repeat(20));
    // strings.ReplaceAll: an inner repeat of the first ten characters is masked too.
    assert.equal(hideToken('0123456789xx0123456789yyABCDEFGHIJ'), '**********xx**********yy**********');
  });

  it('writes the success body with sorted keys, and the three 400 bodies', () => {
    assert.equal(successBody(60, []), '{"counts":60,"logs":[],"success":"ok"}');
    assert.equal(
      errorBody(400, 'Missing notifications field.'),
      '{"code":400,"message":"Missing notifications field."}',
    );
    assert.equal(overLimit(50, 10), 'Number of notifications(50) over limit(10)');
  });

  it('writes log entries in gorush field order, notif_id only when given, with masking and redaction', () => {
    const token = 'aaaaaaaaaaMIDDLEbbbbbbbbbb';
    assert.equal(
      JSON.stringify(
        failedEntry(
          { platform: 'android', token, message: 'Hello World Android!', error: 'UNREGISTERED' },
          { maskTokens: true },
        ),
      ),
      '{"type":"failed-push","platform":"android","token":"**********MIDDLE**********","message":"Hello World Android!","error":"UNREGISTERED"}',
    );
    assert.deepEqual(
      Object.keys(
        failedEntry(
          { notifId: 'n1', platform: 'ios', token, error: 'e' },
          { maskTokens: false, hideMessages: true },
        ),
      ),
      ['notif_id', 'type', 'platform', 'token', 'message', 'error'],
    );
    const entry = failedEntry(
      { platform: 'ios', token, message: 'm', error: 'e' },
      { maskTokens: false, hideMessages: true },
    );
    assert.equal(entry.token, token);
    assert.equal(entry.message, '(message redacted)');
  });

  it("escapes like Go's json.Marshal", () => {
    assert.equal(goJson({ m: '<a&b>\u2028' }), '{"m":"\\u003ca\\u0026b\\u003e\\u2028"}');
  });
});

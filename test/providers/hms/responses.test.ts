/** The HMS answer table: each code's outcome, the two shapes of a partial answer, the edge cases. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Outcome } from '../../../src/provider.js';
import { answerBatch, HMS_RESULT_CODES, illegalTokens } from '../../../src/providers/hms/responses.js';

const body = (json: unknown) => Buffer.from(JSON.stringify(json));
const tokens = ['a', 'b', 'c'];

function outcomes(answer: ReturnType<typeof answerBatch>): Outcome[] {
  assert.equal(answer.kind, 'outcomes', JSON.stringify(answer));
  if (answer.kind !== 'outcomes') throw new Error('unreachable');
  return answer.outcomes;
}
const codeOf = (o: Outcome) => (o.ok ? 'sent' : o.error.code);

describe('hms answers', () => {
  it('80000000: every token sent, requestId as the message id', () => {
    const got = outcomes(
      answerBatch(200, body({ code: '80000000', msg: 'Success', requestId: 'r1' }), tokens),
    );
    assert.deepEqual(got.map(codeOf), ['sent', 'sent', 'sent']);
    assert.equal(got[0]!.ok && got[0]!.messageId, 'r1');
  });

  it('80100000 v1 and v3: only the listed tokens fail; a v3 reason about rights keeps the token', () => {
    const v1 = answerBatch(
      200,
      body({ code: '80100000', msg: JSON.stringify({ success: 2, failure: 1, illegal_tokens: ['b'] }) }),
      tokens,
    );
    assert.deepEqual(outcomes(v1).map(codeOf), ['sent', 'invalid-token', 'sent']);
    const v3 = answerBatch(
      200,
      body({
        code: '80100000',
        msg: JSON.stringify({
          illegalTokens: { tokenFormatError: ['a'], noRight: ['c'] },
          success: 1,
          failure: 2,
        }),
      }),
      tokens,
    );
    assert.deepEqual(outcomes(v3).map(codeOf), ['invalid-token', 'sent', 'bad-request']);
  });

  it('80100000 whose msg cannot be read: not re-sent, not deleted, marked maybe delivered', () => {
    const got = outcomes(answerBatch(200, body({ code: '80100000', msg: 'garbled' }), tokens));
    assert.equal(got.length, tokens.length);
    for (const o of got) {
      assert.equal(o.ok, false);
      if (o.ok) continue;
      assert.equal(o.error.retryable, false);
      assert.equal(o.error.maybeDelivered, true);
      assert.notEqual(o.error.code, 'invalid-token');
    }
  });

  it('503 and 502 retry the whole batch, whatever the body; 81000001 too', () => {
    for (const [status, raw] of [
      [503, Buffer.from('<html>busy</html>')],
      [502, body({ code: '80000000' })],
      [500, body({ code: '81000001', msg: 'System internal error' })],
    ] as const) {
      const got = outcomes(answerBatch(status, raw, tokens));
      assert.ok(
        got.every((o) => !o.ok && o.error.retryable),
        `${status} is retried`,
      );
    }
    const throttled = outcomes(answerBatch(503, Buffer.from(''), tokens))[0]!;
    assert.equal(!throttled.ok && throttled.error.code, 'rate-limited');
  });

  it('80200001/80200003 and a bare 401 ask for a new token; config-class codes stop the lane', () => {
    assert.equal(
      answerBatch(401, body({ code: '80200003', msg: 'Oauth Token expired' }), tokens).kind,
      'reauth',
    );
    assert.equal(answerBatch(401, body({ code: '80200001' }), tokens).kind, 'reauth');
    assert.equal(answerBatch(401, Buffer.from('nope'), tokens).kind, 'reauth');
    for (const code of ['80300002', '80300011', '80300013']) {
      const [o] = outcomes(answerBatch(400, body({ code, msg: 'x' }), tokens));
      assert.equal(!o!.ok && o!.error.code, 'config', code);
      assert.equal(!o!.ok && o!.error.stopsLane, true);
    }
    const [auth] = outcomes(answerBatch(400, body({ code: '80600003' }), tokens));
    assert.equal(!auth!.ok && auth!.error.code, 'auth');
    const [big] = outcomes(answerBatch(400, body({ code: '80300008' }), tokens));
    assert.equal(!big!.ok && big!.error.code, 'payload-too-large');
    const [bad] = outcomes(answerBatch(400, body({ code: '80100003', msg: 'Illegal payload, x' }), tokens));
    assert.equal(!bad!.ok && bad!.error.code, 'bad-request');
    assert.match(!bad!.ok ? bad!.error.message : '', /Illegal payload, x.*message structure/);
  });

  it('80300007 is handed to the provider (which guards it), with per-token reasons when given', () => {
    const answer = answerBatch(400, body({ code: '80300007', msg: 'All the tokens are invalid' }), tokens);
    assert.equal(answer.kind, 'all-invalid');
    if (answer.kind !== 'all-invalid') return;
    assert.deepEqual(answer.outcomes.map(codeOf), ['invalid-token', 'invalid-token', 'invalid-token']);
  });

  it('an unknown code is neither retried nor a dead token', () => {
    const [o] = outcomes(answerBatch(400, body({ code: '82000004', msg: 'Some token is wrong' }), tokens));
    assert.equal(!o!.ok && o!.error.code, 'bad-request');
    assert.equal(!o!.ok && o!.error.reason, '82000004');
  });

  it('every entry of the table says what Huawei means', () => {
    for (const [code, rule] of Object.entries(HMS_RESULT_CODES)) {
      assert.match(code, /^8\d{7}$/);
      assert.ok(rule.meaning.length >= 8, code);
    }
  });

  it('illegalTokens reads both shapes and nothing else', () => {
    assert.deepEqual([...illegalTokens('{"illegal_tokens":["x"]}')!.keys()], ['x']);
    assert.deepEqual([...illegalTokens('{"illegalTokens":{"r":["y"]}}')!.entries()], [['y', 'r']]);
    assert.equal(illegalTokens('{"success":1}'), undefined);
    assert.equal(illegalTokens('not json'), undefined);
  });
});

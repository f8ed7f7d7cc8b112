/**
 * A provider whose prepared send has the callback form (SEND_TO, what APNs and FCM use): the
 * engine takes it instead of `send`, every device gets its outcome once, a callback form that
 * throws fails only that device (`internal`), and a retryable outcome is retried through it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PushClient } from '../../src/client.js';
import type { Device } from '../../src/device.js';
import { PushError } from '../../src/errors.js';
import {
  answerLater,
  type CallbackSend,
  type Outcome,
  type OutcomeSink,
  type PreparedSend,
  type Provider,
  SEND_TO,
  type SendContext,
} from '../../src/provider.js';

class CallbackProvider implements Provider {
  readonly name = 'callback';
  readonly platforms = ['ios'] as const;
  promiseSends = 0;
  callbackSends = 0;
  private attempts = new Map<string, number>();

  prepare(): PreparedSend {
    const provider = this;
    const prepared: PreparedSend & CallbackSend = {
      send: () => {
        provider.promiseSends++;
        return Promise.resolve({ ok: true });
      },
      [SEND_TO]<J>(device: Device, ctx: SendContext, sink: OutcomeSink<J>, job: J): void {
        provider.callbackSends++;
        const token = device.token as string;
        if (token === 'throws') throw new Error('a bug in the provider');
        provider.attempts.set(token, ctx.attempt);
        const outcome: Outcome =
          token === 'flaky' && ctx.attempt === 1
            ? { ok: false, error: new PushError('unavailable', 'try again', { retryable: true }) }
            : { ok: true, messageId: `${token}#${ctx.attempt}` };
        // Answered later, as a pool would.
        setTimeout(() => sink.outcome(outcome, job), 1);
      },
    };
    return prepared;
  }

  async close(): Promise<void> {}
  async destroy(): Promise<void> {}
}

test('the engine sends through the callback form: one outcome per device, throws and retries included', async (t) => {
  const provider = new CallbackProvider();
  const client = new PushClient({ providers: [provider], retry: { baseDelayMs: 1, maxDelayMs: 5 } });
  t.after(() => client.close());
  const tokens = ['a', 'b', 'throws', 'flaky', 'c'];
  const feedback = [];
  for await (const fb of client.send(
    { title: 't' },
    tokens.map((token) => ({ platform: 'ios' as const, token })),
  )) {
    feedback.push(fb);
  }
  const byToken = new Map(feedback.map((fb) => [fb.device.token, fb]));
  assert.equal(feedback.length, 5, 'one feedback per device');
  assert.equal(provider.promiseSends, 0, 'send() is not used when the callback form is there');
  assert.equal(byToken.get('a')!.status, 'sent');
  assert.equal(byToken.get('a')!.messageId, 'a#1');
  assert.equal(byToken.get('flaky')!.status, 'sent');
  assert.equal(byToken.get('flaky')!.attempts, 2);
  assert.equal(byToken.get('flaky')!.messageId, 'flaky#2');
  const thrown = byToken.get('throws')!;
  assert.equal(thrown.status, 'failed');
  assert.equal(thrown.error?.code, 'internal');
  assert.match(thrown.error!.message, /provider callback threw: a bug in the provider/);
});

test('answerLater hands the outcome over after the call, not during it', async () => {
  const got: number[] = [];
  let during = true;
  answerLater({ outcome: (_outcome, job: number) => got.push(during ? -job : job) }, { ok: true }, 7);
  during = false;
  await Promise.resolve();
  assert.deepEqual(got, [7]);
});

/** OAuth client credentials: form-encoded, single-flight, refreshed ahead of expires_in. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PushError } from '../../../src/errors.js';
import { AccessTokenSource } from '../../../src/providers/hms/access-token.js';
import type { TransportRequest, TransportResponse } from '../../../src/transport/types.js';

function fakePool(answers: Array<{ status: number; json: unknown }>) {
  const requests: TransportRequest[] = [];
  let release: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    requests,
    release: () => release!(),
    pool: {
      async request(req: TransportRequest): Promise<TransportResponse> {
        requests.push(req);
        await gate;
        const answer = answers.shift() ?? { status: 500, json: {} };
        return {
          status: answer.status,
          headers: {},
          body: Buffer.from(JSON.stringify(answer.json)),
          retireConnection() {},
        };
      },
    },
  };
}

const secret = 'a&b=c+d/e%f';

describe('hms access tokens', () => {
  it('one request for a burst, the secret form-encoded, cached until 5 minutes before expiry', async () => {
    let now = 1_000_000;
    const fake = fakePool([
      { status: 200, json: { access_token: 'one', expires_in: 3600, token_type: 'Bearer' } },
      { status: 200, json: { access_token: 'two', expires_in: 3600, token_type: 'Bearer' } },
    ]);
    const source = new AccessTokenSource({
      clientId: '123',
      clientSecret: secret,
      url: new URL('https://oauth.example/oauth2/v3/token'),
      pool: fake.pool,
      provider: 'hms',
      now: () => now,
    });
    const burst = Promise.all([source.get(), source.get(), source.get()]);
    fake.release();
    assert.deepEqual(await burst, ['one', 'one', 'one']);
    assert.equal(fake.requests.length, 1);
    const form = new URLSearchParams(String(fake.requests[0]!.body));
    assert.equal(form.get('client_secret'), secret);
    assert.equal(form.get('grant_type'), 'client_credentials');
    assert.equal(fake.requests[0]!.headers!['content-type'], 'application/x-www-form-urlencoded');
    now += 3600_000 - 300_000 - 1;
    assert.equal(source.usable(), 'one');
    now += 1;
    assert.equal(source.usable(), undefined, 'refreshed five minutes ahead');
    assert.equal(await source.get(), 'two');
    source.invalidate('one'); // not the cached one any more: nothing happens
    assert.equal(source.usable(), 'two');
    source.invalidate('two');
    assert.equal(source.usable(), undefined);
  });

  it("a refusal stops the lane as auth without the secret; Huawei's 5xx is retried", async () => {
    const refused = fakePool([
      { status: 400, json: { error: 1101, sub_error: 12304, error_description: 'invalid client_secret' } },
    ]);
    refused.release();
    const source = new AccessTokenSource({
      clientId: '123',
      clientSecret: secret,
      url: new URL('https://oauth.example/oauth2/v3/token'),
      pool: refused.pool,
      provider: 'hms',
    });
    const error = await source.get().then(
      () => assert.fail('resolved'),
      (e: unknown) => e as PushError,
    );
    assert.equal(error.code, 'auth');
    assert.equal(error.reason, 'oauth 1101/12304');
    assert.ok(!error.message.includes(secret), error.message);

    const busy = fakePool([{ status: 503, json: {} }]);
    busy.release();
    const flaky = new AccessTokenSource({
      clientId: '123',
      clientSecret: secret,
      url: new URL('https://oauth.example/oauth2/v3/token'),
      pool: busy.pool,
      provider: 'hms',
    });
    const unavailable = await flaky.get().then(
      () => assert.fail('resolved'),
      (e: unknown) => e as PushError,
    );
    assert.equal(unavailable.code, 'unavailable');
    assert.equal(unavailable.retryable, true);
  });
});

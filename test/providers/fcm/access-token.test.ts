import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { AccessTokenSource, FCM_SCOPE } from '../../../src/providers/fcm/access-token.js';
import { loadServiceAccount } from '../../../src/providers/fcm/service-account.js';
import type { TransportRequest, TransportResponse } from '../../../src/transport/types.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const account = loadServiceAccount(
  {
    type: 'service_account',
    project_id: 'p',
    private_key_id: 'kid-1',
    private_key: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'sa@p.iam.gserviceaccount.com',
    token_uri: 'https://oauth.example/token',
  },
  {},
);

function response(status: number, body: unknown): TransportResponse {
  return { status, headers: {}, body: Buffer.from(JSON.stringify(body)), retireConnection() {} };
}

/** A token endpoint that answers after `delayMs` with what `answer` returns, recording requests. */
function fakeTokenPool(answer: (n: number) => TransportResponse, delayMs = 5) {
  const requests: TransportRequest[] = [];
  return {
    requests,
    async request(req: TransportRequest) {
      requests.push(req);
      await new Promise((r) => setTimeout(r, delayMs));
      return answer(requests.length);
    },
  };
}

describe('fcm access tokens', () => {
  it('signs an RS256 assertion with Google claims and posts it as a form', async () => {
    const pool = fakeTokenPool((n) =>
      response(200, { access_token: `tok-${n}`, expires_in: 3600, token_type: 'Bearer' }),
    );
    const source = new AccessTokenSource({ account, pool });
    assert.equal(await source.get(), 'tok-1');
    const req = pool.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/token');
    assert.equal(req.headers?.['content-type'], 'application/x-www-form-urlencoded');
    const form = new URLSearchParams(String(req.body));
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
    const assertion = form.get('assertion')!;
    assert.deepEqual(decodeProtectedHeader(assertion), { alg: 'RS256', typ: 'JWT', kid: 'kid-1' });
    const { payload } = await jwtVerify(assertion, rsa.publicKey, {
      issuer: 'sa@p.iam.gserviceaccount.com',
      audience: 'https://oauth.example/token',
    });
    assert.equal(payload['scope'], FCM_SCOPE);
    assert.equal(payload.exp! - payload.iat!, 3600);
  });

  it('makes ONE request however many callers wait, and caches the token', async () => {
    const pool = fakeTokenPool((n) => response(200, { access_token: `tok-${n}`, expires_in: 3600 }), 20);
    const source = new AccessTokenSource({ account, pool });
    const tokens = await Promise.all(Array.from({ length: 100 }, () => source.get()));
    assert.deepEqual(new Set(tokens), new Set(['tok-1']));
    assert.equal(await source.get(), 'tok-1');
    assert.equal(pool.requests.length, 1);
    assert.equal(source.requests, 1);
  });

  it('refreshes shortly before expiry', async () => {
    let now = 1_000_000;
    const pool = fakeTokenPool((n) => response(200, { access_token: `tok-${n}`, expires_in: 3600 }));
    const source = new AccessTokenSource({ account, pool, now: () => now });
    assert.equal(await source.get(), 'tok-1');
    now += 3600_000 - 6 * 60_000; // six minutes left: still good
    assert.equal(await source.get(), 'tok-1');
    now += 2 * 60_000; // four minutes left: inside the five-minute margin
    assert.equal(await source.get(), 'tok-2');
  });

  it('drops a token the server refused, once, however many sends saw it refused', async () => {
    const pool = fakeTokenPool((n) => response(200, { access_token: `tok-${n}`, expires_in: 3600 }));
    const source = new AccessTokenSource({ account, pool });
    const stale = await source.get();
    const fresh = await Promise.all(
      Array.from({ length: 50 }, () => {
        source.invalidate(stale);
        return source.get();
      }),
    );
    assert.deepEqual(new Set(fresh), new Set(['tok-2']));
    source.invalidate(stale); // late 401 for the old token: keeps the new one
    assert.equal(await source.get(), 'tok-2');
    assert.equal(pool.requests.length, 2);
  });

  it('reports invalid_grant as auth with Google’s description, and 5xx as retryable', async () => {
    const refused = new AccessTokenSource({
      account,
      pool: fakeTokenPool(() =>
        response(400, { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }),
      ),
    });
    await assert.rejects(
      refused.get(),
      (err: { code: string; message: string; reason: string; stopsLane: boolean }) => {
        assert.equal(err.code, 'auth');
        assert.equal(err.reason, 'invalid_grant');
        assert.equal(err.stopsLane, true);
        assert.match(err.message, /Invalid JWT Signature\./);
        return true;
      },
    );
    let calls = 0;
    const flaky = new AccessTokenSource({
      account,
      pool: fakeTokenPool(() =>
        ++calls === 1
          ? response(503, { error: 'backend_error' })
          : response(200, { access_token: 'ok', expires_in: 3600 }),
      ),
    });
    await assert.rejects(flaky.get(), { code: 'unavailable', retryable: true });
    assert.equal(await flaky.get(), 'ok', 'a failed fetch is not cached');
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { ProviderTokenCache } from '../../../src/providers/apns/token-auth.js';

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function setup() {
  const clock = { now: T0 };
  const cache = new ProviderTokenCache({
    teamId: 'TEAM123456',
    keyId: 'KEY1234567',
    key: privateKey,
    clock: () => clock.now,
  });
  return { clock, cache };
}

describe('apns provider token', () => {
  it('is an ES256 JWT with kid, iss and iat, as a ready bearer header', async () => {
    const { cache } = setup();
    const token = await cache.get();
    assert.equal(token.header, `bearer ${token.jwt}`);
    assert.deepEqual(decodeProtectedHeader(token.jwt), { alg: 'ES256', kid: 'KEY1234567' });
    const { payload } = await jwtVerify(token.jwt, publicKey, {
      algorithms: ['ES256'],
      currentDate: new Date(T0),
    });
    assert.deepEqual(payload, { iss: 'TEAM123456', iat: T0 / 1000 });
    assert.equal(token.issuedAtMs, T0);
  });

  it('mints once for concurrent first users', async () => {
    const { cache } = setup();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => cache.get()));
    assert.equal(cache.mints, 1);
    assert.ok(tokens.every((t) => t === tokens[0]));
  });

  it('reuses one token for 50 minutes', async () => {
    const { clock, cache } = setup();
    const first = await cache.get();
    for (const minutes of [1, 20, 35, 49.9]) {
      clock.now = T0 + minutes * MIN;
      assert.equal(await cache.get(), first, `${minutes} min`);
    }
    assert.equal(cache.mints, 1);
  });

  it('after 50 minutes the next send signs a new token and uses it at once', async () => {
    const { clock, cache } = setup();
    const first = await cache.get();
    clock.now = T0 + 50 * MIN;
    const second = cache.usable();
    assert.ok(second !== undefined && second !== first);
    assert.equal(second.issuedAtMs, T0 + 50 * MIN);
    assert.equal(await cache.get(), second, 'no second signing');
    assert.equal(cache.mints, 2);
  });

  it('if signing fails after 50 minutes the old token serves until 55, then the failure is reported', async () => {
    const { clock, cache } = setup();
    const first = await cache.get();
    (cache as unknown as { mintNow: () => never }).mintNow = () => {
      throw new Error('signing failed');
    };
    clock.now = T0 + 54 * MIN;
    assert.equal(cache.usable(), first, 'still valid: it serves');
    clock.now = T0 + 56 * MIN;
    assert.equal(cache.usable(), undefined);
    await assert.rejects(cache.get(), /signing failed/);
  });

  it('waits for a new token once the old one is past 55 minutes (never sends one near the hour)', async () => {
    const { clock, cache } = setup();
    const first = await cache.get();
    clock.now = T0 + 56 * MIN;
    const next = await cache.get();
    assert.notEqual(next, first);
    assert.equal(cache.mints, 2);
  });

  it('a burst of ExpiredProviderToken triggers one refresh, and everyone gets the new token', async () => {
    const { clock, cache } = setup();
    const used = await cache.get();
    clock.now = T0 + 25 * MIN;
    const fresh = await Promise.all(Array.from({ length: 100 }, () => cache.refreshAfterExpired(used)));
    assert.equal(cache.mints, 2);
    assert.ok(fresh[0] !== undefined && fresh[0] !== used);
    assert.ok(fresh.every((t) => t === fresh[0]));
    // Late answers for requests sent with the old token re-use the new one, no new mint.
    clock.now = T0 + 26 * MIN;
    assert.equal(await cache.refreshAfterExpired(used), fresh[0]);
    assert.equal(cache.mints, 2);
  });

  it('never refreshes more than once per 20 minutes', async () => {
    const { clock, cache } = setup();
    const first = await cache.get();
    clock.now = T0 + 10 * MIN;
    assert.equal(await cache.refreshAfterExpired(first), undefined, 'a 10-minute-old token is not replaced');
    assert.equal(cache.mints, 1);

    clock.now = T0 + 20 * MIN;
    const second = await cache.refreshAfterExpired(first);
    assert.ok(second !== undefined && second !== first);
    assert.equal(cache.mints, 2);

    clock.now = T0 + 39 * MIN;
    assert.equal(await cache.refreshAfterExpired(second), undefined, '19 minutes after the last refresh');
    assert.equal(cache.mints, 2);

    clock.now = T0 + 40 * MIN;
    const third = await cache.refreshAfterExpired(second);
    assert.ok(third !== undefined && third !== second);
    assert.equal(cache.mints, 3);
  });

  it('the token served is always between 0 and 55 minutes old over a long run', async () => {
    const { clock, cache } = setup();
    let last = await cache.get();
    for (let minute = 1; minute <= 300; minute++) {
      clock.now = T0 + minute * MIN;
      const token = await cache.get();
      const age = clock.now - token.issuedAtMs;
      assert.ok(age >= 0 && age < 55 * MIN, `age ${age / MIN} min at minute ${minute}`);
      if (token !== last) {
        assert.ok(token.issuedAtMs - last.issuedAtMs >= 20 * MIN, 'refreshes are ≥ 20 min apart');
        last = token;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    // About one token per 50 minutes: 300 / 50 = 6 refreshes plus the first.
    assert.ok(cache.mints >= 6 && cache.mints <= 8, `${cache.mints} mints`);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AccessTokenCache } from '../../src/transport/access-token-cache.js';

/** A token endpoint whose answers the test releases one by one. */
function endpoint(lifetimeMs = 3_600_000) {
  let n = 0;
  const waiting: Array<() => void> = [];
  const fetch = () =>
    new Promise<{ value: string; lifetimeMs: number }>((resolve) => {
      const value = `token-${++n}`;
      waiting.push(() => resolve({ value, lifetimeMs }));
    });
  return { fetch, release: () => waiting.shift()?.(), pending: () => waiting.length };
}

describe('AccessTokenCache', () => {
  test('single flight: a hundred waiting callers make one request and get the same token', async () => {
    const ep = endpoint();
    const cache = new AccessTokenCache(ep.fetch);
    const all = Array.from({ length: 100 }, () => cache.get());
    assert.equal(ep.pending(), 1);
    ep.release();
    assert.deepEqual(new Set(await Promise.all(all)), new Set(['token-1']));
    assert.equal(cache.requests, 1);
    assert.equal(cache.usable(), 'token-1');
  });

  test('refreshes five minutes before expiry, or at a tenth of a short lifetime', async () => {
    let now = 0;
    const ep = endpoint(3_600_000);
    const cache = new AccessTokenCache(ep.fetch, () => now);
    const first = cache.get();
    ep.release();
    assert.equal(await first, 'token-1');
    now = 3_600_000 - 5 * 60_000 - 1;
    assert.equal(cache.usable(), 'token-1');
    now += 1;
    assert.equal(cache.usable(), undefined, 'not used in its last five minutes');

    const short = endpoint(10_000);
    const shortCache = new AccessTokenCache(short.fetch, () => now);
    const got = shortCache.get();
    short.release();
    await got;
    const start = now;
    now = start + 8_999;
    assert.equal(shortCache.usable(), 'token-1');
    now = start + 9_000;
    assert.equal(shortCache.usable(), undefined, 'a 10 s token is dropped 1 s early, not 5 min');
  });

  test('invalidate drops only the token still cached: a burst of refusals makes one new token', async () => {
    const ep = endpoint();
    const cache = new AccessTokenCache(ep.fetch);
    const first = cache.get();
    ep.release();
    const stale = await first;
    cache.invalidate(stale);
    const next = cache.get();
    ep.release();
    assert.equal(await next, 'token-2');
    for (let i = 0; i < 50; i++) cache.invalidate(stale);
    assert.equal(cache.usable(), 'token-2', 'late refusals of the old token leave the new one');
    assert.equal(cache.requests, 2);
  });

  test('a failed fetch is not cached: the next caller tries again', async () => {
    let calls = 0;
    const cache = new AccessTokenCache(async () => {
      calls++;
      if (calls === 1) throw new Error('endpoint down');
      return { value: 'ok', lifetimeMs: 60_000 };
    });
    await assert.rejects(cache.get(), /endpoint down/);
    assert.equal(await cache.get(), 'ok');
    assert.equal(cache.requests, 2);
  });
});

/**
 * Output slabs (src/transport/wire/slabs.ts): a slab is reused only when it is full and every
 * write holding a slice of it has called back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SLAB_SIZE, Slabs } from '../../../src/transport/wire/slabs.js';

describe('Slabs', () => {
  it('reuses a retired slab only after its last write called back', () => {
    const slabs = new Slabs();
    const first = slabs.acquire(100);
    first.writes += 2;
    slabs.retire(first);
    assert.notEqual(slabs.acquire(100), first, 'two writes still hold it');
    first.written();
    assert.notEqual(slabs.acquire(100), first, 'one write still holds it');
    first.written();
    const again = slabs.acquire(100);
    assert.equal(again, first, 'free once both called back');
    assert.equal(again.retired, false);
  });

  it('reuses a slab retired with no writes at once, and never one still being filled', () => {
    const slabs = new Slabs();
    const current = slabs.acquire(0);
    current.writes++;
    current.written(); // written back while still the current slab: not free
    assert.notEqual(slabs.acquire(0), current);
    slabs.retire(current);
    assert.equal(slabs.acquire(0), current);
  });

  it('gives a larger slab for a frame that does not fit, and does not keep it', () => {
    const slabs = new Slabs();
    const big = slabs.acquire(SLAB_SIZE + 1);
    assert.ok(big.buffer.length > SLAB_SIZE);
    slabs.retire(big);
    assert.notEqual(slabs.acquire(SLAB_SIZE + 1), big);
    assert.notEqual(slabs.acquire(10).buffer.length, big.buffer.length);
  });

  it('keeps a few free slabs, not every one ever used', () => {
    const slabs = new Slabs();
    const used = Array.from({ length: 10 }, () => slabs.acquire(0));
    for (const slab of used) slabs.retire(slab);
    const reused = new Set(
      Array.from({ length: 10 }, () => slabs.acquire(0)).filter((s) => used.includes(s)),
    );
    assert.ok(reused.size > 0 && reused.size < 10, `reused ${reused.size}`);
  });
});

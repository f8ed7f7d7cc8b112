import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RETRY_AFTER_MS, parseHttpDate, parseRetryAfter } from '../../src/transport/retry-after.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0); // Wed, 01 Jan 2025 12:00:00 GMT

describe('parseRetryAfter', () => {
  it('reads delta-seconds as milliseconds, leading zeros and 0 included', () => {
    assert.equal(parseRetryAfter('120', NOW), 120_000);
    assert.equal(parseRetryAfter('007', NOW), 7_000);
    assert.equal(parseRetryAfter('0', NOW), 0);
  });

  it('reads an IMF-fixdate as the wait until then', () => {
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 12:00:10 GMT', NOW), 10_000);
    assert.equal(parseRetryAfter(new Date(NOW + 90_000).toUTCString(), NOW), 90_000);
  });

  it('reads the obsolete RFC 850 and asctime forms, both as GMT', () => {
    assert.equal(parseRetryAfter('Wednesday, 01-Jan-25 12:00:10 GMT', NOW), 10_000);
    assert.equal(parseRetryAfter('Wed Jan  1 12:00:10 2025', NOW), 10_000);
    assert.equal(parseRetryAfter('Thu Jan  2 12:00:00 2025', NOW), 24 * 3600_000);
    assert.equal(parseRetryAfter('Thu Jan 02 11:00:00 2025', NOW), 23 * 3600_000);
  });

  it('reads an RFC 850 two-digit year more than 50 years ahead as the century before', () => {
    // From 2025, "74" is 2074 (49 years ahead) but "76" is 1976 (2076 would be 51 ahead).
    assert.equal(parseHttpDate('Sunday, 01-Jan-74 00:00:00 GMT', NOW), Date.UTC(2074, 0, 1));
    assert.equal(parseHttpDate('Thursday, 01-Jan-76 00:00:00 GMT', NOW), Date.UTC(1976, 0, 1));
  });

  it('matches day and month names without regard to case', () => {
    assert.equal(parseRetryAfter('wed, 01 JAN 2025 12:00:10 gmt', NOW), 10_000);
  });

  it('reads a date already past as "now" (0)', () => {
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 12:00:00 GMT', NOW), 0);
    assert.equal(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW), 0);
  });

  it('ignores optional white space around the value', () => {
    assert.equal(parseRetryAfter('  7\t', NOW), 7_000);
    assert.equal(parseRetryAfter(' Wed, 01 Jan 2025 12:00:10 GMT ', NOW), 10_000);
  });

  it('takes the first of several values', () => {
    assert.equal(parseRetryAfter(['3', '60'], NOW), 3_000);
  });

  it('is undefined when absent or empty', () => {
    assert.equal(parseRetryAfter(undefined, NOW), undefined);
    assert.equal(parseRetryAfter('', NOW), undefined);
    assert.equal(parseRetryAfter('   ', NOW), undefined);
    assert.equal(parseRetryAfter([], NOW), undefined);
  });

  it('is undefined for negative, signed, fractional or otherwise malformed numbers, never 0', () => {
    for (const value of ['-5', '+5', '1.5', '1e3', '0x10', '5s', '5 5', 'Infinity', 'NaN']) {
      assert.equal(parseRetryAfter(value, NOW), undefined, value);
    }
  });

  it('is undefined for garbage that a lenient date parser would take for a date', () => {
    for (const value of [
      'soon',
      'soon 5',
      '1 2',
      'Feb 30 2025',
      '2025-01-01T12:00:10Z',
      'Wed, 01 Jan 2025 12:00:10 +0100',
      'Wed, 01 Jan 2025 12:00:10',
      'Wed, 1 Jan 2025 12:00:10 GMT',
      'Wed, 30 Feb 2025 12:00:10 GMT',
      'Wed, 01 Jan 2025 24:00:00 GMT',
      'Wed, 01 Foo 2025 12:00:10 GMT',
      'Xyz, 01 Jan 2025 12:00:10 GMT',
      'Wed, 01-Jan-25 12:00:10 GMT',
    ]) {
      assert.equal(parseRetryAfter(value, NOW), undefined, value);
    }
  });

  it('caps a huge wait at a day, and keeps it finite', () => {
    assert.equal(parseRetryAfter('86400', NOW), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('86401', NOW), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('99999999999999999999', NOW), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('9'.repeat(400), NOW), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', NOW), MAX_RETRY_AFTER_MS);
  });
});

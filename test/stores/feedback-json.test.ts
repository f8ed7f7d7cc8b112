/**
 * The hand-built feedback line (src/stores/feedback-json.ts) must be byte for byte what
 * JSON.stringify writes, or leave the line to it: random feedback of every kind of value a
 * device row can hold, compared with JSON.stringify of the same fields.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PushError } from '../../src/errors.js';
import type { Feedback } from '../../src/feedback.js';
import { plainFeedbackJson } from '../../src/stores/feedback-json.js';
import { feedbackLine } from '../../src/stores/ndjson-writer.js';

/** A small seeded generator (mulberry32): a failure names its seed and replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters JSON treats specially, and some it does not. */
const PIECES = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\t',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  '€',
  '\u2028',
  '\ud83d\ude00',
  '\ud800',
  '\udfff',
  'token',
];

function text(next: () => number): string {
  let out = '';
  const length = Math.floor(next() * 40);
  for (let i = 0; i < length; i++) out += PIECES[Math.floor(next() * PIECES.length)];
  return next() < 0.2 ? 'ab'.repeat(32) + out : out;
}

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  200,
  1.5,
  1e21,
  1e-7,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  -Infinity,
];

function value(next: () => number, depth: number): unknown {
  const pick = next();
  if (pick < 0.4) return text(next);
  if (pick < 0.55) return NUMBERS[Math.floor(next() * NUMBERS.length)];
  if (pick < 0.62) return next() < 0.5;
  if (pick < 0.68) return null;
  if (pick < 0.74) return undefined;
  if (pick < 0.77) return 12345678901234567890n;
  if (pick < 0.8) return () => 1;
  if (pick < 0.82) return new Date(0);
  if (depth < 2 && pick < 0.9) return object(next, depth + 1);
  if (depth < 2) return [value(next, depth + 1), value(next, depth + 1)];
  return text(next);
}

function object(next: () => number, depth: number): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  const keys = Math.floor(next() * 5);
  for (let i = 0; i < keys; i++) {
    const key = next() < 0.2 ? String(Math.floor(next() * 10)) : text(next) || 'k';
    result[key] = value(next, depth);
  }
  return result;
}

/** What feedbackLine wrote before the hand-built path: JSON.stringify of the same fields. */
function stringified(feedback: Feedback): string {
  const { device, status, provider, messageId, httpStatus, attempts, error, maybeDelivered, maybeDuplicate } =
    feedback;
  const line = {
    device,
    status,
    provider,
    messageId,
    httpStatus,
    attempts,
    maybeDelivered,
    maybeDuplicate,
    error: error?.toJSON(),
  };
  return `${JSON.stringify(line, (_key, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`;
}

test('the hand-built line is what JSON.stringify writes, for any device and feedback (2,000 random ones)', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  const next = random(seed);
  let handBuilt = 0;
  for (let i = 0; i < 2000; i++) {
    const feedback = {
      device: next() < 0.5 ? { platform: 'ios', token: text(next) } : object(next, 1),
      status: next() < 0.8 ? 'sent' : text(next),
      provider: next() < 0.9 ? 'apns' : value(next, 2),
      messageId: next() < 0.5 ? undefined : text(next),
      httpStatus: next() < 0.5 ? 200 : value(next, 2),
      attempts: next() < 0.9 ? 1 : value(next, 2),
      maybeDelivered: next() < 0.9 ? undefined : value(next, 2),
      maybeDuplicate: next() < 0.9 ? undefined : true,
      error: next() < 0.05 ? new PushError('unavailable', 'down') : undefined,
    } as unknown as Feedback;
    if (plainFeedbackJson(feedback) !== undefined) handBuilt++;
    assert.equal(feedbackLine(feedback), stringified(feedback), `seed ${seed}, feedback ${i}`);
  }
  // The comparison is only worth something if most lines took the hand-built path.
  assert.ok(handBuilt > 600, `seed ${seed}: only ${handBuilt} of 2,000 lines were built by hand`);
});

test('the usual line is built by hand; what only JSON.stringify may write is left to it', () => {
  const sent = {
    device: { platform: 'ios', token: 'ab'.repeat(32), id: 7 },
    status: 'sent',
    provider: 'apns',
    messageId: 'm-1',
    httpStatus: 200,
    attempts: 1,
  } as unknown as Feedback;
  assert.equal(plainFeedbackJson(sent), JSON.stringify(sent));
  const nested = {
    ...sent,
    device: { platform: 'web', token: { endpoint: 'https://e/1' } },
  } as unknown as Feedback;
  assert.equal(plainFeedbackJson(nested), undefined);
  const withToJson = {
    ...sent,
    device: { platform: 'ios', token: 't', toJSON: () => ({ replaced: true }) },
  } as unknown as Feedback;
  assert.equal(plainFeedbackJson(withToJson), undefined);
  assert.equal(feedbackLine(withToJson), `${JSON.stringify({ ...withToJson })}\n`);
  const failed = {
    ...sent,
    status: 'failed',
    error: new PushError('unavailable', 'down'),
  } as unknown as Feedback;
  assert.equal(plainFeedbackJson(failed), undefined);
});

test('a device whose getter throws still gets its line, naming the problem', () => {
  const device = { platform: 'ios' } as Record<string, unknown>;
  Object.defineProperty(device, 'token', {
    enumerable: true,
    get: () => {
      throw new Error('no token here');
    },
  });
  const line = JSON.parse(feedbackLine({ device, status: 'sent', attempts: 1 } as unknown as Feedback));
  assert.match(line.device.unwritable, /no token here/);
  assert.equal(line.status, 'sent');
});

/**
 * The per-origin circuit and the lane-stop evidence of the Web Push provider: one origin's
 * refusals fail that origin's devices, never the lane; only independent well-known push
 * services refusing our key stop it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushError } from '../../../src/errors.js';
import { type Admission, OriginCircuits } from '../../../src/providers/webpush/origin-circuit.js';

const refusal = () =>
  new PushError('bad-request', 'refused (HTTP 403: BadJwtToken)', { reason: 'BadJwtToken', httpStatus: 403 });

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function failsFast(admission: Admission): PushError {
  assert.ok('error' in admission, `expected a fast failure, got ${JSON.stringify(admission)}`);
  return admission.error;
}

function refuse(circuits: OriginCircuits, origin: string, times: number, fault: 'vapid' | 'tls' = 'vapid') {
  let last: PushError | undefined;
  for (let i = 0; i < times; i++) {
    const admission = circuits.admit(origin);
    assert.ok(!('error' in admission), `attempt ${i + 1} at ${origin} should be sent`);
    last = circuits.record(origin, fault, refusal(), admission.probe) ?? last;
  }
  return last;
}

const EVIL = 'https://push.evil.example';
const FCM = 'https://fcm.googleapis.com';
const MOZILLA = 'https://updates.push.services.mozilla.com';

describe('Web Push origin circuits', () => {
  it('opens an origin after 5 faults in a row: its devices fail fast, naming it; others go on', () => {
    const circuits = new OriginCircuits('webpush');
    assert.equal(refuse(circuits, EVIL, 5), undefined, 'never a lane stop');
    const error = failsFast(circuits.admit(EVIL));
    assert.equal(error.code, 'bad-request');
    assert.equal(error.stopsLane, false);
    assert.equal(error.retryable, false);
    assert.equal(error.provider, 'webpush');
    assert.equal(error.reason, 'BadJwtToken');
    assert.match(
      error.message,
      /push service https:\/\/push\.evil\.example refused our VAPID authorization 5 times/,
    );
    assert.deepEqual(circuits.admit('https://other.example'), { probe: false });
  });

  it('an answer of a working push service resets the count; neutral answers neither count nor reset', () => {
    const circuits = new OriginCircuits('webpush');
    refuse(circuits, EVIL, 4);
    circuits.record(EVIL, 'ok', undefined, false);
    refuse(circuits, EVIL, 4);
    circuits.record(EVIL, 'neutral', undefined, false);
    assert.deepEqual(circuits.admit(EVIL), { probe: false }, '4 + neutral: still closed');
    refuse(circuits, EVIL, 1);
    failsFast(circuits.admit(EVIL));
  });

  it('after the cooldown one probe goes through: a fault reopens for twice as long, a success closes', () => {
    const time = clock();
    const circuits = new OriginCircuits('webpush', { cooldownMs: 1000, now: time.now });
    refuse(circuits, EVIL, 5);
    time.advance(999);
    failsFast(circuits.admit(EVIL));
    time.advance(1);
    assert.deepEqual(circuits.admit(EVIL), { probe: true });
    failsFast(circuits.admit(EVIL)); // one probe at a time
    circuits.record(EVIL, 'vapid', refusal(), true);
    time.advance(1999);
    failsFast(circuits.admit(EVIL));
    time.advance(1);
    assert.deepEqual(circuits.admit(EVIL), { probe: true });
    // A probe that ends without an answer (aborted) lets the next device probe.
    circuits.release(EVIL, true);
    assert.deepEqual(circuits.admit(EVIL), { probe: true });
    circuits.record(EVIL, 'ok', undefined, true);
    assert.deepEqual(circuits.admit(EVIL), { probe: false });
    assert.deepEqual(circuits.admit(EVIL), { probe: false });
  });

  it('any number of unknown origins refusing never stops the lane', () => {
    const circuits = new OriginCircuits('webpush');
    for (let i = 0; i < 200; i++) {
      assert.equal(refuse(circuits, `https://push${i}.attacker${i}.example`, 5), undefined);
    }
    assert.deepEqual(circuits.admit(FCM), { probe: false });
  });

  it('two independent well-known push services refusing our key stop the lane with auth', () => {
    const circuits = new OriginCircuits('webpush');
    // Several hosts of one service count once.
    assert.equal(refuse(circuits, 'https://wns2-by3p.notify.windows.com', 5), undefined);
    assert.equal(
      refuse(circuits, 'https://wns2-par02p.notify.windows.com', 5),
      undefined,
      'one service is not enough',
    );
    assert.match(
      failsFast(circuits.admit('https://wns2-par02p.notify.windows.com')).message,
      /well-known push service: if it keeps refusing, check vapid/,
    );
    assert.deepEqual(circuits.admit(FCM), { probe: false });
    assert.equal(refuse(circuits, FCM, 4), undefined);
    const stop = refuse(circuits, FCM, 1);
    assert.ok(stop, 'the second service completes the evidence');
    assert.equal(stop.code, 'auth');
    assert.equal(stop.stopsLane, true);
    assert.equal(stop.httpStatus, 403);
    assert.match(
      stop.message,
      /our VAPID key is refused by 2 independent push services \(notify\.windows\.com, fcm\.googleapis\.com\)/,
    );
    assert.equal(failsFast(circuits.admit('https://anything.example')).code, 'auth');
  });

  it('two well-known services failing TLS verification stop the lane with config (our trust store)', () => {
    const circuits = new OriginCircuits('webpush');
    refuse(circuits, EVIL, 5, 'tls');
    refuse(circuits, FCM, 5, 'tls');
    const stop = refuse(circuits, 'https://web.push.apple.com', 5, 'tls');
    assert.equal(stop?.code, 'config');
    assert.match(stop?.message ?? '', /TLS verification fails with 2 independent push services/);
  });

  it('the lane-stop evidence ends when a refusing service accepts again', () => {
    const time = clock();
    const circuits = new OriginCircuits('webpush', { cooldownMs: 1000, now: time.now });
    refuse(circuits, FCM, 5);
    refuse(circuits, MOZILLA, 5);
    assert.equal(failsFast(circuits.admit('https://x.example')).code, 'auth');
    time.advance(1000);
    const probe = circuits.admit(FCM);
    assert.deepEqual(probe, { probe: true }, 'evidence origins still probe');
    circuits.record(FCM, 'ok', undefined, true);
    assert.deepEqual(circuits.admit('https://x.example'), { probe: false });
  });

  it('pushServices replaces the list: entries are host suffixes or exact origins', () => {
    const circuits = new OriginCircuits('webpush', {
      pushServices: ['push.example.com', 'https://127.0.0.1:8443'],
    });
    assert.equal(circuits.serviceOf('https://a.push.example.com'), 'push.example.com');
    assert.equal(circuits.serviceOf('https://push.example.com:444'), 'push.example.com');
    assert.equal(circuits.serviceOf('https://evilpush.example.com'), undefined);
    assert.equal(circuits.serviceOf('https://127.0.0.1:8443'), 'https://127.0.0.1:8443');
    assert.equal(circuits.serviceOf('https://127.0.0.1:8444'), undefined);
    assert.equal(circuits.serviceOf(FCM), undefined);
    assert.equal(new OriginCircuits('webpush').serviceOf('https://fcm.googleapis.com'), 'fcm.googleapis.com');
    assert.throws(() => new OriginCircuits('webpush', { failures: 0 }), /failures must be a whole number/);
  });
});

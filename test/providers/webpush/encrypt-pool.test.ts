import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createECDH, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decryptWebPush } from '../../../src/emulator/webpush/ece.js';
import { PushError } from '../../../src/errors.js';
import { preparePlaintext } from '../../../src/providers/webpush/encrypt.js';
import { BATCH_SIZE, EncryptionPool } from '../../../src/providers/webpush/encrypt-pool.js';
import { generateVapidKeys, webPush } from '../../../src/providers/webpush/index.js';

/** A browser: its key pair and auth secret, and http_ece (not our code) to decrypt. */
function browser(auth: Buffer = randomBytes(16)) {
  const key = createECDH('prime256v1');
  const p256dh = key.generateKeys();
  return {
    p256dh,
    auth,
    decrypt: (body: Buffer) => decryptWebPush(body, key, auth.toString('base64url')).toString(),
  };
}

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

describe('encryption worker pool', () => {
  it('encrypts batches of mixed notifications on the workers; every body decrypts with http_ece', async () => {
    const pool = new EncryptionPool({ threads: 2 });
    try {
      const browsers = Array.from({ length: 20 }, () => browser());
      const texts = ['first notification', '{"title":"Second","body":"ünïcødé ✓"}', ''];
      const prepared = texts.map((text) => preparePlaintext(Buffer.from(text)));
      // More than a few batches, the notifications interleaved as concurrent sends do.
      const count = BATCH_SIZE * 5 + 7;
      const jobs = Array.from({ length: count }, (_, i) => {
        const b = browsers[i % browsers.length]!;
        return pool.encrypt(prepared[i % texts.length]!, b.p256dh, b.auth).then((body) => ({ i, b, body }));
      });
      const results = await Promise.all(jobs);
      const salts = new Set<string>();
      const keys = new Set<string>();
      for (const { i, b, body } of results) {
        assert.equal(b.decrypt(body), texts[i % texts.length]);
        salts.add(body.subarray(0, 16).toString('hex'));
        keys.add(body.subarray(21, 86).toString('hex'));
      }
      assert.equal(salts.size, count, 'a fresh salt per message');
      assert.equal(keys.size, count, 'a fresh ephemeral key per message');
      assert.ok(pool.running >= 1, 'the workers ran');
    } finally {
      await pool.close();
    }
  });

  it('rejects an off-curve p256dh like the inline code does, and the rest of its batch still succeeds', async () => {
    const pool = new EncryptionPool({ threads: 1 });
    try {
      const good = browser();
      const offCurve = Buffer.alloc(65, 1);
      offCurve[0] = 4;
      const plaintext = preparePlaintext(Buffer.from('x'));
      const [before, bad, after] = await Promise.allSettled([
        pool.encrypt(plaintext, good.p256dh, good.auth),
        pool.encrypt(plaintext, offCurve, good.auth),
        pool.encrypt(plaintext, good.p256dh, good.auth),
      ]);
      assert.equal(before.status === 'fulfilled' && good.decrypt(before.value), 'x');
      assert.equal(after.status === 'fulfilled' && good.decrypt(after.value), 'x');
      assert.equal(bad.status, 'rejected');
      assert.equal((bad as PromiseRejectedResult).reason.code, 'ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY');
    } finally {
      await pool.close();
    }
  });

  for (const [how, poison] of [
    ['throws', 0xee],
    ['exits', 0xef],
  ] as const) {
    it(`a worker that ${how} fails the sends it held with internal, and a new worker takes over`, async () => {
      const pool = new EncryptionPool({ threads: 1, workerUrl: fixture('crashing-worker.ts') });
      try {
        const warm = browser();
        const plaintext = preparePlaintext(Buffer.from('still here'));
        assert.equal(warm.decrypt(await pool.encrypt(plaintext, warm.p256dh, warm.auth)), 'still here');

        // One batch (sent in one turn), one poisoned message in it: the whole batch is lost.
        const poisoned = browser(Buffer.alloc(16, poison));
        const outcomes = await Promise.allSettled([
          pool.encrypt(plaintext, warm.p256dh, warm.auth),
          pool.encrypt(plaintext, poisoned.p256dh, poisoned.auth),
          pool.encrypt(plaintext, warm.p256dh, warm.auth),
        ]);
        for (const outcome of outcomes) {
          assert.equal(outcome.status, 'rejected');
          const error = (outcome as PromiseRejectedResult).reason;
          assert.ok(error instanceof PushError);
          assert.equal(error.code, 'internal');
          assert.match(error.message, how === 'throws' ? /poisoned batch/ : /exit code 3/);
        }

        // The pool recovers: the next messages go to a fresh worker.
        const again = await Promise.all(
          Array.from({ length: 10 }, () => pool.encrypt(plaintext, warm.p256dh, warm.auth)),
        );
        for (const body of again) assert.equal(warm.decrypt(body), 'still here');
        assert.equal(pool.running, 1);
      } finally {
        await pool.close();
      }
    });
  }

  it('falls back to inline encryption when a worker cannot start, losing nothing', async () => {
    const pool = new EncryptionPool({ threads: 2, workerUrl: fixture('broken-worker.ts') });
    try {
      const b = browser();
      const plaintext = preparePlaintext(Buffer.from('inline'));
      const bodies = await Promise.all(
        Array.from({ length: BATCH_SIZE * 2 + 1 }, () => pool.encrypt(plaintext, b.p256dh, b.auth)),
      );
      for (const body of bodies) assert.equal(b.decrypt(body), 'inline');
      assert.equal(b.decrypt(await pool.encrypt(plaintext, b.p256dh, b.auth)), 'inline');
      assert.equal(pool.running, 0, 'no worker left behind');
    } finally {
      await pool.close();
    }
  });

  it('close() stops the workers; messages given after it fail closed', async (t) => {
    const pool = new EncryptionPool({ threads: 2 });
    // Only for an assertion failing before close(): a live worker would keep the file from ending.
    t.after(() => pool.destroy());
    const b = browser();
    const plaintext = preparePlaintext(Buffer.from('x'));
    await pool.encrypt(plaintext, b.p256dh, b.auth);
    assert.ok(pool.running >= 1);
    await pool.close();
    assert.equal(pool.running, 0);
    await assert.rejects(pool.encrypt(plaintext, b.p256dh, b.auth), { code: 'closed' });
  });

  it('destroy() fails the messages not yet encrypted with closed, never leaving them pending', async () => {
    const pool = new EncryptionPool({ threads: 1 });
    const b = browser();
    const plaintext = preparePlaintext(Buffer.from('x'));
    const pending = Array.from({ length: BATCH_SIZE * 4 }, () => pool.encrypt(plaintext, b.p256dh, b.auth));
    pool.destroy();
    const outcomes = await Promise.allSettled(pending);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.equal((outcome as PromiseRejectedResult).reason.code, 'closed');
    }
    assert.equal(pool.running, 0);
  });

  it('webPush refuses an encryptionThreads that is not a whole number ≥ 0', () => {
    const vapid = { subject: 'mailto:ops@example.com', ...generateVapidKeys() };
    for (const encryptionThreads of [-1, 1.5, Number.NaN]) {
      assert.throws(() => webPush({ vapid, encryptionThreads }), { code: 'config' });
    }
  });

  for (const mode of ['close', 'leave'] as const) {
    it(`the process exits by itself after the pool is used (${mode === 'close' ? 'closed' : 'not closed'})`, async () => {
      const script = fileURLToPath(fixture('pool-exits.ts'));
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, mode], {
        timeout: 30_000,
      });
      const report = JSON.parse(stdout) as { bodies: number; running: number };
      assert.equal(report.bodies, 200);
      if (mode === 'close') assert.equal(report.running, 0);
    });
  }
});

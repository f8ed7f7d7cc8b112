/**
 * The headline property for Web Push: 20,000 browsers on three push services, some gone, some
 * throttled: exactly one feedback per device, exactly the gone ones reported invalid, and
 * every message a push service accepted decrypts (with http_ece, playing the browser) to
 * what was sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startWebPushEmulator } from '../../../src/emulator/webpush/index.js';
import { PushClient } from '../../../src/index.js';
import type { Notification } from '../../../src/notification.js';
import { webPush } from '../../../src/providers/webpush/index.js';

const DEVICES = 20_000;

describe('Web Push: nothing lost', () => {
  // With the encryption worker pool (the default) and inline on the main thread.
  for (const [mode, encryptionThreads] of [
    ['worker pool', undefined],
    ['inline encryption', 0],
  ] as const) {
    it(`20,000 subscriptions over three push services, 2% gone, 1% rate-limited: one feedback each (${mode})`, async () => {
      const emulator = await startWebPushEmulator({ origins: 3, maxMessages: DEVICES });
      const client = new PushClient({
        providers: [webPush({ ...emulator.providerOptions, encryptionThreads })],
        retry: { baseDelayMs: 50 },
      });
      try {
        const devices = Array.from({ length: DEVICES }, (_, row) => {
          const subscription = emulator.subscribe();
          // Deterministic spread: every 50th is gone (2%), every 100th (offset 7) throttled once (1%).
          if (row % 50 === 0) emulator.setScenario(subscription, { kind: 'gone' });
          else if (row % 100 === 7)
            emulator.setScenario(subscription, { kind: 'rate-limited', times: 1, retryAfterSeconds: 1 });
          // Half of them stored as JSON strings, the way databases keep them.
          return {
            platform: 'web' as const,
            token: row % 2 === 0 ? subscription : JSON.stringify(subscription),
            row,
          };
        });
        const goneRows = new Set(devices.filter((d) => d.row % 50 === 0).map((d) => d.row));
        const limitedRows = new Set(devices.filter((d) => d.row % 100 === 7).map((d) => d.row));
        assert.equal(goneRows.size, 400);
        assert.equal(limitedRows.size, 200);

        const notification: Notification = {
          title: 'Nothing lost',
          body: 'Every browser gets one',
          data: { campaign: 7 },
        };
        const delivery = client.send(notification, devices);
        const seen = new Map<number, { status: string; code?: string; attempts: number }>();
        for await (const feedback of delivery) {
          const row = feedback.device.row;
          assert.ok(!seen.has(row), `one feedback per device (row ${row} twice)`);
          seen.set(row, { status: feedback.status, code: feedback.error?.code, attempts: feedback.attempts });
        }

        assert.equal(seen.size, DEVICES);
        const invalid = [...seen].filter(([, f]) => f.status === 'invalid-token').map(([row]) => row);
        assert.deepEqual(new Set(invalid), goneRows, 'exactly the gone subscriptions are invalid');
        for (const [row, f] of seen) {
          if (goneRows.has(row)) continue;
          assert.equal(f.status, 'sent', `row ${row}: ${f.code}`);
          assert.equal(f.attempts, limitedRows.has(row) ? 2 : 1, `row ${row} attempts`);
        }
        const summary = delivery.summary;
        assert.equal(summary.total, DEVICES);
        assert.equal(summary.sent, DEVICES - 400);
        assert.equal(summary.invalidToken, 400);
        assert.equal(summary.failed, 0);
        assert.equal(summary.retries, 200);

        // Every accepted message decrypted (the emulator answers 400 otherwise) to what was sent.
        const expected = JSON.stringify({
          title: 'Nothing lost',
          body: 'Every browser gets one',
          data: { campaign: 7 },
        });
        const messages = emulator.messages();
        assert.equal(messages.length, DEVICES - 400);
        assert.ok(messages.every((m) => m.text === expected));
        assert.equal(
          new Set(messages.map((m) => m.subscription.endpoint)).size,
          DEVICES - 400,
          'one message per browser',
        );
        assert.deepEqual(new Set(messages.map((m) => m.originIndex)), new Set([0, 1, 2]));
        assert.deepEqual(emulator.stats.byStatus, { 201: DEVICES - 400, 410: 400, 429: 200 });
      } finally {
        await client.close();
        await emulator.close();
      }
    });
  }
});

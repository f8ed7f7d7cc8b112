/**
 * Issue 13, point 2, end to end: PushClient → apns() → pool → a small HTTP/2 server that reads
 * each request, counts it as delivered, and then cuts the connection without answering (as a
 * provider crash or a network cut after the request arrived does). Deliveries are counted on
 * the server's side; the feedback must tell the truth about them, on both HTTP/2 clients.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { apns, type Device, type Feedback, PushClient, type SendOptions } from '../../../src/index.js';
import type { Http2Client } from '../../../src/transport/index.js';
import { type CountingServer, countingServer } from '../counting-server.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const p8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const token = (i: number) => i.toString(16).padStart(64, '0');
type IdDevice = Device & { id: number };
const devices = (n: number): IdDevice[] =>
  Array.from({ length: n }, (_, id) => ({ platform: 'ios', token: token(id), id }));

const MAX_ATTEMPTS = 3;

function clientFor(server: CountingServer, transport: Http2Client, delivery?: SendOptions['delivery']) {
  return new PushClient({
    providers: [
      apns({
        teamId: 'TEAM123456',
        keyId: 'KEY1234567',
        key: p8,
        topic: 'com.example.app',
        endpoint: server.origin,
        ca: server.ca,
        transport,
        // One request at a time: each cut concerns exactly one device.
        concurrency: 1,
        connections: 1,
      }),
    ],
    retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: MAX_ATTEMPTS },
    ...(delivery === undefined ? {} : { delivery }),
  });
}

async function sendAll(client: PushClient, n: number, options: SendOptions = {}) {
  const delivery = client.send({ title: 'hi' }, devices(n), options);
  const feedback: Feedback<IdDevice>[] = [];
  for await (const fb of delivery) feedback.push(fb);
  return { feedback: feedback.sort((a, b) => a.device.id - b.device.id), summary: delivery.summary };
}

for (const transport of ['wire', 'node-http2'] as const) {
  describe(`APNs: accepted, then the connection is cut (${transport})`, () => {
    test('at-least-once (default): re-sent and sent, flagged as a possible duplicate', async (t) => {
      const server = await countingServer((nth) => (nth === 1 ? 'cut' : 'ok'));
      const client = clientFor(server, transport);
      t.after(async () => {
        client.destroy();
        await server.close();
      });
      const { feedback, summary } = await sendAll(client, 3);
      for (const fb of feedback) {
        assert.equal(fb.status, 'sent', fb.error?.message);
        assert.equal(fb.attempts, 2);
        assert.equal(fb.maybeDuplicate, true, 'its first request reached the server too');
        assert.equal(server.received.get(token(fb.device.id)), 2, 'the server got it twice');
      }
      assert.equal(summary.maybeDuplicates, 3);
      assert.equal(summary.maybeDelivered, 0);
    });

    test('at-least-once: every attempt cut → failed, maybeDelivered, retryable', async (t) => {
      const server = await countingServer(() => 'cut');
      const client = clientFor(server, transport);
      t.after(async () => {
        client.destroy();
        await server.close();
      });
      const { feedback, summary } = await sendAll(client, 2);
      for (const fb of feedback) {
        assert.equal(fb.status, 'failed');
        assert.equal(fb.attempts, MAX_ATTEMPTS);
        assert.equal(server.received.get(token(fb.device.id)), MAX_ATTEMPTS);
        assert.equal(fb.maybeDelivered, true, 'the server received it: it may have been delivered');
        assert.equal(fb.error?.code, 'unavailable');
        assert.equal(fb.error?.maybeDelivered, true);
        assert.equal(fb.error?.retryable, true);
      }
      assert.equal(summary.maybeDelivered, 2);
    });

    test('at-most-once: exactly one delivery per device, failed maybeDelivered, not retryable', async (t) => {
      const server = await countingServer(() => 'cut');
      const client = clientFor(server, transport, 'at-most-once');
      t.after(async () => {
        client.destroy();
        await server.close();
      });
      const { feedback, summary } = await sendAll(client, 3);
      for (const fb of feedback) {
        assert.equal(server.received.get(token(fb.device.id)), 1, 'never sent a second time');
        assert.equal(fb.status, 'failed');
        assert.equal(fb.attempts, 1);
        assert.equal(fb.maybeDelivered, true);
        assert.equal(fb.error?.code, 'unavailable');
        assert.equal(fb.error?.retryable, false);
      }
      assert.equal(summary.maybeDelivered, 3);
    });

    test('at-most-once still retries what provably was not delivered (503)', async (t) => {
      const server = await countingServer((nth) => (nth === 1 ? 503 : 'ok'));
      const client = clientFor(server, transport, 'at-most-once');
      t.after(async () => {
        client.destroy();
        await server.close();
      });
      const { feedback, summary } = await sendAll(client, 2);
      for (const fb of feedback) {
        assert.equal(fb.status, 'sent');
        assert.equal(fb.attempts, 2);
        assert.equal(fb.maybeDuplicate, undefined);
        assert.equal(server.delivered.get(token(fb.device.id)), 1);
      }
      assert.equal(summary.maybeDelivered + summary.maybeDuplicates, 0);
    });

    for (const how of ['abort', 'destroy'] as const) {
      test(`${how} after the server accepted one: that one is maybeDelivered, the queued ones are not`, async (t) => {
        const server = await countingServer(() => 'hold');
        const client = clientFor(server, transport);
        t.after(async () => {
          client.destroy();
          await server.close();
        });
        const controller = new AbortController();
        const sending = sendAll(client, 3, { signal: controller.signal });
        const deadline = Date.now() + 5000;
        while (server.received.size === 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 5));
        assert.equal(server.received.size, 1, 'one request in flight (concurrency 1)');
        if (how === 'abort') controller.abort();
        else client.destroy();
        const { feedback, summary } = await sending;
        assert.equal(feedback.length, 3);
        for (const fb of feedback) {
          assert.equal(fb.status, 'failed');
          assert.equal(fb.error?.code, 'aborted');
          const reached = server.received.has(token(fb.device.id));
          assert.equal(fb.maybeDelivered, reached ? true : undefined, `device ${fb.device.id}`);
        }
        assert.equal(summary.maybeDelivered, 1);
      });
    }
  });
}

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { Device } from '../../src/device.js';
import { PushError } from '../../src/errors.js';
import type { Feedback, FeedbackStatus } from '../../src/feedback.js';
import {
  StoreError,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
  type WebhookDeliveryEvent,
  webhookSignatureHeader,
  webhookSink,
} from '../../src/stores/index.js';

const SECRET = 'whsec-test-0123456789-abcdef';
const SEND = { id: 'send-1', app: 'shop' };

/** What the receiver got: every request, with whether its signature verified. */
interface Received {
  id: string;
  verified: boolean;
  records: Array<Record<string, unknown>>;
  status: number;
  headers: IncomingMessage['headers'];
}

type Answer = (req: IncomingMessage, body: string, n: number) => number | 'hang' | Promise<number>;

/** A receiver on 127.0.0.1 that verifies each request with the exported helper. */
async function receiver(t: { after(fn: () => unknown): void }, answer: Answer = () => 200) {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const listeners: Array<() => void> = [];
  let n = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const verdict = await answer(req, raw.toString('utf8'), n++);
    if (verdict === 'hang') {
      hanging.push(res);
      return;
    }
    received.push({
      id: String(req.headers[WEBHOOK_HEADERS.id]),
      verified: verifyWebhookSignature(SECRET, req.headers, raw, 300),
      records: JSON.parse(raw.toString('utf8')),
      status: verdict,
      headers: req.headers,
    });
    res.writeHead(verdict, verdict >= 300 && verdict < 400 ? { location: '/elsewhere' } : {});
    res.end('ok');
    for (const listener of listeners.splice(0)) listener();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    hanging,
    /** Resolves once `count` requests have been answered. */
    async until(count: number): Promise<void> {
      while (received.length < count) await new Promise<void>((resolve) => listeners.push(resolve));
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port just freed): connection refused. */
async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/hook`;
}

const device = (i: number): Device => ({ platform: 'ios', token: `tok-${i}`, id: i });
const feedbackOf = (i: number, status: FeedbackStatus): Feedback => {
  const base = { device: device(i), status, provider: 'apns', attempts: 1 } as Feedback;
  if (status === 'invalid-token')
    base.error = new PushError('invalid-token', 'Unregistered', { provider: 'apns', httpStatus: 410 });
  if (status === 'failed') base.error = new PushError('bad-request', 'BadTopic', { provider: 'apns' });
  return base;
};
const dead = (i: number) => feedbackOf(i, 'invalid-token');
const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe('webhookSink', { timeout: 20_000 }, () => {
  test('POSTs signed JSON arrays of records, batched by size, with send id and app', async (t) => {
    const hook = await receiver(t);
    const sink = webhookSink({ url: hook.url, secret: SECRET, batchSize: 3, batchDelayMs: 60_000 });
    t.after(() => sink.destroy());
    for (let i = 0; i < 7; i++) await sink.observe(SEND, dead(i));
    await hook.until(2); // two full batches go without waiting for the timer
    await sink.close();
    assert.deepEqual(
      hook.received.map((r) => r.records.length),
      [3, 3, 1],
    );
    assert.ok(hook.received.every((r) => r.verified));
    const first = hook.received[0]!.records[0]!;
    assert.equal(first['sendId'], 'send-1');
    assert.equal(first['app'], 'shop');
    assert.deepEqual(first['device'], { platform: 'ios', token: 'tok-0', id: 0 });
    assert.equal(first['status'], 'invalid-token');
    assert.equal((first['error'] as Record<string, unknown>)['code'], 'invalid-token');
    assert.equal(hook.received[0]!.headers['content-type'], 'application/json');
    assert.equal(new Set(hook.received.map((r) => r.id)).size, 3);
    assert.equal(sink.delivered, 7);
    assert.equal(sink.deliveredBatches, 3);
    assert.equal(sink.pending, 0);
  });

  test('sends a part-filled batch once batchDelayMs has passed, without a flush', async (t) => {
    const hook = await receiver(t);
    const sink = webhookSink({ url: hook.url, secret: SECRET, batchSize: 100, batchDelayMs: 20 });
    t.after(() => sink.destroy());
    await sink.write(dead(1));
    await sink.write(dead(2));
    await hook.until(1);
    assert.equal(hook.received[0]!.records.length, 2);
  });

  test('retries a batch the receiver answered 500, with the same id, until 2xx: every record once', async (t) => {
    const seen = new Map<string, number>();
    const hook = await receiver(t, (req) => {
      const id = String(req.headers[WEBHOOK_HEADERS.id]);
      const tries = (seen.get(id) ?? 0) + 1;
      seen.set(id, tries);
      return tries <= 2 ? 500 : 200;
    });
    const events: WebhookDeliveryEvent[] = [];
    const sink = webhookSink({
      url: hook.url,
      secret: SECRET,
      batchSize: 4,
      retry: fast,
      onDelivery: (event) => events.push(event),
    });
    t.after(() => sink.destroy());
    for (let i = 0; i < 10; i++) await sink.observe(SEND, dead(i));
    await sink.close();
    const delivered = hook.received.filter((r) => r.status === 200);
    assert.equal(delivered.length, 3);
    assert.equal(hook.received.length, 9, 'two 500s then a 200 per batch');
    assert.ok(
      hook.received.every((r) => r.verified),
      'a retry is signed afresh',
    );
    const tokens = delivered.flatMap((r) => r.records.map((record) => (record['device'] as Device).token));
    assert.deepEqual(tokens.sort(), Array.from({ length: 10 }, (_, i) => `tok-${i}`).sort());
    for (const [id, tries] of seen) assert.equal(tries, 3, `batch ${id}`);
    assert.equal(sink.delivered, 10);
    assert.equal(sink.undelivered, 0);
    assert.deepEqual(
      events.map((e) => e.outcome).sort(),
      [...Array(6).fill('retry'), ...Array(3).fill('delivered')].sort(),
    );
    assert.ok(events.filter((e) => e.outcome === 'retry').every((e) => e.httpStatus === 500));
  });

  test('a 503 or 429 with Retry-After is retried when the receiver says, not on the backoff', async (t) => {
    // Two receivers: one asks for 0 s against a backoff of ≥ 15 s, the other for 1 s against a
    // backoff of ~1 ms. The gap between each one's two tries shows whose word was taken.
    async function gapBetweenTries(status: number, retryAfter: string, retry: object): Promise<number> {
      const times: number[] = [];
      const server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          times.push(Date.now());
          if (times.length === 1) res.writeHead(status, { 'retry-after': retryAfter }).end();
          else res.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      t.after(() => new Promise((resolve) => server.close(resolve)));
      const { port } = server.address() as AddressInfo;
      const sink = webhookSink({ url: `http://127.0.0.1:${port}/hook`, secret: SECRET, batchSize: 1, retry });
      t.after(() => sink.destroy());
      await sink.observe(SEND, dead(0));
      const closed = sink.close();
      const late = new Promise<'late'>((resolve) => setTimeout(resolve, 12_000, 'late').unref());
      assert.notEqual(await Promise.race([closed, late]), 'late', 'the second try came on the backoff');
      assert.equal(times.length, 2);
      return times[1]! - times[0]!;
    }
    const soon = await gapBetweenTries(503, '0', {
      baseDelayMs: 30_000,
      maxDelayMs: 60_000,
      attempts: 3,
    });
    assert.ok(soon < 10_000, `Retry-After: 0 retried after ${soon} ms`);
    const later = await gapBetweenTries(429, '1', { baseDelayMs: 1, maxDelayMs: 5_000, attempts: 3 });
    assert.ok(later >= 900, `Retry-After: 1 retried after only ${later} ms`);
  });

  test('a try with no answer within timeoutMs is retried', async (t) => {
    const hook = await receiver(t, (_req, _body, n) => (n === 0 ? 'hang' : 200));
    const events: WebhookDeliveryEvent[] = [];
    const sink = webhookSink({
      url: hook.url,
      secret: SECRET,
      timeoutMs: 300,
      retry: fast,
      onDelivery: (event) => events.push(event),
    });
    t.after(() => sink.destroy());
    await sink.write(dead(1));
    await sink.close();
    assert.equal(sink.delivered, 1);
    // The first try hangs; on a loaded machine a later one may time out too before one gets through.
    assert.equal(events.at(-1)!.outcome, 'delivered');
    assert.ok(events.slice(0, -1).every((e) => e.outcome === 'retry'));
    assert.ok(events.length >= 2);
    assert.match(events[0]!.problem!, /no answer within 300 ms/);
  });

  test('gives a batch up after its tries: onError once, counted, never thrown into the send', async (t) => {
    const hook = await receiver(t, () => 503);
    const errors: Array<{ error: StoreError; records: number; attempts: number }> = [];
    const sink = webhookSink({
      url: hook.url,
      secret: SECRET,
      batchSize: 2,
      retry: { ...fast, attempts: 3 },
      onError: (error, batch) => errors.push({ error, records: batch.records, attempts: batch.attempts }),
    });
    t.after(() => sink.destroy());
    for (let i = 0; i < 3; i++) assert.equal(await sink.observe(SEND, dead(i)), undefined);
    await sink.close(); // resolves: failures went to onError
    assert.equal(hook.received.length, 6);
    assert.equal(errors.length, 2);
    assert.deepEqual(errors.map((e) => [e.records, e.attempts]).sort(), [
      [1, 3],
      [2, 3],
    ]);
    assert.ok(errors.every((e) => e.error instanceof StoreError && e.error.code === 'store-write'));
    assert.match(errors[0]!.error.message, /gave up a batch of \d records .* after 3 tries .*HTTP 503/);
    assert.equal(sink.undelivered, 3);
    assert.equal(sink.failedBatches, 2);
    assert.equal(sink.delivered, 0);
  });

  test('without onError, flush/close reject saying what was lost; total time bounds the tries', async (t) => {
    const sink = webhookSink({
      url: await refusingUrl(),
      secret: SECRET,
      retry: { attempts: 1000, baseDelayMs: 20, maxDelayMs: 20, maxElapsedMs: 100 },
    });
    t.after(() => sink.destroy());
    await sink.write(dead(1));
    await sink.write(dead(2));
    await assert.rejects(sink.close(), (error: StoreError) => {
      assert.equal(error.code, 'store-write');
      assert.match(error.message, /2 records in 1 batches could not be delivered/);
      assert.match(error.message, /network error \(ECONNREFUSED\)/);
      return true;
    });
    assert.equal(sink.undelivered, 2);
  });

  test('backpressure: past maxPending records, observe waits until a batch is done', async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hook = await receiver(t, async () => {
      await gate;
      return 200;
    });
    const sink = webhookSink({ url: hook.url, secret: SECRET, batchSize: 5, maxPending: 10, concurrency: 1 });
    t.after(() => sink.destroy());
    const results: Array<void | Promise<void>> = [];
    for (let i = 0; i < 10; i++) results.push(sink.observe(SEND, dead(i)));
    assert.ok(
      results.every((r) => r === undefined),
      'room: taken at once',
    );
    assert.equal(sink.pending, 10);
    let took = false;
    const waiting = sink.observe(SEND, dead(10));
    assert.ok(waiting instanceof Promise, 'full: the caller gets a promise to wait on');
    void waiting.then(() => {
      took = true;
    });
    // Give the sink every chance to take it anyway: many turns of the event loop.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(took, false);
    assert.ok(sink.pending <= 10);
    release();
    await waiting;
    assert.equal(took, true);
    await sink.close();
    assert.equal(sink.delivered, 11);
  });

  test('close() while a writer waits for room: its record is delivered too', async (t) => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hook = await receiver(t, async () => {
      await gate;
      return 200;
    });
    const sink = webhookSink({ url: hook.url, secret: SECRET, batchSize: 5, maxPending: 10, concurrency: 1 });
    t.after(() => sink.destroy());
    for (let i = 0; i < 10; i++) sink.observe(SEND, dead(i));
    const waiting = sink.observe(SEND, dead(10));
    const closing = sink.close();
    release();
    await waiting;
    await closing;
    assert.equal(sink.delivered, 11);
    assert.equal(hook.received.flatMap((r) => r.records).length, 11);
  });

  test('sends only the statuses asked for: invalid-token and failed by default', async (t) => {
    const hook = await receiver(t);
    const all: FeedbackStatus[] = ['sent', 'validated', 'invalid-token', 'failed'];
    const byDefault = webhookSink({ url: hook.url, secret: SECRET });
    t.after(() => byDefault.destroy());
    for (const [i, status] of all.entries()) await byDefault.observe(SEND, feedbackOf(i, status));
    await byDefault.close();
    assert.deepEqual(
      hook.received.flatMap((r) => r.records.map((record) => record['status'])),
      ['invalid-token', 'failed'],
    );
    assert.equal(byDefault.invalidTokens, 1);

    hook.received.length = 0;
    const onlySent = webhookSink({ url: hook.url, secret: SECRET, statuses: ['sent'] });
    t.after(() => onlySent.destroy());
    for (const [i, status] of all.entries()) await onlySent.observe(SEND, feedbackOf(i, status));
    await onlySent.close();
    assert.deepEqual(
      hook.received.flatMap((r) => r.records.map((record) => record['status'])),
      ['sent'],
    );
    assert.throws(
      () => webhookSink({ url: hook.url, secret: SECRET, statuses: ['gone' as FeedbackStatus] }),
      /unknown status "gone"/,
    );
  });

  test('does not follow redirects: a 3xx is a failed try', async (t) => {
    const hook = await receiver(t, (req) => (req.url === '/hook' ? 302 : 200));
    const errors: StoreError[] = [];
    const sink = webhookSink({
      url: hook.url,
      secret: SECRET,
      retry: { ...fast, attempts: 2 },
      onError: (error) => errors.push(error),
    });
    t.after(() => sink.destroy());
    await sink.write(dead(1));
    await sink.close();
    assert.deepEqual(
      hook.received.map((r) => r.status),
      [302, 302],
    );
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /HTTP 302/);
  });

  test('never shows the secret or header values: config errors, give-ups, delivery events', async (t) => {
    const hook = await receiver(t, () => 500);
    const token = 'receiver-token-abcdef-123456';
    const texts: string[] = [];
    const sink = webhookSink({
      url: hook.url,
      secret: [SECRET, 'second-secret-for-rotation-xyz'],
      headers: { 'x-receiver-token': token },
      retry: { ...fast, attempts: 2 },
      onDelivery: (event) => texts.push(JSON.stringify(event)),
      onError: (error) => texts.push(error.message, String(error.stack)),
    });
    t.after(() => sink.destroy());
    await sink.write(dead(1));
    await sink.close();
    assert.equal(hook.received[0]!.headers['x-receiver-token'], token);
    assert.ok(
      hook.received.every((r) => r.verified),
      'signed with both secrets; either verifies',
    );
    for (const attempt of [
      () => webhookSink({ url: hook.url, secret: 'short-secret' }),
      () => webhookSink({ url: hook.url, secret: [SECRET, 'short-secret'] }),
      () => webhookSink({ url: hook.url, secret: SECRET, headers: { 'x-token': `${token}\r\nx: y` } }),
      () => webhookSink({ url: 'https://user:pa55word-long-enough@example.com/hook', secret: SECRET }),
      // The secret pasted where the URL belongs.
      () => webhookSink({ url: SECRET, secret: SECRET }),
    ]) {
      assert.throws(attempt, (error: StoreError) => {
        assert.equal(error.code, 'store-config');
        texts.push(error.message);
        return true;
      });
    }
    // An unreachable host: the network error text is scrubbed too.
    const unreachable = webhookSink({
      url: await refusingUrl(),
      secret: SECRET,
      retry: { ...fast, attempts: 1 },
    });
    t.after(() => unreachable.destroy());
    await unreachable.write(dead(1));
    await unreachable.close().catch((error: Error) => texts.push(error.message));
    assert.ok(texts.length >= 9);
    for (const text of texts) {
      for (const secret of [SECRET, 'second-secret-for-rotation-xyz', 'short-secret', token, 'pa55word']) {
        assert.ok(!text.includes(secret), `${JSON.stringify(text)} shows a secret`);
      }
    }
  });

  test('https only, except a loopback receiver', () => {
    assert.throws(
      () => webhookSink({ url: 'http://hooks.example.com/x', secret: SECRET }),
      (error: StoreError) => error.code === 'store-config' && /https:\/\//.test(error.message),
    );
    assert.throws(
      () => webhookSink({ url: 'http://127.0.0.1:8080/x', secret: SECRET, allowInsecureLoopback: false }),
      /cleartext/,
    );
    const ok = webhookSink({ url: 'https://hooks.example.com/x', secret: SECRET });
    return ok.close();
  });

  test('destroy() stops retrying and reports what it drops', async (t) => {
    const hook = await receiver(t, () => 500);
    const dropped: number[] = [];
    let sleeping!: () => void;
    const retryScheduled = new Promise<void>((resolve) => {
      sleeping = resolve;
    });
    const sink = webhookSink({
      url: hook.url,
      secret: SECRET,
      batchSize: 1,
      concurrency: 1,
      retry: { attempts: 1000, baseDelayMs: 60_000, maxDelayMs: 60_000, maxElapsedMs: 3_600_000 },
      onError: (_error, batch) => dropped.push(batch.records),
      onDelivery: (event) => event.outcome === 'retry' && sleeping(),
    });
    t.after(() => sink.destroy());
    for (let i = 0; i < 3; i++) await sink.write(dead(i));
    await retryScheduled; // the first batch now waits a minute before its retry
    await sink.destroy();
    assert.deepEqual(dropped, [1, 1, 1]);
    assert.equal(sink.undelivered, 3);
    await assert.rejects(sink.write(dead(9)), /after close/);
  });
});

describe('verifyWebhookSignature', () => {
  const body = '[{"status":"failed"}]';
  const now = 1_800_000_000_000;
  const ts = String(now / 1000);
  const signed = (secret = SECRET, timestamp = ts) => ({
    [WEBHOOK_HEADERS.timestamp]: timestamp,
    [WEBHOOK_HEADERS.signature]: webhookSignatureHeader(secret, timestamp, body),
  });

  test('the signature is HMAC-SHA256 over timestamp + "." + body, hex, after sha256=', () => {
    const expected = createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex');
    assert.equal(signed()[WEBHOOK_HEADERS.signature], `sha256=${expected}`);
  });

  test('accepts the right secret, body and time; refuses any change', () => {
    assert.equal(verifyWebhookSignature(SECRET, signed(), body, 300, now), true);
    assert.equal(verifyWebhookSignature(SECRET, new Headers(signed()), Buffer.from(body), 300, now), true);
    assert.equal(verifyWebhookSignature(SECRET, signed(), `${body} `, 300, now), false, 'body changed');
    assert.equal(verifyWebhookSignature(`${SECRET}x`, signed(), body, 300, now), false, 'other secret');
    assert.equal(verifyWebhookSignature(SECRET, signed(), body, 300, now + 301_000), false, 'too old');
    assert.equal(
      verifyWebhookSignature(SECRET, signed(), body, 300, now - 301_000),
      false,
      'from the future',
    );
    assert.equal(
      verifyWebhookSignature(SECRET, signed(), body, 300, now + 299_000),
      true,
      'within tolerance',
    );
    const replayed = { ...signed(), [WEBHOOK_HEADERS.timestamp]: String(now / 1000 + 1) };
    assert.equal(verifyWebhookSignature(SECRET, replayed, body, 300, now), false, 'timestamp changed');
    assert.equal(verifyWebhookSignature(SECRET, {}, body, 300, now), false, 'no headers');
  });

  test('rotation: a request signed with two secrets verifies with either; a receiver may hold two', () => {
    const both = {
      [WEBHOOK_HEADERS.timestamp]: ts,
      [WEBHOOK_HEADERS.signature]: webhookSignatureHeader([SECRET, 'new-secret-0123456789'], ts, body),
    };
    assert.equal(verifyWebhookSignature('new-secret-0123456789', both, body, 300, now), true);
    assert.equal(verifyWebhookSignature(SECRET, both, body, 300, now), true);
    assert.equal(verifyWebhookSignature(['other-secret-0123456789', SECRET], signed(), body, 300, now), true);
    assert.equal(verifyWebhookSignature(['other-secret-0123456789'], signed(), body, 300, now), false);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Device, WebPushSubscription } from '../../../src/device.js';
import { startWebPushEmulator, type WebPushEmulator } from '../../../src/emulator/webpush/index.js';
import { PushError } from '../../../src/errors.js';
import type { Notification } from '../../../src/notification.js';
import type { Outcome, PreparedSend, Provider } from '../../../src/provider.js';
import { generateVapidKeys, webPush } from '../../../src/providers/webpush/index.js';

const ctx = () => ({ signal: new AbortController().signal, attempt: 1 });
const web = (token: Device['token']): Device => ({ platform: 'web', token });

function failure(outcome: Outcome) {
  assert.equal(outcome.ok, false, JSON.stringify(outcome));
  return (outcome as Extract<Outcome, { ok: false }>).error;
}

// Every behaviour holds with the encryption worker pool (the default) and inline (0 threads).
for (const [mode, encryptionThreads] of [
  ['worker pool', undefined],
  ['inline encryption', 0],
] as const) {
  describe(`webPush provider against the emulator (${mode})`, () => {
    let emulator: WebPushEmulator;
    let provider: Provider;
    let prepared: PreparedSend;
    const notification: Notification = {
      title: 'Hello Mr. Nice Customer!',
      body: 'A new product awaits you.',
      data: { referenceId: 123 },
      priority: 'low',
      collapseKey: 'product-news',
      ttl: 3600,
    };

    before(async () => {
      emulator = await startWebPushEmulator({ origins: 3 });
      provider = webPush({ ...emulator.providerOptions, encryptionThreads });
      prepared = provider.prepare(notification, {});
    });
    after(async () => {
      await provider.close();
      await emulator.close();
    });

    it('sends to every push service: 201 → sent with the Location, and the browser decrypts the JSON', async () => {
      const subscriptions = emulator.origins.map((_, origin) => emulator.subscribe({ origin }));
      assert.equal(subscriptions.length, 3, 'one subscription on each of the three push services');
      for (const [i, subscription] of subscriptions.entries()) {
        const token = i === 1 ? JSON.stringify(subscription) : subscription;
        const outcome = await prepared.send!(web(token), ctx());
        assert.equal(outcome.ok, true);
        assert.equal(outcome.httpStatus, 201);
        assert.match(
          String((outcome as { messageId?: string }).messageId),
          new RegExp(`^${emulator.origins[i]}/message/`),
        );
        const [message] = emulator.messagesFor(subscription);
        assert.ok(message, 'the emulated browser received it');
        assert.deepEqual(JSON.parse(message.text), {
          title: 'Hello Mr. Nice Customer!',
          body: 'A new product awaits you.',
          data: { referenceId: 123 },
        });
        assert.equal(message.ttl, 3600);
        assert.equal(message.urgency, 'low');
        assert.equal(message.topic, 'product-news');
        assert.equal(message.httpVersion, '2.0', 'HTTP/2 chosen by ALPN');
        assert.equal(message.vapidSubject, emulator.vapid.subject);
      }
    });

    it('refuses malformed subscriptions as invalid tokens without a request', async () => {
      const good = emulator.subscribe();
      const offCurve = Buffer.alloc(65, 1);
      offCurve[0] = 4;
      const before = emulator.stats.requests;
      const cases: Array<[Device['token'] | unknown, RegExp]> = [
        ['{"endpoint":', /not valid JSON/],
        [{ ...good, endpoint: good.endpoint.replace('https:', 'http:') }, /must be https/],
        [
          { ...good, keys: { ...good.keys, p256dh: offCurve.toString('base64url') } },
          /not a point on the P-256 curve/,
        ],
        [{ ...good, keys: { ...good.keys, auth: 'AAAA' } }, /16 bytes/],
        [{ ...good, keys: { ...good.keys, p256dh: good.keys.auth } }, /65-byte/],
        [42, /must be an object/],
      ];
      for (const [token, reason] of cases) {
        const outcome = await prepared.send!(web(token as Device['token']), ctx());
        const error = failure(outcome);
        assert.equal(error.code, 'invalid-token');
        assert.equal(error.provider, 'webpush');
        assert.match(error.reason ?? '', reason);
        assert.equal(outcome.requested, false, 'the outcome says no request was made');
      }
      assert.equal(emulator.stats.requests, before, 'no request was made');
    });

    it('a dry run checks everything a send does, encryption included, and delivers nothing', async () => {
      emulator.reset();
      const dryRun = provider.dryRun!;
      assert.equal(dryRun.mode, 'local');
      const dry = dryRun.prepare(notification);
      const live = emulator.origins.map((_, origin) => emulator.subscribe({ origin }));
      const gone = emulator.subscribe();
      emulator.unsubscribe(gone);
      for (const subscription of [...live, gone]) {
        assert.deepEqual(await dry.send!(web(subscription), ctx()), { ok: true, requested: false });
      }
      const good = emulator.subscribe();
      const malformed = await dry.send!(web({ ...good, keys: { ...good.keys, auth: 'AAAA' } }), ctx());
      assert.equal(failure(malformed).code, 'invalid-token');
      const offCurve = Buffer.alloc(65, 1);
      offCurve[0] = 4;
      const bad = { ...good, keys: { ...good.keys, p256dh: offCurve.toString('base64url') } };
      assert.match(failure(await dry.send!(web(bad), ctx())).reason ?? '', /P-256/, 'the encryption ran');
      assert.throws(() => dryRun.prepare({ webpush: { payload: 'x'.repeat(5000) } }), {
        code: 'payload-too-large',
      });
      assert.equal(emulator.stats.requests, 0, 'no request reached a push service');
      assert.equal(emulator.messages().length, 0, 'no browser received anything');
    });

    it('refuses private and loopback endpoints unless allowed (SSRF guard), without a request', async () => {
      const before = emulator.stats.requests;
      const subscription = emulator.subscribe();
      const strict = webPush({ vapid: emulator.vapid, ca: emulator.ca, encryptionThreads });
      try {
        const send = strict.prepare({ title: 'x' }, {}).send!;
        const loopback = failure(await send(web(subscription), ctx()));
        assert.equal(loopback.code, 'invalid-token');
        assert.match(loopback.reason ?? '', /127\.0\.0\.1 is a loopback address/);
        const metadata = failure(
          await send(web({ ...subscription, endpoint: 'https://169.254.169.254/push/x' }), ctx()),
        );
        assert.match(metadata.reason ?? '', /metadata/);
        const localhost = failure(
          await send(web({ ...subscription, endpoint: 'https://localhost/push/x' }), ctx()),
        );
        assert.match(localhost.reason ?? '', /loopback/);
      } finally {
        await strict.close();
      }
      // The emulator's own options allow 127.0.0.1 only, not the rest of the private space.
      const privateNet = failure(
        await prepared.send!(web({ ...subscription, endpoint: 'https://10.0.0.1/push/x' }), ctx()),
      );
      assert.match(privateNet.reason ?? '', /private address/);
      assert.equal(emulator.stats.requests, before);
    });

    it('maps the push services answers: 410/404 invalid, 429 rate-limited, 413, 5xx, key mismatch', async () => {
      const withScenario = (scenario: Parameters<WebPushEmulator['setScenario']>[1]): WebPushSubscription => {
        const s = emulator.subscribe();
        emulator.setScenario(s, scenario);
        return s;
      };
      const gone = failure(await prepared.send!(web(withScenario({ kind: 'gone' })), ctx()));
      assert.deepEqual([gone.code, gone.httpStatus], ['invalid-token', 410]);
      assert.match(gone.reason ?? '', /removed/);
      const notFound = failure(await prepared.send!(web(withScenario({ kind: 'not-found' })), ctx()));
      assert.deepEqual([notFound.code, notFound.httpStatus], ['invalid-token', 404]);
      const limited = failure(
        await prepared.send!(
          web(withScenario({ kind: 'rate-limited', times: 1, retryAfterSeconds: 2 })),
          ctx(),
        ),
      );
      assert.deepEqual([limited.code, limited.retryable, limited.retryAfterMs], ['rate-limited', true, 2000]);
      const large = failure(await prepared.send!(web(withScenario({ kind: 'too-large' })), ctx()));
      assert.equal(large.code, 'payload-too-large');
      const down = failure(
        await prepared.send!(web(withScenario({ kind: 'server-error', times: 1 })), ctx()),
      );
      assert.deepEqual([down.code, down.retryable, down.httpStatus], ['unavailable', true, 503]);
      const restricted = emulator.subscribe({ applicationServerKey: generateVapidKeys().publicKey });
      const mismatch = failure(await prepared.send!(web(restricted), ctx()));
      assert.deepEqual([mismatch.code, mismatch.stopsLane, mismatch.httpStatus], ['bad-request', false, 403]);
    });

    it('a JWT one push service rejects fails that device, not the lane (bad-request), with its reason', async () => {
      // The same listener reached as https://localhost:<port>: our JWT says aud=https://localhost:<port>,
      // the push service knows itself as https://127.0.0.1:<port> and answers 403 BadJwtToken.
      const subscription = emulator.subscribe({ origin: 0 });
      const viaLocalhost = {
        ...subscription,
        endpoint: subscription.endpoint.replace('127.0.0.1', 'localhost'),
      };
      const other = webPush({ ...emulator.providerOptions, allowHosts: ['localhost'], encryptionThreads });
      try {
        const error = failure(await other.prepare({ title: 'x' }, {}).send!(web(viaLocalhost), ctx()));
        assert.deepEqual([error.code, error.stopsLane, error.httpStatus], ['bad-request', false, 403]);
        assert.match(error.reason ?? '', /BadJwtToken.*aud/);
        assert.match(error.message, /refused our VAPID authorization/);
      } finally {
        await other.close();
      }
    });

    it('fails at prepare for an oversized payload or a bad Topic', () => {
      assert.throws(
        () => provider.prepare({ webpush: { payload: 'x'.repeat(3994) } }, {}),
        (error: unknown) => {
          return error instanceof PushError && error.code === 'payload-too-large';
        },
      );
      assert.throws(
        () => provider.prepare({ title: 'x', collapseKey: 'has spaces' }, {}),
        (error: unknown) => {
          return error instanceof PushError && error.code === 'bad-request';
        },
      );
    });

    it('sends a raw payload override as the plaintext', async () => {
      const subscription = emulator.subscribe();
      const raw = provider.prepare(
        { title: 'ignored', webpush: { payload: 'app-format:42', urgency: 'very-low' } },
        {},
      );
      assert.equal((await raw.send!(web(subscription), ctx())).ok, true);
      const [message] = emulator.messagesFor(subscription);
      assert.equal(message?.text, 'app-format:42');
      assert.equal(message?.urgency, 'very-low');
    });

    it('reports an aborted request as a failure, never a rejection', async () => {
      const subscription = emulator.subscribe();
      const controller = new AbortController();
      controller.abort();
      const outcome = await prepared.send!(web(subscription), { signal: controller.signal, attempt: 1 });
      assert.ok(!outcome.ok);
      assert.equal(outcome.error.code, 'aborted', outcome.error.message);
    });
  });
}

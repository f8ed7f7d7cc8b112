import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { Device } from '../../../src/device.js';
import { issueCertificate, toPkcs12 } from '../../../src/emulator/tls.js';
import { PushError } from '../../../src/errors.js';
import type { Outcome, SendContext } from '../../../src/provider.js';
import type { ApnsProvider } from '../../../src/providers/apns/index.js';
import { apns, CERT_EXPIRING_WARNING } from '../../../src/providers/apns/index.js';
import type { LocalApns } from './local-server.js';
import { okReply, startLocalApns } from './local-server.js';

const MIN = 60_000;
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const p8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const TOKEN_A = 'A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90';

function ctx(signal: AbortSignal = new AbortController().signal): SendContext {
  return { signal, attempt: 1 };
}

function ios(token: unknown, extra: Record<string, unknown> = {}): Device {
  return { platform: 'ios', token: token as string, ...extra };
}

function failed(outcome: Outcome): PushError {
  assert.equal(outcome.ok, false, `expected a failure, got ${JSON.stringify(outcome)}`);
  if (outcome.ok) throw new Error('unreachable');
  return outcome.error;
}

function hexToken(i: number): string {
  return i.toString(16).padStart(64, '0');
}

describe('apns provider against a local HTTP/2 server (token auth)', () => {
  let server: LocalApns;
  const providers: ApnsProvider[] = [];
  const clock = { now: Date.UTC(2025, 0, 1, 12, 0, 0) };

  function provider(extra: Record<string, unknown> = {}): ApnsProvider {
    const p = apns({
      teamId: 'TEAM123456',
      keyId: 'KEY1234567',
      key: p8,
      topic: 'com.ex.app',
      endpoint: server.origin,
      ca: server.ca,
      clock: () => clock.now,
      ...extra,
    });
    providers.push(p);
    return p;
  }

  before(async () => {
    server = await startLocalApns();
  });
  after(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await server.close();
  });

  it('sends, with one JWT for every request, the headers built once, and apns-id as messageId', async () => {
    server.requests.length = 0;
    server.handler = okReply;
    const p = provider();
    const prepared = p.prepare(
      { title: 'Hello', body: 'World', data: { ref: 7 }, ttl: 60, collapseKey: 'c' },
      {},
    );
    assert.ok(prepared.send);
    const outcomes = await Promise.all(
      [TOKEN_A, hexToken(1), hexToken(2)].map(
        (token) => prepared.send?.(ios(token), ctx()) as Promise<Outcome>,
      ),
    );
    for (const outcome of outcomes) {
      assert.equal(outcome.ok, true);
      assert.equal(outcome.httpStatus, 200);
      assert.match(outcome.ok ? (outcome.messageId ?? '') : '', /^00000000-0000-4000-8000-\d{12}$/);
    }
    assert.equal(server.requests.length, 3);
    const paths = server.requests.map((r) => r.headers[':path']).sort();
    assert.deepEqual(
      paths,
      [`/3/device/${hexToken(1)}`, `/3/device/${hexToken(2)}`, `/3/device/${TOKEN_A.toLowerCase()}`].sort(),
    );
    const first = server.requests[0];
    assert.ok(first);
    assert.equal(first.headers[':method'], 'POST');
    assert.equal(first.headers['apns-topic'], 'com.ex.app');
    assert.equal(first.headers['apns-push-type'], 'alert');
    assert.equal(first.headers['apns-priority'], '10');
    assert.equal(first.headers['apns-expiration'], String(clock.now / 1000 + 60));
    assert.equal(first.headers['apns-collapse-id'], 'c');
    assert.equal(first.headers['apns-id'], undefined);
    assert.deepEqual(JSON.parse(first.body.toString()), {
      aps: { alert: { title: 'Hello', body: 'World' } },
      ref: 7,
    });
    const auth = new Set(server.requests.map((r) => r.headers.authorization));
    assert.equal(auth.size, 1, 'one provider token shared by all sends');
    const jwt = String(first.headers.authorization).replace(/^bearer /, '');
    assert.deepEqual(decodeProtectedHeader(jwt), { alg: 'ES256', kid: 'KEY1234567' });
    const { payload } = await jwtVerify(jwt, publicKey, { currentDate: new Date(clock.now) });
    assert.equal(payload.iss, 'TEAM123456');

    // A second send reuses the same token.
    await p.prepare({ body: 'again' }, {}).send?.(ios(TOKEN_A), ctx());
    assert.equal(server.requests[3]?.headers.authorization, first.headers.authorization);
  });

  it('refuses malformed tokens without a request', async () => {
    server.requests.length = 0;
    const prepared = provider().prepare({ body: 'x' }, {});
    const cases: Array<[unknown, RegExp]> = [
      ['', /empty/],
      ['abc', /odd number of hex digits/],
      ['zz'.repeat(32), /not hexadecimal/],
      [{ endpoint: 'https://push.example/x', keys: { p256dh: 'a', auth: 'b' } }, /Web Push subscription/],
      [undefined, /must be a hex string/],
    ];
    for (const [token, pattern] of cases) {
      const error = failed(await (prepared.send?.(ios(token), ctx()) as Promise<Outcome>));
      assert.equal(error.code, 'invalid-token');
      assert.equal(error.reason, 'BadDeviceToken');
      assert.match(error.message, pattern);
    }
    assert.equal(server.requests.length, 0);
  });

  it('reports Unregistered as invalid-token with the invalidation time', async () => {
    server.handler = () => ({ status: 410, body: { reason: 'Unregistered', timestamp: 1_700_000_000_000 } });
    const outcome = await provider().prepare({ body: 'x' }, {}).send?.(ios(TOKEN_A), ctx());
    const error = failed(outcome as Outcome);
    assert.equal(error.code, 'invalid-token');
    assert.equal(error.httpStatus, 410);
    assert.deepEqual(error.invalidatedAt, new Date(1_700_000_000_000));
    assert.equal((outcome as Outcome).httpStatus, 410);
  });

  it('on a burst of ExpiredProviderToken refreshes once and re-sends each once', async () => {
    server.requests.length = 0;
    const p = provider();
    const prepared = p.prepare({ body: 'x' }, {});
    await prepared.send?.(ios(TOKEN_A), ctx()); // mints the first token
    const firstAuth = server.requests[0]?.headers.authorization;
    server.requests.length = 0;
    server.handler = (request, index) =>
      request.headers.authorization === firstAuth
        ? { status: 403, body: { reason: 'ExpiredProviderToken' } }
        : okReply(request, index);
    clock.now += 25 * MIN; // old enough to refresh, young enough not to be refreshed by age
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => prepared.send?.(ios(hexToken(i + 10)), ctx()) as Promise<Outcome>),
    );
    assert.ok(
      outcomes.every((o) => o.ok),
      JSON.stringify(outcomes.find((o) => !o.ok)),
    );
    const tokens = new Set(server.requests.map((r) => r.headers.authorization));
    assert.equal(tokens.size, 2, 'exactly one new token');
    assert.equal(server.requests.length, 40, 'each device sent twice: once refused, once with the new token');
    const fresh = [...tokens].find((t) => t !== firstAuth) as string;
    assert.equal(decodeJwt(fresh.replace('bearer ', '')).iat, Math.floor(clock.now / 1000));
  });

  it('does not refresh a token younger than 20 minutes: auth error naming the clock', async () => {
    const p = provider();
    const prepared = p.prepare({ body: 'x' }, {});
    server.handler = () => ({ status: 403, body: { reason: 'ExpiredProviderToken' } });
    server.requests.length = 0;
    clock.now += 5 * MIN;
    const error = failed((await prepared.send?.(ios(TOKEN_A), ctx())) as Outcome);
    assert.equal(error.code, 'auth');
    assert.equal(error.stopsLane, true);
    assert.match(error.message, /clock/);
    assert.equal(server.requests.length, 1, 'no re-send without a new token');
  });

  it('retires the connection on Shutdown and reports a retryable error', async () => {
    server.requests.length = 0;
    server.handler = (request, index) =>
      index === 0 ? { status: 503, body: { reason: 'Shutdown' } } : okReply(request, index);
    const prepared = provider().prepare({ body: 'x' }, {});
    const error = failed((await prepared.send?.(ios(TOKEN_A), ctx())) as Outcome);
    assert.equal(error.code, 'unavailable');
    assert.equal(error.retryable, true);
    assert.equal(error.reason, 'Shutdown');
    const again = await prepared.send?.(ios(TOKEN_A), ctx());
    assert.equal(again?.ok, true);
    const [a, b] = server.requests;
    assert.ok(a && b);
    assert.notEqual(a.session, b.session, 'the next request went on a new connection');
  });

  it('passes Retry-After and TooManyRequests through as rate-limited', async () => {
    server.handler = () => ({
      status: 429,
      headers: { 'retry-after': '7' },
      body: { reason: 'TooManyRequests' },
    });
    const error = failed(
      (await provider().prepare({ body: 'x' }, {}).send?.(ios(TOKEN_A), ctx())) as Outcome,
    );
    assert.equal(error.code, 'rate-limited');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 7000);
  });

  it('passes transport errors through: timeout and abort', async () => {
    server.handler = () => undefined; // never answers
    const p = provider({ timeoutMs: 300 });
    const prepared = p.prepare({ body: 'x' }, {});
    const timeout = failed((await prepared.send?.(ios(TOKEN_A), ctx())) as Outcome);
    assert.equal(timeout.code, 'timeout');
    assert.equal(timeout.retryable, true);
    const controller = new AbortController();
    const pending = prepared.send?.(ios(TOKEN_A), ctx(controller.signal)) as Promise<Outcome>;
    setTimeout(() => controller.abort(), 50);
    assert.equal(failed(await pending).code, 'aborted');
    p.destroy();
  });

  it('refuses at prepare what cannot be sent, without a request', () => {
    const p = provider();
    assert.throws(
      () => p.prepare({ data: { blob: 'x'.repeat(5000) } }, {}),
      (e: unknown) => e instanceof PushError && e.code === 'payload-too-large',
    );
    assert.throws(
      () => p.prepare({ silent: true, priority: 'high' }, {}),
      (e: unknown) => e instanceof PushError && e.code === 'bad-request',
    );
  });

  it('a dry run checks tokens, payload and provider token locally and sends nothing', async () => {
    server.requests.length = 0;
    const p = provider();
    assert.equal(p.dryRun.mode, 'local');
    const prepared = p.dryRun.prepare({ body: 'x' });
    assert.deepEqual(await prepared.send?.(ios(TOKEN_A), ctx()), { ok: true, requested: false });
    const bad = (await prepared.send?.(ios('abc'), ctx())) as Outcome;
    assert.equal(failed(bad).code, 'invalid-token');
    assert.equal(bad.requested, false);
    assert.throws(() => p.dryRun.prepare({ data: { blob: 'x'.repeat(5000) } }), {
      code: 'payload-too-large',
    });
    assert.equal(server.requests.length, 0);
  });

  it('a malformed token is decided without a request, and says so (requested: false)', async () => {
    server.requests.length = 0;
    const outcome = (await provider().prepare({ body: 'x' }, {}).send?.(ios('xyz'), ctx())) as Outcome;
    assert.equal(failed(outcome).reason, 'BadDeviceToken');
    assert.equal(outcome.requested, false);
    assert.equal(server.requests.length, 0);
  });

  it('exposes name, platforms, app and concurrency', () => {
    const p = provider({ app: 'shop', platforms: ['ios'], concurrency: 50 });
    assert.equal(p.name, 'apns:shop', 'a provider serving an app is named for it by default');
    assert.deepEqual(p.platforms, ['ios']);
    assert.equal(p.app, 'shop');
    assert.equal(p.concurrency, 50);
    assert.equal(p.certificateExpiresAt, undefined);
  });
});

describe('apns provider against a local HTTP/2 server (certificate auth)', () => {
  let server: LocalApns;
  before(async () => {
    server = await startLocalApns({ requireClientCert: true });
  });
  after(async () => {
    await server.close();
  });

  it('presents the client certificate (PEM), sends no authorization, and warns of a near expiry', async () => {
    const expiresAt = new Date(Math.floor((Date.now() + 10 * 86_400_000) / 1000) * 1000);
    const client = issueCertificate(server.tlsCa, {
      commonName: 'Apple Push Services: com.ex.app',
      usage: 'client',
      subject: { UID: 'com.ex.app' },
      notAfter: expiresAt,
    });
    const warnings: Array<[string, string]> = [];
    const p = apns({
      cert: client.certPem,
      key: client.keyPem,
      endpoint: server.origin,
      ca: server.ca,
      onWarning: (message, code) => warnings.push([message, code]),
    });
    try {
      assert.deepEqual(p.certificateExpiresAt, expiresAt);
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]?.[1], CERT_EXPIRING_WARNING);
      assert.match(warnings[0]?.[0] ?? '', /expires on .* \(in 9 days\)/);
      server.requests.length = 0;
      server.handler = okReply;
      const outcome = await p.prepare({ body: 'x' }, {}).send?.(ios(TOKEN_A), ctx());
      assert.equal(outcome?.ok, true, JSON.stringify(outcome));
      const request = server.requests[0];
      assert.ok(request);
      assert.equal(request.headers.authorization, undefined);
      assert.equal(request.headers['apns-topic'], 'com.ex.app', 'topic taken from the certificate UID');
      assert.match(request.clientSubject ?? '', /UID=com.ex.app/);
      // At most one warning a day.
      p.prepare({ body: 'y' }, {});
      assert.equal(warnings.length, 1);
    } finally {
      await p.close();
    }
  });

  it('presents a .p12 client certificate', async () => {
    const client = issueCertificate(server.tlsCa, { commonName: 'p12 client', usage: 'client' });
    const p = apns({
      pfx: toPkcs12(client, 'pw'),
      passphrase: 'pw',
      topic: 'com.ex.app',
      endpoint: server.origin,
      ca: server.ca,
      onWarning: () => assert.fail('no warning for a certificate valid a year'),
    });
    try {
      server.requests.length = 0;
      const outcome = await p.prepare({ body: 'x' }, {}).send?.(ios(TOKEN_A), ctx());
      assert.equal(outcome?.ok, true, JSON.stringify(outcome));
      assert.match(server.requests[0]?.clientSubject ?? '', /CN=p12 client/);
    } finally {
      await p.close();
    }
  });
});

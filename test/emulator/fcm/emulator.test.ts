/** The FCM emulator, spoken to with raw node:http2: it must refuse what FCM refuses, in FCM's shapes. */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import http2 from 'node:http2';
import { after, before, beforeEach, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { type FcmEmulator, startFcmEmulator } from '../../../src/emulator/fcm/index.js';

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';

let emu: FcmEmulator;
let session: http2.ClientHttp2Session;

interface Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: the tests read Google's JSON answers (two different shapes) loosely.
  json: any;
}

function request(path: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, ...headers });
    let status = 0;
    let responseHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status, headers: responseHeaders, json: text ? JSON.parse(text) : undefined });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

async function assertion(
  claims: Record<string, unknown> = {},
  key = createPrivateKey(emu.serviceAccount.private_key),
) {
  const sa = emu.serviceAccount;
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({
    scope: SCOPE,
    iss: sa.client_email,
    aud: sa.token_uri,
    iat,
    exp: iat + 3600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', kid: sa.private_key_id! })
    .sign(key);
}

function tokenRequest(jwt: string, grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer'): Promise<Answer> {
  return request('/token', new URLSearchParams({ grant_type: grant, assertion: jwt }).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
  });
}

async function accessToken(): Promise<string> {
  const res = await tokenRequest(await assertion());
  assert.equal(res.status, 200);
  return res.json.access_token;
}

let bearer: string;
function send(body: unknown, token = bearer, project = emu.projectId): Promise<Answer> {
  return request(
    `/v1/projects/${project}/messages:send`,
    typeof body === 'string' ? body : JSON.stringify(body),
    {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
    },
  );
}

function violations(res: Answer): Array<{ field: string; description: string }> {
  return (
    res.json.error.details.find((d: { '@type': string }) => d['@type'] === BAD_REQUEST)?.fieldViolations ?? []
  );
}

function assertInvalidArgument(res: Answer, field: string | RegExp) {
  assert.equal(res.status, 400, JSON.stringify(res.json));
  assert.equal(res.json.error.code, 400);
  assert.equal(res.json.error.status, 'INVALID_ARGUMENT');
  assert.deepEqual(res.json.error.details[0], { '@type': FCM_ERROR, errorCode: 'INVALID_ARGUMENT' });
  const fields = violations(res).map((v) => v.field);
  assert.ok(
    fields.some((f) => (typeof field === 'string' ? f === field : field.test(f))),
    `expected a violation on ${field}, got ${JSON.stringify(fields)}`,
  );
}

before(async () => {
  emu = await startFcmEmulator({ projectId: 'emu-project' });
  session = http2.connect(emu.origin, { ca: emu.ca });
  bearer = await accessToken();
});
after(async () => {
  session.close();
  await emu.close();
});
beforeEach(() => {
  emu.setScenarios({ tokenLifetimeSeconds: 3600, unregisteredTokens: [], quota: null, sink: false });
});

describe('fcm emulator: service account and provider options', () => {
  it('generates a service account whose token_uri points at itself', () => {
    const sa = emu.serviceAccount;
    assert.equal(sa.type, 'service_account');
    assert.equal(sa.project_id, 'emu-project');
    assert.equal(sa.token_uri, `${emu.origin}/token`);
    assert.match(sa.private_key, /-----BEGIN PRIVATE KEY-----/);
    assert.match(sa.client_email, /@emu-project\.iam\.gserviceaccount\.com$/);
    assert.deepEqual(emu.providerOptions, {
      serviceAccount: sa,
      endpoint: emu.origin,
      topicEndpoint: emu.origin,
      ca: emu.ca,
    });
  });
});

describe('fcm emulator: OAuth token endpoint', () => {
  it('issues Bearer tokens for a valid assertion, with the configured lifetime', async () => {
    emu.setScenarios({ tokenLifetimeSeconds: 7 });
    const res = await tokenRequest(await assertion());
    assert.equal(res.status, 200);
    assert.equal(res.json.token_type, 'Bearer');
    assert.equal(res.json.expires_in, 7);
    assert.equal(typeof res.json.access_token, 'string');
  });

  it('refuses a bad signature, wrong claims and a too-long lifetime with invalid_grant', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases: Array<[string, Promise<string>, string, RegExp]> = [
      ['signature', assertion({}, other), 'invalid_grant', /Invalid JWT Signature/],
      [
        'issuer',
        assertion({ iss: 'someone@else.iam.gserviceaccount.com' }),
        'invalid_grant',
        /account not found/,
      ],
      ['audience', assertion({ aud: 'https://oauth2.googleapis.com/token' }), 'invalid_grant', /audience/],
      [
        'scope',
        assertion({ scope: 'https://www.googleapis.com/auth/userinfo.email' }),
        'invalid_scope',
        /scope/,
      ],
      ['lifetime', assertion({ exp: Math.floor(Date.now() / 1000) + 7200 }), 'invalid_grant', /short-lived/],
      ['expired', assertion({ iat: 1_600_000_000, exp: 1_600_003_600 }), 'invalid_grant', /short-lived/],
    ];
    for (const [name, jwt, error, description] of cases) {
      const res = await tokenRequest(await jwt);
      assert.equal(res.status, 400, name);
      assert.equal(res.json.error, error, name);
      assert.match(res.json.error_description, description, name);
    }
    const grant = await tokenRequest(await assertion(), 'client_credentials');
    assert.equal(grant.json.error, 'unsupported_grant_type');
    const json = await request('/token', '{}', { 'content-type': 'application/json' });
    assert.equal(json.json.error, 'invalid_request');
  });
});

describe('fcm emulator: send endpoint authentication', () => {
  it('answers 401 UNAUTHENTICATED without, with an unknown, or with an expired token', async () => {
    for (const token of ['', 'ya29.made-up']) {
      const res = await send({ message: { token: 'abc' } }, token);
      assert.equal(res.status, 401);
      assert.equal(res.json.error.status, 'UNAUTHENTICATED');
      assert.equal(res.json.error.code, 401);
    }
    emu.setScenarios({ tokenLifetimeSeconds: 0.05 });
    const shortLived = await accessToken();
    await new Promise((r) => setTimeout(r, 80));
    assert.equal((await send({ message: { token: 'abc' } }, shortLived)).status, 401);
  });

  it('answers 403 PERMISSION_DENIED for another project', async () => {
    const res = await send({ message: { token: 'abc' } }, bearer, 'not-mine');
    assert.equal(res.status, 403);
    assert.equal(res.json.error.status, 'PERMISSION_DENIED');
  });

  it('revokeAccessTokens() makes issued tokens fail', async () => {
    const token = await accessToken();
    emu.revokeAccessTokens();
    assert.equal((await send({ message: { token: 'abc' } }, token)).status, 401);
    bearer = await accessToken();
  });
});

describe('fcm emulator: message schema', () => {
  it('accepts a valid message and answers its name', async () => {
    emu.reset();
    const res = await send({
      message: {
        token: 'dEvIcE:APA91b-x_y',
        notification: { title: 'T', body: 'B' },
        data: { a: '1' },
        android: { priority: 'HIGH', ttl: '3.5s', notification: { color: '#ff00AA', channelId: 'news' } },
        apns: { headers: { 'apns-priority': '10' }, payload: { aps: { badge: 1 } } },
      },
    });
    assert.equal(res.status, 200);
    assert.match(res.json.name, /^projects\/emu-project\/messages\/.+/);
    assert.equal(emu.messages.length, 1);
    assert.deepEqual(emu.messages[0]!.target, { kind: 'token', value: 'dEvIcE:APA91b-x_y' });
    assert.equal(emu.stats.accepted, 1);
    assert.equal(emu.attempts('dEvIcE:APA91b-x_y'), 1);
  });

  it('answers validate_only with the fake message id', async () => {
    const res = await send({ message: { topic: 'news' }, validate_only: true });
    assert.equal(res.status, 200);
    assert.equal(res.json.name, 'projects/emu-project/messages/fake_message_id');
  });

  it('wants exactly one of token, topic, condition', async () => {
    assertInvalidArgument(await send({ message: { notification: { title: 'x' } } }), 'message');
    assertInvalidArgument(await send({ message: { token: 'a', topic: 'b' } }), 'message');
    assertInvalidArgument(await send({ message: { topic: '/topics/news' } }), 'message.topic');
  });

  it('wants string data values, and no reserved keys', async () => {
    const res = await send({ message: { token: 'a', data: { ok: 'x', n: 12 } } });
    assertInvalidArgument(res, 'message.data[1].value');
    assert.match(res.json.error.message, /TYPE_STRING/);
    for (const key of ['from', 'message_type', 'google.x', 'gcm.y']) {
      assertInvalidArgument(await send({ message: { token: 'a', data: { [key]: 'v' } } }), 'message.data');
    }
    assertInvalidArgument(
      await send({ message: { token: 'a', android: { data: { k: true } } } }),
      /^message\.android\.data/,
    );
  });

  it('checks android ttl, priority and colour formats', async () => {
    for (const ttl of ['86400', '3.5', '-1s', '1.1234567891s', '2419201s']) {
      assertInvalidArgument(await send({ message: { token: 'a', android: { ttl } } }), 'message.android.ttl');
    }
    assert.equal((await send({ message: { token: 'a', android: { ttl: '2419200s' } } })).status, 200);
    assertInvalidArgument(
      await send({ message: { token: 'a', android: { priority: 'high' } } }),
      'message.android.priority',
    );
    assertInvalidArgument(
      await send({ message: { token: 'a', android: { notification: { color: 'red' } } } }),
      'message.android.notification.color',
    );
  });

  it('refuses unknown fields and wrong types', async () => {
    const res = await send({ message: { token: 'a', key: 'unknown' } });
    assertInvalidArgument(res, 'message');
    assert.match(res.json.error.message, /Unknown name "key"/);
    assertInvalidArgument(
      await send({ message: { token: 'a', notification: { title: 5 } } }),
      'message.notification.title',
    );
    assertInvalidArgument(
      await send({ message: { token: 'a', android: { notification: { notification_count: 1.5 } } } }),
      /count/,
    );
    const notJson = await send('{"message":');
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error.status, 'INVALID_ARGUMENT');
  });

  it('limits the message to 4096 bytes (2048 for topics)', async () => {
    const big = (n: number) => ({ data: { k: 'x'.repeat(n) } });
    assert.equal((await send({ message: { token: 'a', ...big(4000) } })).status, 200);
    assertInvalidArgument(await send({ message: { token: 'a', ...big(4100) } }), 'message');
    assertInvalidArgument(await send({ message: { topic: 'news', ...big(2100) } }), 'message');
  });

  it('answers a malformed token the way FCM does', async () => {
    const res = await send({ message: { token: 'not a token!' } });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.message, 'The registration token is not a valid FCM registration token');
    assert.deepEqual(res.json.error.details, [{ '@type': FCM_ERROR, errorCode: 'INVALID_ARGUMENT' }]);
  });
});

describe('fcm emulator: scenarios and inspection', () => {
  it('answers UNREGISTERED and SENDER_ID_MISMATCH for the listed tokens', async () => {
    emu.setScenarios({ unregisteredTokens: ['dead'], senderMismatchTokens: ['foreign'] });
    const dead = await send({ message: { token: 'dead' } });
    assert.equal(dead.status, 404);
    assert.deepEqual(dead.json.error.details, [{ '@type': FCM_ERROR, errorCode: 'UNREGISTERED' }]);
    const foreign = await send({ message: { token: 'foreign' } });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.json.error.details[0].errorCode, 'SENDER_ID_MISMATCH');
  });

  it('throttles quota tokens for their first K attempts with Retry-After', async () => {
    emu.reset();
    emu.setScenarios({ quota: { tokens: ['busy'], failFirst: 2, retryAfterSeconds: 3 } });
    for (let i = 0; i < 2; i++) {
      const res = await send({ message: { token: 'busy' } });
      assert.equal(res.status, 429);
      assert.equal(res.headers['retry-after'], '3');
      assert.equal(res.json.error.details[0].errorCode, 'QUOTA_EXCEEDED');
    }
    assert.equal((await send({ message: { token: 'busy' } })).status, 200);
    assert.equal(emu.attempts('busy'), 3);
    assert.equal(emu.stats.byErrorCode['QUOTA_EXCEEDED'], 2);
    assert.equal(emu.stats.byStatus[429], 2);
    emu.setScenarios({ quota: null });
  });

  it('fails flaky tokens and bursts with 503 UNAVAILABLE', async () => {
    emu.reset();
    emu.setScenarios({
      flaky: { tokens: ['shaky'], failFirst: 1, retryAfterSeconds: 2 },
      unavailableBurst: 2,
    });
    assert.equal((await send({ message: { token: 'fine' } })).status, 503);
    assert.equal((await send({ message: { token: 'fine' } })).status, 503);
    assert.equal((await send({ message: { token: 'fine' } })).status, 200);
    const shaky = await send({ message: { token: 'shaky' } });
    assert.equal(shaky.status, 503);
    assert.equal(shaky.headers['retry-after'], '2');
    assert.equal(shaky.json.error.details[0].errorCode, 'UNAVAILABLE');
    assert.equal((await send({ message: { token: 'shaky' } })).status, 200);
    emu.setScenarios({ flaky: null });
  });

  it('in sink mode accepts without checking or recording', async () => {
    emu.reset();
    emu.setScenarios({ sink: true });
    assert.equal((await send({ message: { token: 'a', data: { n: 1 } } })).status, 200);
    assert.equal(emu.messages.length, 0);
    assert.equal(emu.attempts('a'), 0);
    assert.equal(emu.stats.accepted, 1);
    assert.equal((await send({ message: {} }, 'bad-token')).status, 401, 'still wants a valid access token');
  });

  it('adds latency', async () => {
    emu.setScenarios({ latencyMs: 150 });
    const start = Date.now();
    await send({ message: { token: 'a' } });
    assert.ok(Date.now() - start >= 140);
    emu.setScenarios({ latencyMs: 0 });
  });

  it('keeps at most maxRecorded messages and counts token requests', async () => {
    const small = await startFcmEmulator({ maxRecorded: 2 });
    const s = http2.connect(small.origin, { ca: small.ca });
    try {
      const sa = small.serviceAccount;
      const iat = Math.floor(Date.now() / 1000);
      const jwt = await new SignJWT({ scope: SCOPE })
        .setProtectedHeader({ alg: 'RS256', kid: sa.private_key_id! })
        .setIssuer(sa.client_email)
        .setAudience(sa.token_uri!)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 3600)
        .sign(createPrivateKey(sa.private_key));
      const post = (path: string, body: string, headers: Record<string, string>) =>
        new Promise<number>((resolve, reject) => {
          const stream = s.request({ ':method': 'POST', ':path': path, ...headers });
          stream.on('response', (h) => resolve(Number(h[':status'])));
          stream.on('error', reject);
          stream.resume();
          stream.end(body);
        });
      let token = '';
      await new Promise<void>((resolve, reject) => {
        const stream = s.request({
          ':method': 'POST',
          ':path': '/token',
          'content-type': 'application/x-www-form-urlencoded',
        });
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          token = JSON.parse(Buffer.concat(chunks).toString()).access_token;
          resolve();
        });
        stream.on('error', reject);
        stream.end(
          new URLSearchParams({
            grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
            assertion: jwt,
          }).toString(),
        );
      });
      for (const t of ['t1', 't2', 't3']) {
        const status = await post(
          `/v1/projects/${small.projectId}/messages:send`,
          JSON.stringify({ message: { token: t } }),
          {
            authorization: `Bearer ${token}`,
          },
        );
        assert.equal(status, 200);
      }
      assert.deepEqual(
        small.messages.map((m) => m.target.value),
        ['t2', 't3'],
      );
      assert.equal(small.stats.tokenRequests, 1);
      assert.equal(small.stats.tokensIssued, 1);
      small.reset();
      assert.equal(small.messages.length, 0);
      assert.equal(small.stats.sendRequests, 0);
    } finally {
      s.close();
      await small.close();
    }
  });
});

/**
 * The HMS emulator on its own, spoken to with raw HTTP/2 requests: it refuses what Huawei
 * refuses (bad OAuth, an unencoded secret, the token count, the size limit, two targets, a
 * notification without click_action) with Huawei's codes, and its scenarios answer as specified.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type HmsEmulator, startHmsEmulator } from '../../../src/emulator/hms/index.js';

let emu: HmsEmulator;
let session: http2.ClientHttp2Session;

function request(
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown> | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, ...headers });
    let status = 0;
    let text = '';
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ status, json, text });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const form = (fields: Record<string, string>) =>
  request('/oauth2/v3/token', new URLSearchParams(fields).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
  });

async function accessToken(): Promise<string> {
  const res = await form({
    grant_type: 'client_credentials',
    client_id: emu.appId,
    client_secret: emu.clientSecret,
  });
  assert.equal(res.status, 200, res.text);
  assert.match(res.text, /\\\//, 'slashes escaped as Huawei does');
  return res.json!['access_token'] as string;
}

async function send(body: unknown, token?: string) {
  const bearer = token ?? (await accessToken());
  return request(`/v1/${emu.appId}/messages:send`, typeof body === 'string' ? body : JSON.stringify(body), {
    'content-type': 'application/json;charset=UTF-8',
    authorization: `Bearer ${bearer}`,
  });
}

const notification = {
  notification: { title: 'T', body: 'B' },
  android: { notification: { click_action: { type: 3 } } },
};

before(async () => {
  emu = await startHmsEmulator({ maxRecorded: 10 });
  session = http2.connect(emu.origin, { ca: emu.ca });
});
after(async () => {
  session.close();
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  emu.setScenarios({ deadTokens: [], deadRate: 0, misconfigured: false, throttleRate: 0, throttleBurst: 0 });
});

describe('HMS emulator', () => {
  it('OAuth: only a form with the client id and the secret gets a token; an unencoded secret does not', async () => {
    const raw = await request(
      '/oauth2/v3/token',
      `grant_type=client_credentials&client_id=${emu.appId}&client_secret=${emu.clientSecret}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    assert.equal(raw.status, 400);
    assert.equal(raw.json!['error'], 1101);
    const wrong = await form({
      grant_type: 'client_credentials',
      client_id: emu.appId,
      client_secret: 'nope',
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json!['sub_error'], 12304);
    const json = await request('/oauth2/v3/token', '{}', { 'content-type': 'application/json' });
    assert.equal(json.status, 400);
    assert.equal(typeof (await accessToken()), 'string');
  });

  it('a send without a valid token is 80200001; an expired one 80200003', async () => {
    assert.equal(
      (await send({ message: { ...notification, token: ['t'] } }, 'forged')).json!['code'],
      '80200001',
    );
    const token = await accessToken();
    emu.expireAccessTokens();
    assert.equal(
      (await send({ message: { ...notification, token: ['t'] } }, token)).json!['code'],
      '80200003',
    );
  });

  it("refuses what Huawei refuses, with Huawei's codes", async () => {
    const token = await accessToken();
    const code = async (body: unknown) => (await send(body, token)).json!['code'];
    assert.equal(await code({ message: { ...notification, token: [] } }), '80300010');
    assert.equal(
      await code({ message: { ...notification, token: Array.from({ length: 1001 }, (_, i) => `t${i}`) } }),
      '80300010',
    );
    assert.equal(await code({ message: { ...notification, token: ['t'], topic: 'news' } }), '80100001');
    assert.equal(
      await code({ message: { ...notification, topic: 'news', condition: "'a' in topics" } }),
      '80100001',
    );
    assert.equal(await code({ message: { ...notification } }), '80100001', 'no target at all');
    assert.equal(await code({ message: { ...notification, condition: "'a' in topics" } }), '80000000');
    assert.equal(await code({ messag: { ...notification, token: ['t'] } }), '80300010');
    assert.equal(
      await code({ message: { ...notification, data: 'x'.repeat(4100), token: ['t'] } }),
      '80300008',
    );
    // The limit counts the body without its tokens: 1,000 long tokens are fine.
    const many = Array.from({ length: 1000 }, (_, i) => `${'A'.repeat(150)}${i}`);
    assert.equal(await code({ message: { ...notification, token: many } }), '80000000');
    assert.equal(
      await code({
        message: { notification: { title: 'T', body: 'B' }, android: { notification: {} }, token: ['t'] },
      }),
      '80100003',
    );
    assert.equal(
      await code({ message: { notification: { body: 'B' }, android: notification.android, token: ['t'] } }),
      '80100003',
    );
    assert.equal(await code({ message: { data: { a: 1 }, token: ['t'] } }), '80100003');
    assert.equal(
      await code({ message: { data: '{}', android: { collapse_key: 101 }, token: ['t'] } }),
      '80100013',
    );
    assert.equal(
      await code({ message: { data: '{}', android: { ttl: '86400' }, token: ['t'] } }),
      '80100003',
    );
    assert.equal(await code({ message: { data: '{}', token: ['t'] } }), '80000000');
  });

  it('dead tokens: partial success lists them; a request of only dead ones is 80300007', async () => {
    emu.setScenarios({ deadTokens: ['d1', 'd2'] });
    const token = await accessToken();
    const partial = await send({ message: { ...notification, token: ['a', 'd1', 'b'] } }, token);
    assert.equal(partial.json!['code'], '80100000');
    assert.deepEqual(JSON.parse(partial.json!['msg'] as string), {
      success: 2,
      failure: 1,
      illegal_tokens: ['d1'],
    });
    const all = await send({ message: { ...notification, token: ['d1', 'd2'] } }, token);
    assert.equal(all.json!['code'], '80300007');
    assert.equal(emu.deliveries('a'), 1);
    assert.equal(emu.deliveries('d1'), 0);
    assert.equal(emu.attempts('d1'), 2);
  });

  it('counts tokens sent again after they were delivered, even in a request it throttles or refuses', async () => {
    const token = await accessToken();
    await send({ message: { ...notification, token: ['a', 'b'] } }, token);
    assert.equal(emu.stats.tokensResentAfterDelivery, 0, 'a first delivery is not a re-send');
    emu.setScenarios({ throttleBurst: 1 });
    assert.equal((await send({ message: { ...notification, token: ['a', 'c'] } }, token)).status, 503);
    assert.equal(emu.stats.tokensResentAfterDelivery, 1, 'a throttled re-send to a delivered token');
    await send({ message: { ...notification, token: ['b'] } }, 'forged');
    assert.equal(emu.stats.tokensResentAfterDelivery, 2, 'one refused for its access token');
    await send({ message: { ...notification, token: ['c'] } }, token);
    await send({ message: { ...notification, token: ['a'] }, validate_only: true }, token);
    assert.equal(emu.stats.tokensResentAfterDelivery, 2, 'neither a first delivery nor a validation');
    await send({ message: { ...notification, token: ['b', 'c'] } }, token);
    assert.equal(emu.stats.tokensResentAfterDelivery, 4);
    assert.equal(emu.deliveries('b'), 2);
  });

  it('throttles every 1/rate-th request with a bare 503, and validate_only delivers nothing', async () => {
    emu.setScenarios({ throttleRate: 0.25 });
    const token = await accessToken();
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await send({ message: { ...notification, token: ['x'] } }, token)).status);
    assert.deepEqual(statuses, [200, 200, 200, 503, 200, 200, 200, 503]);
    emu.setScenarios({ throttleRate: 0 });
    const validated = await send({ message: { ...notification, token: ['v'] }, validate_only: true }, token);
    assert.equal(validated.json!['code'], '80000000');
    assert.equal(emu.deliveries('v'), 0);
  });
});

/**
 * The FCM emulator's strictness on what firebase-admin sends that pushline now sends too: the
 * Instance ID topic API (auth, `access_token_auth`, body, ≤ 1,000 tokens, per-token answers,
 * subscriptions kept) and the loopback Google auth server for Application Default Credentials
 * (`Metadata-Flavor: Google`, the metadata token and project id, the refresh grant, STS).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type FcmEmulator, startFcmEmulator } from '../../../src/emulator/fcm/index.js';

let emu: FcmEmulator;
let session: http2.ClientHttp2Session;
let bearer: string;

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: Google's JSON answers, read loosely.
  json: any;
}

function h2(path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, ...headers });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status, json: text ? JSON.parse(text) : undefined });
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

const topicHeaders = (token = bearer) => ({
  authorization: `Bearer ${token}`,
  access_token_auth: 'true',
  'content-type': 'application/json',
});
const batchAdd = (body: unknown, headers: Record<string, string> = topicHeaders()) =>
  h2('/iid/v1:batchAdd', JSON.stringify(body), headers);

before(async () => {
  emu = await startFcmEmulator({ projectId: 'emu-topics' });
  session = http2.connect(emu.origin, { ca: emu.ca });
  // A token from the metadata server: any token the emulator issued is accepted.
  const res = await fetch(
    `${emu.googleAuth.origin}/computeMetadata/v1/instance/service-accounts/default/token`,
    {
      headers: { 'metadata-flavor': 'Google' },
    },
  );
  bearer = ((await res.json()) as { access_token: string }).access_token;
});
after(async () => {
  session.close();
  await emu.close();
});
beforeEach(() => {
  emu.reset();
  emu.setScenarios({ unregisteredTokens: [], invalidTokens: [], flaky: null });
});

describe('fcm emulator: Instance ID topic API', () => {
  it('subscribes and answers one result per token, in order', async () => {
    emu.setScenarios({ unregisteredTokens: ['dead'], invalidTokens: ['junk'] });
    const res = await batchAdd({ to: '/topics/news', registration_tokens: ['a', 'dead', 'junk', 'b'] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { results: [{}, { error: 'NOT_FOUND' }, { error: 'INVALID_ARGUMENT' }, {}] });
    assert.deepEqual(emu.subscribers('news'), ['a', 'b']);
    assert.deepEqual(emu.stats.topicErrors, { NOT_FOUND: 1, INVALID_ARGUMENT: 1 });
    const removed = await h2(
      '/iid/v1:batchRemove',
      JSON.stringify({ to: '/topics/news', registration_tokens: ['a'] }),
      topicHeaders(),
    );
    assert.deepEqual(removed.json, { results: [{}] });
    assert.deepEqual(emu.subscribers('news'), ['b']);
  });

  it('refuses a request without a valid OAuth token, or without access_token_auth: true', async () => {
    const body = { to: '/topics/news', registration_tokens: ['a'] };
    assert.equal((await batchAdd(body, { ...topicHeaders(), authorization: '' })).status, 401);
    assert.equal((await batchAdd(body, topicHeaders('ya29.not-issued'))).status, 401);
    const { access_token_auth: _, ...legacy } = topicHeaders();
    const res = await batchAdd(body, legacy);
    assert.equal(res.status, 401);
    assert.match(res.json.error.message, /access_token_auth/);
    assert.deepEqual(emu.subscribers('news'), []);
  });

  it('refuses bad bodies: topic name, empty or over 1,000 tokens, non-string tokens, unknown fields', async () => {
    const cases: unknown[] = [
      { to: 'news', registration_tokens: ['a'] },
      { to: '/topics/a b', registration_tokens: ['a'] },
      { to: '/topics/news', registration_tokens: [] },
      { to: '/topics/news', registration_tokens: Array.from({ length: 1001 }, (_, i) => `t${i}`) },
      { to: '/topics/news', registration_tokens: ['a', ''] },
      { to: '/topics/news', registration_tokens: ['a'], extra: 1 },
    ];
    for (const body of cases) {
      const res = await batchAdd(body);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(res.json.error.status, 'INVALID_ARGUMENT');
    }
    const thousand = await batchAdd({
      to: '/topics/news',
      registration_tokens: Array.from({ length: 1000 }, (_, i) => `t${i}`),
    });
    assert.equal(thousand.status, 200);
    assert.equal(thousand.json.results.length, 1000);
  });
});

describe('fcm emulator: loopback Google auth server', () => {
  const md = (path: string, headers: Record<string, string> = { 'metadata-flavor': 'Google' }) =>
    fetch(`${emu.googleAuth.origin}/computeMetadata/v1/${path}`, { headers });

  it('the metadata server needs Metadata-Flavor: Google, and says it in every answer', async () => {
    const refused = await md('project/project-id', {});
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('metadata-flavor'), 'Google');
    const id = await md('project/project-id');
    assert.equal(id.status, 200);
    assert.equal(id.headers.get('metadata-flavor'), 'Google');
    assert.equal(await id.text(), 'emu-topics');
    const token = await md('instance/service-accounts/default/token');
    const json = (await token.json()) as { access_token: string; expires_in: number; token_type: string };
    assert.equal(json.token_type, 'Bearer');
    assert.ok(json.expires_in > 0);
    assert.equal((await md('instance/nothing-here')).status, 404);
    assert.equal(emu.googleAuth.stats.metadataRefusals, 1);
  });

  it('the refresh-token grant accepts its user credentials only', async () => {
    const user = emu.googleAuth.authorizedUser();
    const grant = (refresh: string) =>
      fetch(`${emu.googleAuth.origin}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: user.client_id,
          client_secret: user.client_secret,
          refresh_token: refresh,
        }),
      });
    assert.equal((await grant(user.refresh_token)).status, 200);
    const refused = await grant('1//other');
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant');
  });

  it('STS exchanges only the subject token it handed out', async () => {
    const exchange = (subject: string) =>
      fetch(`${emu.googleAuth.origin}/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          audience: emu.googleAuth.externalAccount('/x')['audience'] as string,
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          subject_token: subject,
          requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          scope: 'https://www.googleapis.com/auth/cloud-platform',
        }),
      });
    assert.equal((await exchange(emu.googleAuth.subjectToken)).status, 200);
    assert.equal((await exchange('forged')).status, 400);
  });
});

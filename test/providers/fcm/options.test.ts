import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveFcmOptions } from '../../../src/providers/fcm/options.js';
import type { ServiceAccount } from '../../../src/providers/fcm/service-account.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const account: ServiceAccount = {
  type: 'service_account',
  project_id: 'demo-project',
  private_key_id: 'abc123',
  private_key: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  client_email: 'sender@demo-project.iam.gserviceaccount.com',
  token_uri: 'https://oauth2.googleapis.com/token',
};
const dir = mkdtempSync(join(tmpdir(), 'pushline-fcm-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Asserts a config PushError whose message matches every pattern. */
function rejects(run: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(run, (err: { code?: string; message: string }) => {
    assert.equal(err.code, 'config');
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

describe('fcm options', () => {
  it('takes the service account as an object, a file path, or GOOGLE_APPLICATION_CREDENTIALS', () => {
    const fromObject = resolveFcmOptions({ serviceAccount: account }, {});
    assert.equal(fromObject.projectId, 'demo-project');
    assert.equal(fromObject.sendPath, '/v1/projects/demo-project/messages:send');
    assert.equal(fromObject.endpointOrigin, 'https://fcm.googleapis.com');
    assert.deepEqual(fromObject.platforms, ['android']);
    const path = file('sa.json', JSON.stringify(account));
    assert.equal(
      resolveFcmOptions({ serviceAccount: path }, {}).account!.account.client_email,
      account.client_email,
    );
    const fromEnv = resolveFcmOptions({ projectId: 'other' }, { GOOGLE_APPLICATION_CREDENTIALS: path });
    assert.equal(fromEnv.projectId, 'other');
    assert.equal(fromEnv.account!.source, path);
  });

  it('defaults token_uri to Google and keeps a base path of the endpoint', () => {
    const { token_uri: _, ...noUri } = account;
    const r = resolveFcmOptions(
      { serviceAccount: noUri as ServiceAccount, endpoint: 'https://127.0.0.1:8443/fcm/' },
      {},
    );
    assert.equal(r.account!.tokenUri, 'https://oauth2.googleapis.com/token');
    assert.equal(r.endpointOrigin, 'https://127.0.0.1:8443');
    assert.equal(r.sendPath, '/fcm/v1/projects/demo-project/messages:send');
  });

  it('names the problem and the fix for broken credentials', () => {
    rejects(
      () => resolveFcmOptions({}, {}),
      /no service account/,
      /GOOGLE_APPLICATION_CREDENTIALS/,
      /credential: 'application-default'/,
    );
    rejects(
      () => resolveFcmOptions({ serviceAccount: join(dir, 'missing.json') }, {}),
      /cannot read/,
      /ENOENT/,
      /Firebase console/,
    );
    rejects(
      () => resolveFcmOptions({}, { GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'nope.json') }),
      /GOOGLE_APPLICATION_CREDENTIALS/,
    );
    rejects(
      () => resolveFcmOptions({ serviceAccount: file('bad.json', '{"type": "serv') }, {}),
      /not valid JSON/,
    );
    rejects(
      () => resolveFcmOptions({ serviceAccount: { ...account, private_key: '' } }, {}),
      /no `private_key`/,
    );
    rejects(
      () =>
        resolveFcmOptions(
          { serviceAccount: { ...account, client_email: undefined } as unknown as ServiceAccount },
          {},
        ),
      /no `client_email`/,
    );
    rejects(
      () => resolveFcmOptions({ serviceAccount: { ...account, type: 'authorized_user' } }, {}),
      /service_account/,
    );
    const pkcs1 = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    rejects(
      () => resolveFcmOptions({ serviceAccount: { ...account, private_key: pkcs1 } }, {}),
      /PKCS#8/,
      /openssl pkcs8/,
    );
    const flattened = account.private_key.replace(/\n/g, '');
    rejects(
      () => resolveFcmOptions({ serviceAccount: { ...account, private_key: flattened } }, {}),
      /line breaks/,
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    rejects(
      () => resolveFcmOptions({ serviceAccount: { ...account, private_key: ec } }, {}),
      /ec key/,
      /RSA/,
    );
    const { project_id: _, ...noProject } = account;
    rejects(() => resolveFcmOptions({ serviceAccount: noProject as ServiceAccount }, {}), /projectId/);
  });

  it('takes the key JSON itself from serviceAccount or GOOGLE_APPLICATION_CREDENTIALS', () => {
    const json = JSON.stringify(account, null, 2);
    const fromOption = resolveFcmOptions({ serviceAccount: json }, {});
    assert.equal(fromOption.account!.account.client_email, account.client_email);
    assert.equal(fromOption.account!.source, 'the JSON given inline in the `serviceAccount` option');
    const fromEnv = resolveFcmOptions({}, { GOOGLE_APPLICATION_CREDENTIALS: json });
    assert.equal(fromEnv.projectId, 'demo-project');
    assert.equal(fromEnv.account!.source, 'the JSON given inline in GOOGLE_APPLICATION_CREDENTIALS');
  });

  it('never quotes the key: malformed JSON, a key where a path belongs, messages about the account', () => {
    const pieces = (text: string) =>
      Array.from({ length: Math.floor((text.length - 12) / 6) }, (_, i) => text.slice(i * 6, i * 6 + 12));
    const keyBody = account.private_key
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('-----'))
      .join('');
    const check = (run: () => unknown, pattern: RegExp) =>
      assert.throws(run, (e: Error) => {
        assert.match(e.message, pattern);
        const printed = `${e.message}\n${e.stack}\n${(e.cause as Error | undefined)?.stack ?? ''}`;
        for (const piece of pieces(keyBody)) assert.ok(!printed.includes(piece), printed);
        return true;
      });
    const broken = JSON.stringify(account).replace('"client_email"', 'client_email');
    check(
      () => resolveFcmOptions({}, { GOOGLE_APPLICATION_CREDENTIALS: broken }),
      /the JSON given inline in GOOGLE_APPLICATION_CREDENTIALS is not valid JSON \(syntax error at line 1, column \d+\)/,
    );
    check(
      () => resolveFcmOptions({ serviceAccount: file('broken.json', broken) }, {}),
      /the service-account file ".*broken\.json" .* is not valid JSON \(syntax error/,
    );
    check(
      () => resolveFcmOptions({}, { GOOGLE_APPLICATION_CREDENTIALS: account.private_key }),
      /GOOGLE_APPLICATION_CREDENTIALS holds a PEM 'PRIVATE KEY' block \(not shown\), neither a file path nor the key JSON/,
    );
    check(
      () => resolveFcmOptions({ serviceAccount: keyBody }, {}),
      /the `serviceAccount` option holds base64 text of \d+ characters \(not shown\)/,
    );
    check(
      () =>
        resolveFcmOptions({}, { GOOGLE_APPLICATION_CREDENTIALS: JSON.stringify({ ...account, type: 'x' }) }),
      /credentials from the JSON given inline in GOOGLE_APPLICATION_CREDENTIALS are of type "x"/,
    );
  });

  it('refuses cleartext endpoint and token_uri, except on loopback with allowInsecureLoopback', () => {
    rejects(
      () => resolveFcmOptions({ serviceAccount: account, endpoint: 'http://fcm.googleapis.com' }, {}),
      /`endpoint` must be an https:\/\/ URL: http:\/\/ would send .* cleartext to fcm\.googleapis\.com/,
    );
    rejects(
      () =>
        resolveFcmOptions(
          { serviceAccount: { ...account, token_uri: 'http://oauth2.googleapis.com/token' } },
          {},
        ),
      /token_uri` \(from the `serviceAccount` option\) must be an https:\/\/ URL/,
    );
    rejects(
      () =>
        resolveFcmOptions(
          {
            serviceAccount: { ...account, token_uri: 'http://oauth.internal/token' },
            allowInsecureLoopback: true,
          },
          {},
        ),
      /token_uri.* must be an https:\/\/ URL/,
    );
    const local = { ...account, token_uri: 'http://127.0.0.1:9000/token' };
    rejects(
      () => resolveFcmOptions({ serviceAccount: local, endpoint: 'https://127.0.0.1:9001' }, {}),
      /token_uri.*allowInsecureLoopback: true/,
    );
    rejects(
      () => resolveFcmOptions({ serviceAccount: account, endpoint: 'http://localhost:9001' }, {}),
      /`endpoint` is http:\/\/ \(cleartext\).*allowInsecureLoopback: true/,
    );
    const r = resolveFcmOptions(
      { serviceAccount: local, endpoint: 'http://localhost:9001', allowInsecureLoopback: true },
      {},
    );
    assert.equal(r.endpointOrigin, 'http://localhost:9001');
    assert.equal(r.account!.tokenUri, 'http://127.0.0.1:9000/token');
  });

  it('checks platforms, endpoint and numbers', () => {
    rejects(() => resolveFcmOptions({ serviceAccount: account, platforms: ['huawei'] }, {}), /huawei/);
    rejects(() => resolveFcmOptions({ serviceAccount: account, platforms: [] }, {}), /non-empty/);
    rejects(() => resolveFcmOptions({ serviceAccount: account, endpoint: 'not a url' }, {}), /endpoint/);
    rejects(() => resolveFcmOptions({ serviceAccount: account, concurrency: 0 }, {}), /concurrency/);
    const r = resolveFcmOptions(
      { serviceAccount: account, platforms: ['android', 'ios', 'web'], app: 'a', validateOnly: true },
      {},
    );
    assert.deepEqual(r.platforms, ['android', 'ios', 'web']);
    assert.equal(r.app, 'a');
    assert.equal(r.validateOnly, true);
  });
});

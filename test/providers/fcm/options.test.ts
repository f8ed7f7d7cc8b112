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
      resolveFcmOptions({ serviceAccount: path }, {}).account.account.client_email,
      account.client_email,
    );
    const fromEnv = resolveFcmOptions({ projectId: 'other' }, { GOOGLE_APPLICATION_CREDENTIALS: path });
    assert.equal(fromEnv.projectId, 'other');
    assert.equal(fromEnv.account.source, path);
  });

  it('defaults token_uri to Google and keeps a base path of the endpoint', () => {
    const { token_uri: _, ...noUri } = account;
    const r = resolveFcmOptions(
      { serviceAccount: noUri as ServiceAccount, endpoint: 'https://127.0.0.1:8443/fcm/' },
      {},
    );
    assert.equal(r.account.tokenUri, 'https://oauth2.googleapis.com/token');
    assert.equal(r.endpointOrigin, 'https://127.0.0.1:8443');
    assert.equal(r.sendPath, '/fcm/v1/projects/demo-project/messages:send');
  });

  it('names the problem and the fix for broken credentials', () => {
    rejects(() => resolveFcmOptions({}, {}), /no service account/, /GOOGLE_APPLICATION_CREDENTIALS/);
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

/** hms() options: every mistake is a config PushError at construction, never showing the secret. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushError } from '../../../src/errors.js';
import { type HmsOptions, hms } from '../../../src/providers/hms/index.js';
import { resolveHmsOptions } from '../../../src/providers/hms/options.js';

const base: HmsOptions = { appId: '104000000', clientSecret: 's3cr3t-value' };

function refused(options: unknown, pattern: RegExp): void {
  assert.throws(
    () => hms(options as HmsOptions),
    (error: unknown) =>
      error instanceof PushError &&
      error.code === 'config' &&
      pattern.test(error.message) &&
      !error.message.includes('s3cr3t-value'),
  );
}

describe('hms options', () => {
  it('defaults: Huawei endpoints, client id = app id, 1,000 tokens a request, 8 in flight', () => {
    const resolved = resolveHmsOptions(base);
    assert.equal(resolved.endpointOrigin, 'https://push-api.cloud.huawei.com');
    assert.equal(resolved.sendPath, '/v1/104000000/messages:send');
    assert.equal(resolved.authUrl.href, 'https://oauth-login.cloud.huawei.com/oauth2/v3/token');
    assert.equal(resolved.clientId, '104000000');
    assert.equal(resolved.batchSize, 1000);
    assert.equal(resolved.concurrency, 8);
    const provider = hms(base);
    assert.deepEqual(provider.platforms, ['huawei']);
    assert.equal(provider.batchSize, 1000);
    assert.equal(provider.dryRun.mode, 'remote');
    void provider.destroy();
  });

  it('refuses what cannot work, saying which option', () => {
    refused({ clientSecret: 'x' }, /`appId` is missing/);
    refused({ appId: '1' }, /`clientSecret` is missing/);
    refused({ ...base, appId: '../x' }, /is not an app id/);
    refused({ ...base, endpoint: 'http://push.example.com' }, /`endpoint` must be an https:\/\/ URL/);
    refused({ ...base, authEndpoint: 'not a url' }, /`authEndpoint`/);
    refused({ ...base, batchSize: 1001 }, /`batchSize` must be a whole number from 1 to 1000/);
    refused({ ...base, concurrency: 0 }, /`concurrency`/);
    refused({ ...base, transport: 'curl' }, /`transport`/);
  });
});

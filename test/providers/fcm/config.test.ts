/** pushline.json's `fcm` section with Application Default Credentials and the topic endpoint. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CONFIG_SCHEMA,
  ConfigError,
  configReference,
  fcmOptions,
  loadConfig,
} from '../../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-fcm-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function write(content: unknown): string {
  const path = join(dir, `f-${++n}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
const load = (json: unknown, env: NodeJS.ProcessEnv = {}) => loadConfig(CONFIG_SCHEMA, write(json), env);
const user = { type: 'authorized_user', client_id: 'c', client_secret: 's', refresh_token: 'r' };

describe("config: fcm with credential 'application-default'", () => {
  it('needs no service account, and maps to fcm() options', () => {
    const config = load({ providers: { fcm: { credential: 'application-default', projectId: 'p' } } });
    const options = fcmOptions(config.providers.fcm!);
    assert.deepEqual(options, { credential: 'application-default', projectId: 'p' });
  });

  it('PUSHLINE_FCM_CREDENTIAL alone configures FCM (Cloud Run: no file, no key)', () => {
    const config = load({}, { PUSHLINE_FCM_CREDENTIAL: 'application-default' });
    assert.equal(fcmOptions(config.providers.fcm!).credential, 'application-default');
  });

  it('GOOGLE_APPLICATION_CREDENTIALS of another type is left to google-auth-library', () => {
    const config = load(
      { providers: { fcm: { credential: 'application-default' } } },
      { GOOGLE_APPLICATION_CREDENTIALS: write(user) },
    );
    const options = fcmOptions(config.providers.fcm!);
    assert.equal(options.serviceAccount, undefined);
    assert.equal(options.credential, 'application-default');
  });

  it('a key file in the config with ADC is a contradiction, said plainly', () => {
    const sa = write({ type: 'service_account', client_email: 'a@b', private_key: 'x' });
    const config = load({
      providers: { fcm: { credential: 'application-default', serviceAccountFile: sa } },
    });
    assert.throws(
      () => fcmOptions(config.providers.fcm!),
      (err: unknown) => err instanceof ConfigError && /credential is 'application-default'/.test(err.message),
    );
  });

  it('without credential, the service account is still required', () => {
    assert.throws(
      () => load({ providers: { fcm: { projectId: 'p' } } }),
      (err: unknown) => err instanceof ConfigError && /lacks serviceAccountFile/.test(err.message),
    );
  });

  it('topicEndpoint reaches fcm(), and --help explains both fields', () => {
    const sa = write({ type: 'service_account', client_email: 'a@b', private_key: 'x', project_id: 'p' });
    const config = load({
      providers: { fcm: { serviceAccountFile: sa, topicEndpoint: 'https://127.0.0.1:9' } },
    });
    assert.equal(fcmOptions(config.providers.fcm!).topicEndpoint, 'https://127.0.0.1:9');
    const help = configReference(CONFIG_SCHEMA);
    assert.match(help, /required unless credential is\s+application-default/);
    assert.match(help, /PUSHLINE_FCM_CREDENTIAL/);
  });
});

/**
 * Application Default Credentials: fcm({ credential: 'application-default' }) with the real
 * google-auth-library, against the FCM emulator and its loopback metadata server / token
 * endpoint / STS, one child process per credential type (fixtures/adc-child.ts: each its own
 * environment, nothing leaves the machine). Then the seam itself with a fake library: token
 * refresh after a 401, error classes, the missing-package message, project id lookup.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type FcmEmulator, startFcmEmulator } from '../../../src/emulator/fcm/index.js';
import { PushError } from '../../../src/errors.js';
import type { SendContext } from '../../../src/provider.js';
import {
  applicationDefaultCredential,
  type GoogleAuthClientLike,
  type GoogleAuthModule,
  googleAuthError,
} from '../../../src/providers/fcm/application-default.js';
import type { FcmOptions } from '../../../src/providers/fcm/options.js';
import { resolveFcmOptions } from '../../../src/providers/fcm/options.js';
import { createFcmProvider } from '../../../src/providers/fcm/provider.js';
import { PoolRegistry } from '../../../src/transport/index.js';
import type { TransportRequest, TransportResponse } from '../../../src/transport/types.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'adc-child.ts');
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let emu: FcmEmulator;
let dir: string;

interface ChildFeedback {
  token: string;
  status: string;
  code?: string;
  message?: string;
  retryable?: boolean;
}
interface ChildResult {
  first: ChildFeedback[];
  second?: ChildFeedback[];
  tokenRequests: number;
  outside: string[];
}

before(async () => {
  emu = await startFcmEmulator({ projectId: 'adc-project' });
  dir = mkdtempSync(join(tmpdir(), 'pushline-adc-'));
});
after(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => emu.reset());

/** A fresh, empty gcloud directory (no well-known file) unless `wellKnown` is given. */
function gcloudDir(name: string, wellKnown?: unknown): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  if (wellKnown !== undefined) {
    writeFileSync(join(path, 'application_default_credentials.json'), JSON.stringify(wellKnown));
  }
  return path;
}

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/**
 * Runs the child with only the environment given (plus a PATH without gcloud, a HOME and
 * gcloud directory of its own, and the metadata host on loopback so nothing probes
 * 169.254.169.254). `between` runs after the first send when the job sends twice.
 */
function runChild(
  options: FcmOptions,
  env: Record<string, string>,
  extra: { tokens?: string[]; twice?: boolean; between?: () => void } = {},
): Promise<ChildResult> {
  const job = {
    options: { endpoint: emu.origin, ca: emu.ca, credential: 'application-default', ...options },
    tokens: extra.tokens ?? ['adc-1', 'adc-2'],
    twice: extra.twice === true,
  };
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    cwd: ROOT,
    env: {
      PATH: dirname(process.execPath),
      HOME: home,
      CLOUDSDK_CONFIG: gcloudDir('empty-gcloud'),
      GCE_METADATA_HOST: emu.googleAuth.metadataHost,
      NO_PROXY: '*',
      PUSHLINE_ADC_JOB: JSON.stringify(job),
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child timed out; stderr: ${stderr}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('"phase":"first-done"') && extra.between) {
        const between = extra.between;
        extra.between = undefined;
        between();
        child.stdin.write('go\n');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.includes('"phase":"done"'));
      if (code !== 0 || line === undefined) {
        reject(new Error(`child exited ${code}; stdout: ${stdout}; stderr: ${stderr}`));
        return;
      }
      resolve(JSON.parse(line) as ChildResult);
    });
  });
}

function allSent(result: ChildResult, feedback = result.first) {
  assert.deepEqual(
    feedback.map((f) => f.status),
    feedback.map(() => 'sent'),
    JSON.stringify(feedback),
  );
  assert.deepEqual(result.outside, []);
}

describe("credential: 'application-default' with google-auth-library, on loopback", () => {
  it('the metadata server (Cloud Run, GKE, GCE): its token and its project id', async () => {
    const result = await runChild({}, {});
    allSent(result);
    const stats = emu.googleAuth.stats;
    assert.equal(stats.metadataTokens, 1);
    assert.equal(stats.metadataRefusals, 0);
    // The project id came from the metadata server: the sends went to its project's path.
    assert.equal(emu.stats.accepted, 2);
    assert.equal(emu.messages[0]!.name.startsWith('projects/adc-project/'), true);
  });

  it('authorized_user named by GOOGLE_APPLICATION_CREDENTIALS (refresh-token grant)', async () => {
    const creds = file('user.json', emu.googleAuth.authorizedUser());
    const result = await runChild(
      {
        projectId: 'adc-project',
        googleAuth: { clientOptions: { endpoints: { oauth2TokenUrl: `${emu.googleAuth.origin}/token` } } },
      },
      { GOOGLE_APPLICATION_CREDENTIALS: creds },
    );
    allSent(result);
    assert.equal(emu.googleAuth.stats.refreshTokens, 1);
    assert.equal(emu.googleAuth.stats.metadataRequests, 0);
  });

  it("authorized_user from gcloud's well-known file (`gcloud auth application-default login`)", async () => {
    const result = await runChild(
      {
        projectId: 'adc-project',
        googleAuth: { clientOptions: { endpoints: { oauth2TokenUrl: `${emu.googleAuth.origin}/token` } } },
      },
      { CLOUDSDK_CONFIG: gcloudDir('gcloud-user', emu.googleAuth.authorizedUser()) },
    );
    allSent(result);
    assert.equal(emu.googleAuth.stats.refreshTokens, 1);
  });

  it('a refused refresh token fails the lane with `auth`, not retried', async () => {
    const creds = file('user-bad.json', { ...emu.googleAuth.authorizedUser(), refresh_token: '1//revoked' });
    const result = await runChild(
      {
        projectId: 'adc-project',
        googleAuth: { clientOptions: { endpoints: { oauth2TokenUrl: `${emu.googleAuth.origin}/token` } } },
      },
      { GOOGLE_APPLICATION_CREDENTIALS: creds },
    );
    assert.ok(
      result.first.every((f) => f.status === 'failed' && f.code === 'auth'),
      JSON.stringify(result.first),
    );
    assert.match(result.first[0]!.message!, /refused/);
    assert.doesNotMatch(JSON.stringify(result.first), /1\/\/revoked|GOCSPX/);
    assert.equal(emu.stats.sendRequests, 0);
  });

  it('external_account (workload identity federation): a file-sourced subject token exchanged at STS', async () => {
    const subject = file('subject-token', emu.googleAuth.subjectToken);
    const creds = file('external.json', emu.googleAuth.externalAccount(subject));
    const result = await runChild(
      {},
      { GOOGLE_APPLICATION_CREDENTIALS: creds, GOOGLE_CLOUD_PROJECT: 'adc-project' },
    );
    allSent(result);
    assert.equal(emu.googleAuth.stats.stsTokens, 1);
    assert.equal(emu.googleAuth.stats.impersonatedTokens, 0);
  });

  it('external_account with service-account impersonation (STS, then generateAccessToken)', async () => {
    const subject = file('subject-token-2', emu.googleAuth.subjectToken);
    const creds = file('external-imp.json', emu.googleAuth.externalAccount(subject, true));
    const result = await runChild({ projectId: 'adc-project' }, { GOOGLE_APPLICATION_CREDENTIALS: creds });
    allSent(result);
    assert.equal(emu.googleAuth.stats.stsTokens, 1);
    assert.equal(emu.googleAuth.stats.impersonatedTokens, 1);
  });

  it('a revoked token: FCM answers 401, the library is made to fetch a new one, once', async () => {
    const result = await runChild(
      { projectId: 'adc-project' },
      {},
      { twice: true, between: () => emu.revokeAccessTokens() },
    );
    allSent(result);
    allSent(result, result.second!);
    assert.equal(emu.googleAuth.stats.metadataTokens, 2);
    assert.equal(result.tokenRequests, 2);
  });

  it('no credentials anywhere: every device fails `config` naming the fixes, without a request', async () => {
    const result = await runChild({ projectId: 'adc-project' }, { METADATA_SERVER_DETECTION: 'none' });
    assert.ok(
      result.first.every((f) => f.status === 'failed' && f.code === 'config'),
      JSON.stringify(result.first),
    );
    assert.match(
      result.first[0]!.message!,
      /no Application Default Credentials found.*GOOGLE_APPLICATION_CREDENTIALS/,
    );
    assert.equal(emu.stats.sendRequests, 0);
  });
});

describe('the ADC seam, with a fake google-auth-library', () => {
  const ctx = (): SendContext => ({ signal: new AbortController().signal, attempt: 1 });

  /** A fake library whose client hands out `tok-1`, `tok-2`… and caches like the real one. */
  function fakeLibrary(opts: { projectId?: string; fail?: unknown } = {}) {
    const seen: Array<Record<string, unknown>> = [];
    let issued = 0;
    const client: GoogleAuthClientLike & { fetches: number } = {
      fetches: 0,
      credentials: {},
      async getAccessToken() {
        if (opts.fail !== undefined) throw opts.fail;
        const expiry = this.credentials?.expiry_date;
        if (typeof expiry !== 'number' || expiry <= Date.now()) {
          issued++;
          this.fetches++;
          this.credentials = { expiry_date: Date.now() + 3_600_000 };
        }
        return { token: `tok-${issued}` };
      },
    };
    const mod: GoogleAuthModule = {
      GoogleAuth: class {
        constructor(options: Record<string, unknown>) {
          seen.push(options);
        }
        getClient = async () => client;
        getProjectId = async () => {
          if (opts.projectId === undefined)
            throw new Error('Unable to detect a Project Id in the current environment.');
          return opts.projectId;
        };
      },
    };
    return { mod, client, seen };
  }

  it('after a 401 the cached token is dropped in the library too, so the retry gets a new one', async () => {
    const { mod, client } = fakeLibrary();
    const credential = applicationDefaultCredential({
      projectId: 'p',
      googleAuth: undefined,
      provider: 'fcm',
      load: async () => mod,
    });
    assert.equal(await credential.tokens.get(), 'tok-1');
    credential.tokens.invalidate('tok-1');
    assert.equal(await credential.tokens.get(), 'tok-2');
    assert.equal(client.fetches, 2);
  });

  it('passes scopes and projectId to GoogleAuth over the caller’s options', async () => {
    const { mod, seen } = fakeLibrary();
    const credential = applicationDefaultCredential({
      projectId: 'p',
      googleAuth: { keyFilename: '/x.json', scopes: ['nope'] },
      provider: 'fcm',
      load: async () => mod,
    });
    await credential.tokens.get();
    assert.deepEqual(seen[0], {
      keyFilename: '/x.json',
      scopes: ['https://www.googleapis.com/auth/firebase.messaging'],
      projectId: 'p',
    });
  });

  it('without google-auth-library: one config error naming the npm install', async () => {
    const credential = applicationDefaultCredential({
      projectId: 'p',
      googleAuth: undefined,
      provider: 'fcm',
      load: () =>
        Promise.reject(Object.assign(new Error('Cannot find package'), { code: 'ERR_MODULE_NOT_FOUND' })),
    });
    await assert.rejects(
      credential.tokens.get(),
      (err: unknown) =>
        err instanceof PushError &&
        err.code === 'config' &&
        /needs the google-auth-library package: npm install google-auth-library@10/.test(err.message),
    );
  });

  it('project id: from the credentials when not given, else a config error naming projectId', async () => {
    const found = applicationDefaultCredential({
      projectId: undefined,
      googleAuth: undefined,
      provider: 'fcm',
      load: async () => fakeLibrary({ projectId: 'from-adc' }).mod,
    });
    assert.equal(await found.projectId(), 'from-adc');
    const none = applicationDefaultCredential({
      projectId: undefined,
      googleAuth: undefined,
      provider: 'fcm',
      load: async () => fakeLibrary().mod,
    });
    await assert.rejects(
      none.projectId(),
      (err: unknown) =>
        err instanceof PushError && err.code === 'config' && /Pass `projectId`/.test(err.message),
    );
    // An empty project id is none: the same config error, not a bare Error.
    const empty = applicationDefaultCredential({
      projectId: undefined,
      googleAuth: undefined,
      provider: 'fcm',
      load: async () => fakeLibrary({ projectId: '' }).mod,
    });
    await assert.rejects(
      empty.projectId(),
      (err: unknown) =>
        err instanceof PushError &&
        err.code === 'config' &&
        /empty project id/.test(err.message) &&
        /Pass `projectId`/.test(err.message),
    );
  });

  it("the library's failures become our token endpoint's outcome classes", () => {
    const unavailable = googleAuthError(Object.assign(new Error('x'), { status: 503 }), 'fcm', 'getting');
    assert.ok(unavailable.code === 'unavailable' && unavailable.retryable);
    const limited = googleAuthError(
      Object.assign(new Error('x'), { response: { status: 429 } }),
      'fcm',
      'getting',
    );
    assert.ok(limited.code === 'unavailable' && limited.retryable);
    const refused = googleAuthError(
      Object.assign(new Error('invalid_grant'), { status: 400 }),
      'fcm',
      'getting',
    );
    assert.ok(refused.code === 'auth' && !refused.retryable && refused.stopsLane);
    const network = googleAuthError(
      Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      'fcm',
      'getting',
    );
    assert.ok(network.code === 'unavailable' && network.retryable);
    const none = googleAuthError(
      new Error('Could not load the default credentials. Browse to …'),
      'fcm',
      'getting',
    );
    assert.equal(none.code, 'config');
    const secret = googleAuthError(
      new Error('bad token ya29.a0AfH6SMBxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'),
      'fcm',
      'x',
    );
    assert.doesNotMatch(secret.message, /ya29\.a0AfH6SMBx/);
  });

  it('user credentials with a quota project: every FCM request names it (x-goog-user-project)', async () => {
    const { mod, client } = fakeLibrary();
    client.quotaProjectId = 'billing-project';
    const credential = applicationDefaultCredential({
      projectId: 'p',
      googleAuth: undefined,
      provider: 'fcm',
      load: async () => mod,
    });
    const seen: Array<Record<string, string>> = [];
    const pools = {
      get: () => ({
        request: async (req: TransportRequest): Promise<TransportResponse> => {
          seen.push(req.headers as Record<string, string>);
          return {
            status: 200,
            headers: {},
            body: Buffer.from('{"name":"projects/p/messages/1"}'),
            retireConnection() {},
          };
        },
      }),
      close: async () => {},
      destroy: () => {},
    };
    const resolved = resolveFcmOptions({ credential: 'application-default', projectId: 'p' }, {});
    const provider = createFcmProvider(resolved, pools, credential);
    const outcome = await provider.prepare({ title: 't' }, {}).send!(
      { platform: 'android', token: 'q' },
      ctx(),
    );
    assert.equal(outcome.ok, true);
    assert.equal(seen[0]!['x-goog-user-project'], 'billing-project');
    assert.equal(seen[0]!['authorization'], 'Bearer tok-1');
  });

  it('a send through the provider waits for the project id, then uses the send path it names', async () => {
    const resolved = resolveFcmOptions(
      { credential: 'application-default', endpoint: emu.origin, ca: emu.ca },
      {},
    );
    assert.equal(resolved.sendPath, undefined);
    // The emulator's own OAuth endpoint serves the token: a service-account credential stands in
    // for the library, the project id comes late.
    const pools = new PoolRegistry({ tls: { ca: emu.ca } });
    const { mod } = fakeLibrary({ projectId: 'adc-project' });
    const credential = applicationDefaultCredential({
      projectId: undefined,
      googleAuth: undefined,
      provider: 'fcm',
      load: async () => mod,
    });
    emu.setScenarios({});
    const provider = createFcmProvider(resolved, pools, credential);
    try {
      const outcome = await provider.prepare({ title: 't' }, {}).send!(
        { platform: 'android', token: 'late' },
        ctx(),
      );
      // The fake token is not one the emulator issued: 401 UNAUTHENTICATED on the right path
      // (a wrong project's path would be 403 PERMISSION_DENIED).
      assert.equal(outcome.ok, false);
      assert.equal(!outcome.ok && outcome.error.code, 'auth');
      assert.equal(!outcome.ok && outcome.httpStatus, 401);
    } finally {
      await provider.destroy();
    }
  });
});

describe("credential: 'application-default' options", () => {
  it('a service-account key named by GOOGLE_APPLICATION_CREDENTIALS keeps pushline’s own signing', () => {
    const path = file('sa.json', emu.serviceAccount);
    const r = resolveFcmOptions(
      { credential: 'application-default' },
      { GOOGLE_APPLICATION_CREDENTIALS: path },
    );
    assert.equal(r.applicationDefault, undefined);
    assert.equal(r.account!.account.client_email, emu.serviceAccount.client_email);
    assert.equal(r.projectId, 'adc-project');
    // firebase-admin's order: the environment before the credentials' own project.
    const env = resolveFcmOptions(
      { credential: 'application-default' },
      { GOOGLE_APPLICATION_CREDENTIALS: path, GOOGLE_CLOUD_PROJECT: 'from-env' },
    );
    assert.equal(env.projectId, 'from-env');
  });

  it('other credential types go to google-auth-library; project id from the option, then the environment', () => {
    const path = file('user-opt.json', emu.googleAuth.authorizedUser());
    const r = resolveFcmOptions(
      { credential: 'application-default' },
      { GOOGLE_APPLICATION_CREDENTIALS: path, GCLOUD_PROJECT: 'from-env' },
    );
    assert.equal(r.account, undefined);
    assert.deepEqual(r.applicationDefault, { googleAuth: undefined });
    assert.equal(r.projectId, 'from-env');
    assert.equal(r.sendPath, '/v1/projects/from-env/messages:send');
    const explicit = resolveFcmOptions(
      { credential: 'application-default', projectId: 'mine' },
      { GOOGLE_CLOUD_PROJECT: 'from-env' },
    );
    assert.equal(explicit.projectId, 'mine');
  });

  it('refuses mixing, unknown credentials and googleAuth without ADC', () => {
    const bad = (options: FcmOptions, pattern: RegExp) =>
      assert.throws(
        () => resolveFcmOptions(options, {}),
        (err: unknown) => err instanceof PushError && err.code === 'config' && pattern.test(err.message),
      );
    bad({ credential: 'application-default', serviceAccount: emu.serviceAccount }, /either/);
    bad({ credential: 'gcloud' as never }, /'service-account' or 'application-default'/);
    bad({ serviceAccount: emu.serviceAccount, googleAuth: {} }, /application-default' only/);
  });

  it('an authorized_user key passed as a service account says how to use it', () => {
    assert.throws(
      () =>
        resolveFcmOptions(
          {},
          { GOOGLE_APPLICATION_CREDENTIALS: file('u.json', emu.googleAuth.authorizedUser()) },
        ),
      /credential: 'application-default'/,
    );
  });
});

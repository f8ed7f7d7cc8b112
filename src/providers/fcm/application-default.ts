/**
 * Google Application Default Credentials (ADC) for FCM, through `google-auth-library`: what
 * firebase-admin's `applicationDefault()` finds — the file named by
 * `GOOGLE_APPLICATION_CREDENTIALS` of any type (`service_account`, `authorized_user`,
 * `external_account` for workload identity federation, `impersonated_service_account`), the
 * gcloud file (`gcloud auth application-default login`), else the GCE metadata server (Cloud
 * Run, GKE, GCE, Cloud Functions). The library is an optional peer dependency, loaded on first
 * use only; a plain service-account key never needs it (access-token.ts signs its own JWT).
 *
 * Tokens go through the same {@link AccessTokenCache} as the key-file path (single-flight,
 * refresh ahead of expiry, one refresh after a 401), with the library as the token source;
 * its failures become the same PushErrors as our own token endpoint's (access-token.ts).
 * The library's errors are never kept as a `cause`: they carry its request (a refresh token
 * in a form body, a bearer header), which must not reach a log.
 */
import { PushError } from '../../errors.js';
import { redactText } from '../../redact.js';
import { AccessTokenCache, type AccessTokenGrant } from '../../transport/access-token-cache.js';
import { FCM_SCOPE, type FcmCredential } from './access-token.js';
import { fcmError } from './errors.js';

/** The package and the major version that runs on Node 20 (v11 needs Node 22). */
export const GOOGLE_AUTH_PACKAGE = 'google-auth-library@10';

/** What pushline uses of google-auth-library's `GoogleAuth` (kept structural: no type dependency). */
export interface GoogleAuthLike {
  getClient(): Promise<GoogleAuthClientLike>;
  getProjectId(): Promise<string>;
}
export interface GoogleAuthClientLike {
  getAccessToken(): Promise<{ token?: string | null }>;
  credentials?: { expiry_date?: number | null };
  quotaProjectId?: string;
  /** External-account clients keep their token here (cleared to force a refresh). */
  cachedAccessToken?: unknown;
}
/** The module's shape, as `import('google-auth-library')` gives it. */
export interface GoogleAuthModule {
  GoogleAuth: new (options: Record<string, unknown>) => GoogleAuthLike;
}

export type GoogleAuthLoader = () => Promise<GoogleAuthModule>;

/** Lifetime assumed when the library does not say when a token expires. */
const UNKNOWN_LIFETIME_MS = 5 * 60_000;

const defaultLoader: GoogleAuthLoader = async () => {
  const mod = (await import('google-auth-library')) as unknown as GoogleAuthModule & {
    default?: GoogleAuthModule;
  };
  return mod.GoogleAuth ? mod : mod.default!;
};

export interface ApplicationDefaultOptions {
  /** The project id when known without asking the credentials (option or environment). */
  projectId: string | undefined;
  /** Passed to `new GoogleAuth(...)`, under pushline's `scopes` and `projectId`. */
  googleAuth: Record<string, unknown> | undefined;
  provider: string;
  /** For tests: how the library is loaded. */
  load?: GoogleAuthLoader;
  now?: () => number;
}

/** A token cache that can make the library drop a token FCM refused (it caches too). */
class GoogleAuthTokens extends AccessTokenCache {
  refused: string | undefined;
  override invalidate(token: string): void {
    super.invalidate(token);
    this.refused = token;
  }
}

/** The FCM credential backed by Application Default Credentials. */
export function applicationDefaultCredential(options: ApplicationDefaultOptions): FcmCredential {
  const { provider } = options;
  const load = options.load ?? defaultLoader;
  const now = options.now ?? Date.now;
  let ready: Promise<{ auth: GoogleAuthLike; client: GoogleAuthClientLike }> | undefined;
  let extraHeaders: Record<string, string> = {};

  /** The library and its client, found once; a transient failure is tried again next time. */
  function connect(): Promise<{ auth: GoogleAuthLike; client: GoogleAuthClientLike }> {
    ready ??= (async () => {
      let mod: GoogleAuthModule;
      try {
        mod = await load();
      } catch (err) {
        throw fcmError(
          'config',
          `credential 'application-default' needs the google-auth-library package: npm install ${GOOGLE_AUTH_PACKAGE}`,
          { provider, cause: err },
        );
      }
      const auth = new mod.GoogleAuth({
        ...(options.googleAuth ?? {}),
        scopes: [FCM_SCOPE],
        ...(options.projectId !== undefined ? { projectId: options.projectId } : {}),
      });
      const client = await auth.getClient();
      // User credentials (gcloud's file) need a quota project for FCM; the library reads it
      // from the file or GOOGLE_CLOUD_QUOTA_PROJECT, and its own requests send this header.
      if (typeof client.quotaProjectId === 'string' && client.quotaProjectId !== '') {
        extraHeaders = { 'x-goog-user-project': client.quotaProjectId };
      }
      return { auth, client };
    })().catch((err: unknown) => {
      const error = googleAuthError(err, provider, 'finding the Application Default Credentials');
      if (error.retryable) ready = undefined;
      throw error;
    });
    return ready;
  }

  const tokens: GoogleAuthTokens = new GoogleAuthTokens(async (): Promise<AccessTokenGrant> => {
    const { client } = await connect();
    try {
      let token = (await client.getAccessToken()).token;
      if (token && token === tokens.refused) {
        forgetToken(client);
        token = (await client.getAccessToken()).token;
      }
      tokens.refused = undefined;
      if (typeof token !== 'string' || token === '') {
        throw fcmError('auth', 'the Application Default Credentials gave no access token', { provider });
      }
      const expiry = client.credentials?.expiry_date;
      const lifetimeMs = typeof expiry === 'number' && expiry > 1 ? expiry - now() : UNKNOWN_LIFETIME_MS;
      return { value: token, lifetimeMs: Math.max(lifetimeMs, 1000) };
    } catch (err) {
      throw googleAuthError(err, provider, 'getting an access token');
    }
  }, now);

  let projectId: Promise<string> | undefined;
  return {
    tokens,
    kind: 'application-default',
    extraHeaders: () => extraHeaders,
    projectId(): Promise<string> {
      if (options.projectId !== undefined) return Promise.resolve(options.projectId);
      projectId ??= connect()
        .then(({ auth }) => auth.getProjectId())
        .then((id) => {
          // Checked before the catch below, so an empty id gets the same config error as none.
          if (typeof id !== 'string' || id === '') throw new Error('they name an empty project id');
          return id;
        })
        .catch((err: unknown) => {
          if (err instanceof PushError) throw err;
          throw fcmError(
            'config',
            `no project id: the Application Default Credentials do not name one (${shortText(err)}). ` +
              'Pass `projectId`, or set GOOGLE_CLOUD_PROJECT.',
            { provider },
          );
        })
        .catch((err: unknown) => {
          projectId = undefined;
          throw err;
        });
      return projectId;
    },
  };
}

/**
 * Makes the library fetch a new token on its next `getAccessToken()`: OAuth2-based clients
 * (user, compute, JWT, impersonated) refresh when `expiry_date` has passed; external-account
 * clients when `cachedAccessToken` is gone. Both fields are the library's own (v10).
 */
function forgetToken(client: GoogleAuthClientLike): void {
  if (client.credentials) client.credentials.expiry_date = 1;
  if ('cachedAccessToken' in client) client.cachedAccessToken = null;
}

/** An error message, shortened and without anything that looks like a credential. */
function shortText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return redactText(text.replace(/\s+/g, ' ').trim()).slice(0, 300);
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * A google-auth-library failure as the PushError our own token path would give: a token
 * endpoint's 5xx / 429 or a network failure is `unavailable` and retryable; any other answer
 * refuses the credentials (`auth`, stops the lane); no credentials found, a file that does not
 * parse, or an unsupported type is `config` (stops the lane, names the fix).
 */
export function googleAuthError(err: unknown, provider: string, doing: string): PushError {
  if (err instanceof PushError) return err;
  const e = err as {
    status?: unknown;
    code?: unknown;
    response?: { status?: unknown };
    cause?: { code?: unknown };
  };
  const status =
    typeof e?.status === 'number'
      ? e.status
      : typeof e?.response?.status === 'number'
        ? e.response.status
        : undefined;
  const said = shortText(err);
  if (status !== undefined) {
    if (status >= 500 || status === 429) {
      return fcmError('unavailable', `${doing}: Google's token service answered ${status} (${said})`, {
        provider,
        httpStatus: status,
        retryable: true,
      });
    }
    return fcmError(
      'auth',
      `${doing}: the Application Default Credentials were refused (${status}: ${said}). ` +
        'Check the credentials file or the workload identity / service account setup.',
      { provider, httpStatus: status, reason: `HTTP ${status}` },
    );
  }
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  if (NETWORK_CODES.has(code) || /fetch failed|socket hang up|network/i.test(said)) {
    return fcmError('unavailable', `${doing}: ${said}`, { provider, retryable: true });
  }
  if (/Could not load the default credentials|Unable to find credentials/i.test(said)) {
    return fcmError(
      'config',
      'no Application Default Credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a credentials file, ' +
        'run `gcloud auth application-default login`, or run on Google Cloud (metadata server); ' +
        'or pass `serviceAccount` (a key file) instead.',
      { provider },
    );
  }
  return fcmError('config', `${doing}: ${said}`, { provider });
}

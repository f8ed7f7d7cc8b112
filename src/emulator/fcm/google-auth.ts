/**
 * What Application Default Credentials talk to besides the FCM endpoint, on loopback, for
 * google-auth-library to be tested without Google: a plain-HTTP/1.1 server (the real metadata
 * server is plain HTTP too) that is
 *  - the GCE metadata server (`GCE_METADATA_HOST=<host:port>`): `/computeMetadata/v1/…` with
 *    the `Metadata-Flavor: Google` request header required and answered, the default service
 *    account's token and the project id;
 *  - Google's OAuth token endpoint for user credentials (`authorized_user`: the refresh_token
 *    grant), at `/token`;
 *  - the STS token exchange of workload identity federation (`external_account`: RFC 8693) at
 *    `/v1/token`, and IAM Credentials' `generateAccessToken` for service-account impersonation.
 * Every access token it issues is one the FCM emulator accepts (the same issued-token set).
 * Google's shapes: docs/FCM-ADC.md.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccessTokens } from './oauth.js';

/** The user credentials (`authorized_user`) the token endpoint accepts. */
export interface EmulatorUserCredentials {
  client_id: string;
  client_secret: string;
  refresh_token: string;
}

export interface GoogleAuthEmulatorStats {
  /** Metadata requests (all paths), and those refused for a missing `Metadata-Flavor`. */
  metadataRequests: number;
  metadataRefusals: number;
  /** Tokens issued by the metadata server, the refresh grant, STS and impersonation. */
  metadataTokens: number;
  refreshTokens: number;
  stsTokens: number;
  impersonatedTokens: number;
  /** Token requests refused (wrong secret, wrong subject token, bad form). */
  rejections: number;
}

export interface GoogleAuthEmulator {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** `127.0.0.1:<port>`: the value for `GCE_METADATA_HOST`. */
  readonly metadataHost: string;
  /** The service account the metadata server and impersonation speak for. */
  readonly serviceAccountEmail: string;
  /** An `authorized_user` credentials file's JSON (as gcloud writes it), accepted by `/token`. */
  authorizedUser(): EmulatorUserCredentials & { type: 'authorized_user'; quota_project_id?: string };
  /**
   * An `external_account` credentials file's JSON: a file-sourced subject token (the token
   * the file at `subjectTokenFile` must hold is {@link subjectToken}), exchanged at this
   * server's STS, optionally impersonating {@link serviceAccountEmail}.
   */
  externalAccount(subjectTokenFile: string, impersonate?: boolean): Record<string, unknown>;
  /** The subject token STS accepts (write it to the file named in `externalAccount`). */
  readonly subjectToken: string;
  readonly stats: GoogleAuthEmulatorStats;
  /** Zeroes the stats (the FCM emulator's `reset()` does). */
  resetStats(): void;
  close(): Promise<void>;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const AUDIENCE =
  '//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/pool/providers/emulator';

function emptyStats(): GoogleAuthEmulatorStats {
  return {
    metadataRequests: 0,
    metadataRefusals: 0,
    metadataTokens: 0,
    refreshTokens: 0,
    stsTokens: 0,
    impersonatedTokens: 0,
    rejections: 0,
  };
}

function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts the server on 127.0.0.1; tokens come from (and are checked by) `tokens`. */
export async function startGoogleAuthEmulator(options: {
  projectId: string;
  tokens: AccessTokens;
  lifetimeSeconds: () => number;
}): Promise<GoogleAuthEmulator> {
  const { projectId, tokens } = options;
  const serviceAccountEmail = `pushline-emulator@${projectId}.iam.gserviceaccount.com`;
  const user: EmulatorUserCredentials = {
    client_id: `${randomBytes(6).toString('hex')}.apps.googleusercontent.com`,
    client_secret: `GOCSPX-emu-${randomBytes(12).toString('base64url')}`,
    refresh_token: `1//emu-${randomBytes(24).toString('base64url')}`,
  };
  const subjectToken = `emu-subject-${randomBytes(16).toString('base64url')}`;
  let stats = emptyStats();

  function json(
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: http.OutgoingHttpHeaders = {},
  ) {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }
  function oauthError(res: http.ServerResponse, status: number, error: string, description: string) {
    stats.rejections++;
    json(res, status, { error, error_description: description });
  }

  function metadata(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    path: string,
    query: URLSearchParams,
  ) {
    stats.metadataRequests++;
    const flavor = { 'metadata-flavor': 'Google' };
    // The real server refuses a request without the header (so a browser or a proxy cannot
    // reach it by accident), and marks every answer with it.
    if (req.headers['metadata-flavor'] !== 'Google') {
      stats.metadataRefusals++;
      res.writeHead(403, { 'content-type': 'text/html', ...flavor });
      res.end('Missing Metadata-Flavor:Google header.');
      return;
    }
    const text = (body: string) => {
      res.writeHead(200, { 'content-type': 'application/text', ...flavor });
      res.end(body);
    };
    const rest = path.slice('/computeMetadata/v1/'.length).replace(/\/$/, '');
    if (rest === 'instance' || rest === '') return text('');
    if (rest === 'project/project-id') return text(projectId);
    if (rest === 'universe/universe-domain') return text('googleapis.com');
    if (rest === 'instance/service-accounts/default/email') return text(serviceAccountEmail);
    if (rest === 'instance/service-accounts/default/token') {
      const scopes = query.get('scopes');
      if (scopes !== null && !scopes.split(',').some((s) => /firebase\.messaging|cloud-platform/.test(s))) {
        res.writeHead(400, { 'content-type': 'text/plain', ...flavor });
        res.end('the requested scopes do not allow FCM');
        return;
      }
      stats.metadataTokens++;
      const lifetime = options.lifetimeSeconds();
      return json(
        res,
        200,
        { access_token: tokens.issue(lifetime), expires_in: lifetime, token_type: 'Bearer' },
        flavor,
      );
    }
    res.writeHead(404, { 'content-type': 'text/html', ...flavor });
    res.end('Not Found');
  }

  async function refreshGrant(res: http.ServerResponse, form: URLSearchParams) {
    if (form.get('grant_type') !== 'refresh_token') {
      return oauthError(
        res,
        400,
        'unsupported_grant_type',
        `Invalid grant_type: ${form.get('grant_type') ?? ''}`,
      );
    }
    if (form.get('client_id') !== user.client_id || form.get('client_secret') !== user.client_secret) {
      return oauthError(res, 401, 'invalid_client', 'The OAuth client was not found.');
    }
    if (form.get('refresh_token') !== user.refresh_token) {
      return oauthError(res, 400, 'invalid_grant', 'Token has been expired or revoked.');
    }
    stats.refreshTokens++;
    const lifetime = options.lifetimeSeconds();
    json(res, 200, {
      access_token: tokens.issue(lifetime),
      expires_in: lifetime,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
      token_type: 'Bearer',
    });
  }

  function sts(res: http.ServerResponse, form: URLSearchParams) {
    if (form.get('grant_type') !== TOKEN_EXCHANGE) {
      return oauthError(res, 400, 'unsupported_grant_type', 'Unsupported grant type.');
    }
    if (form.get('audience') !== AUDIENCE) {
      return oauthError(
        res,
        400,
        'invalid_target',
        'The target service indicated by the "audience" parameters is invalid.',
      );
    }
    if (form.get('subject_token_type') !== JWT_TOKEN_TYPE || form.get('subject_token') !== subjectToken) {
      return oauthError(res, 400, 'invalid_grant', 'The subject token is invalid.');
    }
    if (form.get('requested_token_type') !== ACCESS_TOKEN_TYPE) {
      return oauthError(res, 400, 'invalid_request', 'Invalid requested_token_type.');
    }
    stats.stsTokens++;
    const lifetime = options.lifetimeSeconds();
    json(res, 200, {
      access_token: tokens.issue(lifetime),
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: lifetime,
    });
  }

  function impersonate(req: http.IncomingMessage, res: http.ServerResponse, email: string, body: string) {
    const bearer = /^Bearer (.+)$/i.exec(String(req.headers['authorization'] ?? ''))?.[1];
    if (!bearer || tokens.check(bearer) !== 'valid') {
      stats.rejections++;
      return json(res, 401, {
        error: {
          code: 401,
          message: 'Request had invalid authentication credentials.',
          status: 'UNAUTHENTICATED',
        },
      });
    }
    if (email !== serviceAccountEmail) {
      stats.rejections++;
      return json(res, 403, {
        error: {
          code: 403,
          message: `Permission 'iam.serviceAccounts.getAccessToken' denied on ${email}`,
          status: 'PERMISSION_DENIED',
        },
      });
    }
    let scope: unknown;
    try {
      scope = (JSON.parse(body) as { scope?: unknown }).scope;
    } catch {
      scope = undefined;
    }
    if (!Array.isArray(scope) || scope.length === 0) {
      stats.rejections++;
      return json(res, 400, {
        error: { code: 400, message: 'scope is required', status: 'INVALID_ARGUMENT' },
      });
    }
    stats.impersonatedTokens++;
    const lifetime = options.lifetimeSeconds();
    json(res, 200, {
      accessToken: tokens.issue(lifetime),
      expireTime: new Date(Date.now() + lifetime * 1000).toISOString(),
    });
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    if (req.method === 'GET' && path.startsWith('/computeMetadata/v1/')) {
      req.resume();
      return metadata(req, res, path, url.searchParams);
    }
    if (req.method !== 'POST') {
      req.resume();
      return json(res, 404, { error: 'not_found' });
    }
    readBody(req)
      .then((body) => {
        if (path === '/token') return refreshGrant(res, new URLSearchParams(body));
        if (path === '/v1/token') return sts(res, new URLSearchParams(body));
        const target = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(path)?.[1];
        if (target !== undefined) return impersonate(req, res, decodeURIComponent(target), body);
        json(res, 404, { error: 'not_found' });
      })
      .catch(() => {
        if (!res.headersSent) json(res, 500, { error: 'internal' });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    metadataHost: `127.0.0.1:${port}`,
    serviceAccountEmail,
    subjectToken,
    authorizedUser: () => ({ type: 'authorized_user', ...user }),
    externalAccount(subjectTokenFile: string, impersonateAccount = false) {
      return {
        type: 'external_account',
        audience: AUDIENCE,
        subject_token_type: JWT_TOKEN_TYPE,
        token_url: `${origin}/v1/token`,
        credential_source: { file: subjectTokenFile },
        // Where the library would look the project number up when no project id is given:
        // here rather than cloudresourcemanager.googleapis.com.
        cloud_resource_manager_url: `${origin}/v1/projects/`,
        ...(impersonateAccount
          ? {
              service_account_impersonation_url: `${origin}/v1/projects/-/serviceAccounts/${serviceAccountEmail}:generateAccessToken`,
            }
          : {}),
      };
    },
    get stats() {
      return { ...stats };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    resetStats() {
      stats = emptyStats();
    },
  };
}

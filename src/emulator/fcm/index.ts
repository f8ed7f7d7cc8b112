/**
 * A loopback FCM HTTP v1 server with its own OAuth token endpoint, strict like the real
 * one, with scenarios and an inspection API.
 *
 * ```ts
 * const emu = await startFcmEmulator({ unregisteredTokens: ['dead'] });
 * const client = new PushClient({ providers: [fcm(emu.providerOptions)] });
 * …
 * await emu.close();
 * ```
 */
import { randomBytes } from 'node:crypto';
import type http2 from 'node:http2';
import type { ServiceAccount } from '../../providers/fcm/service-account.js';
import { listenH2 } from '../h2-listener.js';
import { readBody } from '../read-body.js';
import { type GoogleAuthEmulator, startGoogleAuthEmulator } from './google-auth.js';
import { type AcceptedFcmMessage, type FcmEmulatorStats, Inspection } from './inspection.js';
import { AccessTokens, answerTokenRequest } from './oauth.js';
import { type RpcError, rpcError, unauthenticated } from './responses.js';
import { type FcmScenarios, ScenarioState, scenarioAnswer } from './scenarios.js';
import { generateServiceAccount } from './service-account.js';
import {
  checkTopicHeaders,
  Subscriptions,
  topicAuthError,
  topicTokenAnswer,
  validateTopicRequest,
} from './topics.js';
import { validateSendRequest } from './validate.js';

export type { EmulatorUserCredentials, GoogleAuthEmulator, GoogleAuthEmulatorStats } from './google-auth.js';
export type { AcceptedFcmMessage, FcmEmulatorStats } from './inspection.js';
export type { FcmScenarios } from './scenarios.js';

export interface FcmEmulatorOptions extends FcmScenarios {
  /** Project id of the generated service account. Default `pushline-emulator`. */
  projectId?: string;
  /** How many accepted messages to keep for inspection (oldest dropped first). Default 1000. */
  maxRecorded?: number;
}

export interface FcmEmulator {
  /** `https://127.0.0.1:<port>`. */
  readonly origin: string;
  /** PEM of the CA that signed the server certificate. */
  readonly ca: string;
  readonly projectId: string;
  /** The generated service account (its `token_uri` is this emulator's `/token`). */
  readonly serviceAccount: ServiceAccount;
  /**
   * The metadata server, user-credential token endpoint and STS for Application Default
   * Credentials, on plain-HTTP loopback (`GCE_METADATA_HOST=emu.googleAuth.metadataHost`).
   */
  readonly googleAuth: GoogleAuthEmulator;
  /** Ready options for `fcm()`: `fcm(emu.providerOptions)`. */
  readonly providerOptions: {
    serviceAccount: ServiceAccount;
    endpoint: string;
    topicEndpoint: string;
    ca: string;
  };
  /** Accepted messages, oldest first (bounded by `maxRecorded`; empty in sink mode). */
  readonly messages: readonly AcceptedFcmMessage[];
  readonly stats: FcmEmulatorStats;
  /** Send requests seen for `token` since start or `reset()` (not counted in sink mode). */
  attempts(token: string): number;
  /** Tokens subscribed to `topic` (`news` or `/topics/news`), in subscription order (none in sink mode). */
  subscribers(topic: string): string[];
  /** Topics (names without `/topics/`) `token` is subscribed to. */
  topicsOf(token: string): string[];
  /** Changes the named scenarios; the others stay as they are. */
  setScenarios(scenarios: FcmScenarios): void;
  /** Invalidates every access token issued so far: the next sends get 401 UNAUTHENTICATED. */
  revokeAccessTokens(): void;
  /** Clears recorded messages, stats and per-token attempts (scenarios stay). */
  reset(): void;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1 << 20;
const JSON_TYPE = 'application/json; charset=UTF-8';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts the FCM emulator on 127.0.0.1 (a port chosen by the OS). */
export async function startFcmEmulator(options: FcmEmulatorOptions = {}): Promise<FcmEmulator> {
  const { projectId = 'pushline-emulator', maxRecorded = 1000, ...scenarios } = options;
  const state = new ScenarioState();
  state.apply(scenarios);
  const listener = await listenH2('pushline FCM emulator');
  const { server, tls, origin } = listener;
  const sa = generateServiceAccount(projectId, `${origin}/token`);
  const accessTokens = new AccessTokens();
  const googleAuth = await startGoogleAuthEmulator({
    projectId,
    tokens: accessTokens,
    lifetimeSeconds: () => state.tokenLifetimeSeconds,
  });
  const sendPath = `/v1/projects/${projectId}/messages:send`;

  const inspection = new Inspection(maxRecorded);
  const subscriptions = new Subscriptions();

  function answer(
    res: http2.Http2ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    if (res.closed || res.destroyed) return;
    res.writeHead(status, { 'content-type': JSON_TYPE, ...headers });
    res.end(JSON.stringify(body));
  }

  function answerSend(
    res: http2.Http2ServerResponse,
    status: number,
    body: unknown,
    headers?: Record<string, string>,
    code?: string,
    validateOnly = false,
  ) {
    inspection.answered(status, code, validateOnly);
    answer(res, status, body, headers);
  }

  function answerError(res: http2.Http2ServerResponse, error: RpcError, retryAfterSeconds?: number) {
    const headers: Record<string, string> =
      retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {};
    answerSend(res, error.httpStatus, error.body, headers, error.errorCode ?? error.body.error.status);
  }

  async function handleToken(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) {
    inspection.stats.tokenRequests++;
    const body = await readBody(req, MAX_BODY_BYTES);
    const type = String(req.headers['content-type'] ?? '');
    if (!body || !type.startsWith('application/x-www-form-urlencoded')) {
      inspection.stats.tokenRejections++;
      answer(res, 400, {
        error: 'invalid_request',
        error_description: 'Expected a form body (application/x-www-form-urlencoded).',
      });
      return;
    }
    const result = await answerTokenRequest(
      new URLSearchParams(body.toString('utf8')),
      sa,
      accessTokens,
      state.tokenLifetimeSeconds,
    );
    if (result.ok) {
      inspection.stats.tokensIssued++;
      answer(res, 200, result.body, { 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate' });
    } else {
      inspection.stats.tokenRejections++;
      answer(res, result.status, result.body);
    }
  }

  async function handleSend(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) {
    inspection.stats.sendRequests++;
    const body = await readBody(req, MAX_BODY_BYTES);
    const auth = String(req.headers['authorization'] ?? '');
    const bearer = /^Bearer (.+)$/i.exec(auth)?.[1];
    if (!bearer) return answerError(res, unauthenticated(true));
    if (accessTokens.check(bearer) !== 'valid') return answerError(res, unauthenticated(false));
    if (!body) {
      return answerError(
        res,
        rpcError(413, 'INVALID_ARGUMENT', 'Request payload too large.', 'INVALID_ARGUMENT'),
      );
    }
    const latency = state.latency();
    if (latency > 0) await sleep(latency);
    if (state.sink) {
      return answerSend(res, 200, {
        name: `projects/${projectId}/messages/${randomBytes(8).toString('hex')}`,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return answerError(
        res,
        rpcError(
          400,
          'INVALID_ARGUMENT',
          `Invalid JSON payload received. ${(err as Error).message}`,
          undefined,
          [{ field: '', description: `Invalid JSON payload received. ${(err as Error).message}` }],
        ),
      );
    }
    const verdict = validateSendRequest(parsed);
    if (!verdict.ok) return answerError(res, verdict.error);
    const token = verdict.target.kind === 'token' ? verdict.target.value : undefined;
    let attempt = 0;
    if (token !== undefined) attempt = inspection.attempt(token);
    const scenario = scenarioAnswer(state, token, attempt);
    if (scenario) return answerError(res, scenario.error, scenario.retryAfterSeconds);
    const id = verdict.validateOnly ? 'fake_message_id' : `0:${Date.now()}%${randomBytes(8).toString('hex')}`;
    const name = `projects/${projectId}/messages/${id}`;
    inspection.record({
      name,
      target: verdict.target,
      message: verdict.message,
      validateOnly: verdict.validateOnly,
      receivedAt: new Date(),
      ...(verdict.target.kind === 'topic'
        ? { recipients: verdict.validateOnly ? [] : subscriptions.subscribers(verdict.target.value) }
        : {}),
    });
    answerSend(res, 200, { name }, undefined, undefined, verdict.validateOnly);
  }

  async function handleTopic(
    req: http2.Http2ServerRequest,
    res: http2.Http2ServerResponse,
    operation: 'add' | 'remove',
  ) {
    inspection.stats.topicRequests++;
    const body = await readBody(req, MAX_BODY_BYTES);
    const bearer = /^Bearer (.+)$/i.exec(String(req.headers['authorization'] ?? ''))?.[1];
    const refused =
      topicAuthError(bearer, bearer !== undefined && accessTokens.check(bearer) === 'valid') ??
      checkTopicHeaders(req.headers);
    if (refused) return answer(res, refused.httpStatus, refused.body);
    if (!body) return answer(res, 413, rpcError(413, 'INVALID_ARGUMENT', 'Request payload too large.').body);
    const latency = state.latency();
    if (latency > 0) await sleep(latency);
    if (state.unavailableBurst > 0) {
      state.unavailableBurst--;
      const error = rpcError(503, 'UNAVAILABLE', 'The service is currently unavailable.');
      return answer(res, error.httpStatus, error.body);
    }
    const verdict = validateTopicRequest(body);
    if (!verdict.ok) return answer(res, verdict.error.httpStatus, verdict.error.body);
    if (state.sink) {
      inspection.stats.topicTokensDone += verdict.tokens.length;
      return answer(res, 200, { results: verdict.tokens.map(() => ({})) });
    }
    const results = verdict.tokens.map((token) => {
      const attempt = inspection.topicAttempt(token);
      const word = topicTokenAnswer(state, token, attempt);
      if (word !== undefined) {
        inspection.stats.topicErrors[word] = (inspection.stats.topicErrors[word] ?? 0) + 1;
        return { error: word };
      }
      inspection.stats.topicTokensDone++;
      if (operation === 'add') subscriptions.add(verdict.topic, token);
      else subscriptions.remove(verdict.topic, token);
      return {};
    });
    answer(res, 200, { results });
  }

  server.on('request', (req, res) => {
    const path = req.url.split('?')[0];
    let work: Promise<void>;
    if (req.method === 'POST' && path === '/token') work = handleToken(req, res);
    else if (req.method === 'POST' && path === sendPath) work = handleSend(req, res);
    else if (req.method === 'POST' && path === '/iid/v1:batchAdd') work = handleTopic(req, res, 'add');
    else if (req.method === 'POST' && path === '/iid/v1:batchRemove') work = handleTopic(req, res, 'remove');
    else if (req.method === 'POST' && /^\/v1\/projects\/[^/]+\/messages:send$/.test(path ?? '')) {
      // Another project: the service account has no permission there.
      inspection.stats.sendRequests++;
      const other = decodeURIComponent(path!.split('/')[3] ?? '');
      answerError(
        res,
        rpcError(
          403,
          'PERMISSION_DENIED',
          `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${other}' (or it may not exist).`,
        ),
      );
      req.resume();
      return;
    } else {
      answer(
        res,
        404,
        rpcError(404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`).body,
      );
      req.resume();
      return;
    }
    work.catch((err: unknown) => {
      answer(res, 500, rpcError(500, 'INTERNAL', `emulator bug: ${(err as Error).message}`).body);
    });
  });

  const providerOptions = {
    serviceAccount: sa.account,
    endpoint: origin,
    topicEndpoint: origin,
    ca: tls.ca.certPem,
  };

  return {
    origin,
    ca: tls.ca.certPem,
    projectId,
    serviceAccount: sa.account,
    googleAuth,
    providerOptions,
    get messages() {
      return inspection.recorded.slice();
    },
    get stats() {
      return structuredClone(inspection.stats);
    },
    attempts: (token) => inspection.attempts.get(token) ?? 0,
    subscribers: (topic) => subscriptions.subscribers(topic),
    topicsOf: (token) => subscriptions.topicsOf(token),
    setScenarios: (s) => state.apply(s),
    revokeAccessTokens: () => accessTokens.revokeAll(),
    reset() {
      inspection.reset();
      subscriptions.clear();
      googleAuth.resetStats();
    },
    close: () => Promise.all([listener.close(), googleAuth.close()]).then(() => undefined),
  };
}

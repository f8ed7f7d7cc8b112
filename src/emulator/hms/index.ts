/**
 * A loopback Huawei Push Kit server (v1 send API) with its own OAuth endpoint, strict like the
 * real one, with scenarios and an inspection API.
 *
 * ```ts
 * const emu = await startHmsEmulator({ deadRate: 0.02 });
 * const client = new PushClient({ providers: [hms(emu.providerOptions)] });
 * …
 * emu.deliveries(token); // how often that token was delivered
 * await emu.close();
 * ```
 */
import type http2 from 'node:http2';
import { listenH2 } from '../h2-listener.js';
import { readBody } from '../read-body.js';
import { type AcceptedHmsMessage, type HmsEmulatorStats, Inspection } from './inspection.js';
import { AccessTokens, answerTokenRequest, makeClientSecret } from './oauth.js';
import { type HmsScenarios, ScenarioState } from './scenarios.js';
import { validateSendRequest } from './validate.js';

export type { AcceptedHmsMessage, HmsEmulatorStats } from './inspection.js';
export { type HmsScenarios, isDeadToken } from './scenarios.js';

export interface HmsEmulatorOptions extends HmsScenarios {
  /** The app id (and OAuth client id). Default `'104000000'`. */
  appId?: string;
  /** The client secret; default a random one holding `+/&=%` (which only a form-encoding client gets through). */
  clientSecret?: string;
  /** How many accepted sends to keep for inspection (oldest dropped first). Default 100. */
  maxRecorded?: number;
}

/** Ready options for `hms()`. */
export interface HmsEmulatorProviderOptions {
  appId: string;
  clientSecret: string;
  endpoint: string;
  authEndpoint: string;
  ca: string;
}

export interface HmsEmulator {
  /** `https://127.0.0.1:<port>`. */
  readonly origin: string;
  /** PEM of the CA that signed the server certificate. */
  readonly ca: string;
  readonly appId: string;
  readonly clientSecret: string;
  /** Ready options for `hms()`: `hms(emu.providerOptions)`. */
  readonly providerOptions: HmsEmulatorProviderOptions;
  /** Accepted sends, oldest first (bounded by `maxRecorded`; empty in sink mode). */
  readonly messages: readonly AcceptedHmsMessage[];
  readonly stats: HmsEmulatorStats;
  /** Requests that carried `token` (past auth and validation) since start or `reset()`. */
  attempts(token: string): number;
  /** Times `token` was delivered since start or `reset()`. */
  deliveries(token: string): number;
  /** Every token delivered at least once, with how often. */
  deliveredTokens(): Map<string, number>;
  /** Changes the named scenarios; the others stay as they are. */
  setScenarios(scenarios: HmsScenarios): void;
  /** Every access token issued so far expires now: the next sends get 80200003. */
  expireAccessTokens(): void;
  /** Forgets every access token issued so far: the next sends get 80200001. */
  revokeAccessTokens(): void;
  /** Clears recorded sends, stats and per-token counts (scenarios stay). */
  reset(): void;
  close(): Promise<void>;
}

/** Largest request body read: 1,000 tokens of up to ~1 KB plus the 4 KB message. */
const MAX_BODY_BYTES = 2 << 20;
const JSON_TYPE = 'application/json;charset=UTF-8';
export const TOKEN_PATH = '/oauth2/v3/token';

/** The string tokens of a (not yet validated) send body that would deliver; none for validate-only. */
function tokensOf(parsed: unknown): string[] {
  if (typeof parsed !== 'object' || parsed === null) return [];
  const { message, validate_only: validateOnly } = parsed as { message?: unknown; validate_only?: unknown };
  if (validateOnly === true || typeof message !== 'object' || message === null) return [];
  const tokens = (message as { token?: unknown }).token;
  return Array.isArray(tokens) ? tokens.filter((token): token is string => typeof token === 'string') : [];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts the HMS emulator on 127.0.0.1 (a port chosen by the OS). */
export async function startHmsEmulator(options: HmsEmulatorOptions = {}): Promise<HmsEmulator> {
  const { appId = '104000000', clientSecret = makeClientSecret(), maxRecorded = 100, ...scenarios } = options;
  const state = new ScenarioState();
  state.apply(scenarios);
  const listener = await listenH2('pushline HMS emulator');
  const { server, tls, origin } = listener;
  const accessTokens = new AccessTokens();
  const inspection = new Inspection(maxRecorded);
  let requestNumber = 0;
  let requestSeq = 0;

  const requestId = () => `${Date.now()}${String(++requestSeq).padStart(6, '0')}`;

  function write(
    res: http2.Http2ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    if (res.closed || res.destroyed) return;
    res.writeHead(status, { 'content-type': JSON_TYPE, ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  /** A send answer in Huawei's shape, counted. */
  function answer(res: http2.Http2ServerResponse, status: number, code: string, msg: string) {
    inspection.answered(status, code);
    write(res, status, { code, msg, requestId: requestId() });
  }

  async function handleToken(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) {
    inspection.stats.tokenRequests++;
    const body = await readBody(req, MAX_BODY_BYTES);
    const type = String(req.headers['content-type'] ?? '');
    if (!body || !type.startsWith('application/x-www-form-urlencoded')) {
      inspection.stats.tokenRejections++;
      write(res, 400, { error: 1102, sub_error: 20003, error_description: 'expected a form body' });
      return;
    }
    const result = answerTokenRequest(
      new URLSearchParams(body.toString('utf8')),
      { id: appId, secret: clientSecret },
      accessTokens,
      state.tokenLifetimeSeconds,
    );
    if (result.ok) {
      inspection.stats.tokensIssued++;
      // Huawei escapes slashes in the token JSON.
      write(res, 200, JSON.stringify(result.body).replace(/\//g, '\\/'), { 'cache-control': 'no-store' });
    } else {
      inspection.stats.tokenRejections++;
      write(res, result.status, result.body);
    }
  }

  async function handleSend(
    req: http2.Http2ServerRequest,
    res: http2.Http2ServerResponse,
    pathAppId: string,
  ) {
    inspection.stats.sendRequests++;
    const body = await readBody(req, MAX_BODY_BYTES);
    // Read before any answer is chosen, so that a re-send to tokens already delivered is counted
    // even when it is refused or throttled (a client retrying a partial success whole would
    // otherwise hide behind a 503). Not in sink mode, which reads nothing.
    let parsed: unknown;
    let parseError: Error | undefined;
    if (body && !state.sink) {
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (err) {
        parseError = err as Error;
      }
      const tokens = tokensOf(parsed);
      if (tokens.length > 0) inspection.requested(tokens);
    }
    const bearer = /^Bearer (.+)$/i.exec(String(req.headers['authorization'] ?? ''))?.[1];
    const check = bearer === undefined ? 'unknown' : accessTokens.check(bearer);
    if (check === 'expired') return answer(res, 401, '80200003', 'Oauth Token expired');
    // A missing or unknown token, or one issued for another app than the URL names.
    if (check !== 'valid' || pathAppId !== appId)
      return answer(res, 401, '80200001', 'Oauth authentication error');
    if (!body) {
      return answer(res, 400, '80300008', 'the message body exceeds the size limit');
    }
    const latency = state.latency();
    if (latency > 0) await sleep(latency);
    const n = ++requestNumber;
    if (state.throttled(n)) {
      inspection.answered(503, '503');
      if (!res.closed && !res.destroyed) {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('Service Unavailable: flow control');
      }
      return;
    }
    if (state.internalError()) return answer(res, 500, '81000001', 'System internal error');
    if (state.sink) return answer(res, 200, '80000000', 'Success');

    if (parseError) return answer(res, 400, '80100003', `Illegal payload, ${parseError.message}`);
    const verdict = validateSendRequest(parsed, body.length);
    if (!verdict.ok) return answer(res, 400, verdict.code, verdict.msg);
    const { target, message, validateOnly } = verdict;
    const tokens = target.kind === 'token' ? target.tokens : [];
    inspection.carried(tokens);
    const dead = state.misconfigured ? tokens : tokens.filter((token) => state.isDead(token));
    const deadSet = new Set(dead);
    const good = tokens.filter((token) => !deadSet.has(token));
    const id = requestId();
    if (target.kind === 'token' && good.length === 0) {
      inspection.stats.tokensRejected += tokens.length;
      const msg =
        state.partialFormat === 'v3'
          ? JSON.stringify({ illegalTokens: { tokenFormatError: tokens }, failure: tokens.length })
          : 'All the tokens are invalid';
      inspection.answered(400, '80300007');
      return write(res, 400, { code: '80300007', msg, requestId: id });
    }
    if (!validateOnly) inspection.delivered(good);
    inspection.record({
      requestId: id,
      target,
      message,
      validateOnly,
      delivered: validateOnly ? 0 : target.kind === 'token' ? good.length : 1,
      receivedAt: new Date(),
    });
    if (dead.length === 0) {
      inspection.answered(200, '80000000');
      return write(res, 200, { code: '80000000', msg: 'Success', requestId: id });
    }
    inspection.stats.tokensRejected += dead.length;
    const msg =
      state.partialFormat === 'v3'
        ? { illegalTokens: { tokenFormatError: dead }, success: good.length, failure: dead.length }
        : { success: good.length, failure: dead.length, illegal_tokens: dead };
    inspection.answered(200, '80100000');
    write(res, 200, { code: '80100000', msg: JSON.stringify(msg), requestId: id });
  }

  server.on('request', (req, res) => {
    const path = req.url.split('?')[0] ?? '';
    let work: Promise<void>;
    const send = /^\/v1\/([^/]+)\/messages:send$/.exec(path);
    if (req.method === 'POST' && path === TOKEN_PATH) work = handleToken(req, res);
    else if (req.method === 'POST' && send) work = handleSend(req, res, decodeURIComponent(send[1]!));
    else {
      write(res, 404, { code: '404', msg: `no service at ${path}` });
      req.resume();
      return;
    }
    work.catch((err: unknown) => {
      write(res, 500, { code: '81000001', msg: `emulator bug: ${(err as Error).message}` });
    });
  });

  const providerOptions: HmsEmulatorProviderOptions = {
    appId,
    clientSecret,
    endpoint: origin,
    authEndpoint: `${origin}${TOKEN_PATH}`,
    ca: tls.ca.certPem,
  };

  return {
    origin,
    ca: tls.ca.certPem,
    appId,
    clientSecret,
    providerOptions,
    get messages() {
      return inspection.recorded.slice();
    },
    get stats() {
      return structuredClone(inspection.stats);
    },
    attempts: (token) => inspection.attempts.get(token) ?? 0,
    deliveries: (token) => inspection.deliveries.get(token) ?? 0,
    deliveredTokens: () => new Map(inspection.deliveries),
    setScenarios: (s) => state.apply(s),
    expireAccessTokens: () => accessTokens.expireAll(),
    revokeAccessTokens: () => accessTokens.revokeAll(),
    reset() {
      inspection.reset();
      requestNumber = 0;
    },
    close: () => listener.close(),
  };
}

/**
 * A strict stand-in for Apple's APNs provider API on 127.0.0.1: HTTP/2 over TLS, token (JWT)
 * or certificate authentication, Apple's request rules with Apple's reasons, scenarios for
 * Apple's failure modes, and an inspection API. Used by pushline's tests, demo and benchmarks,
 * and by users' own integration tests.
 *
 * @example
 * const emulator = await startApnsEmulator({ scenarios: { unregistered: ['ab'.repeat(32)] } });
 * const client = new PushClient({ providers: [apns(emulator.providerOptions)] });
 * // ... send ...
 * emulator.notifications; // what was accepted
 * emulator.stats().byReason; // { Unregistered: 1 }
 * await emulator.close();
 */
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { PushError } from '../../errors.js';
import { createServerTls, issueCertificate, toPkcs12 } from '../tls.js';
import {
  type AcceptedBroadcast,
  BroadcastService,
  DEFAULT_MAX_CHANNELS,
  type EmulatedChannel,
} from './broadcast.js';
import { type ApnsKeyOptions, type ApnsSigningKey, createSigningKey } from './credentials.js';
import { StreamHandler } from './handler.js';
import { type AcceptedNotification, type ApnsEmulatorStats, Recorder } from './inspection.js';
import { ProviderTokenVerifier } from './provider-token.js';
import { type ApnsScenarios, CompiledScenarios, type TokenClass } from './scenarios.js';

export {
  type AcceptedBroadcast,
  BROADCAST_REASONS,
  type BroadcastReason,
  type EmulatedChannel,
} from './broadcast.js';
export type { ApnsKeyOptions, ApnsSigningKey, KeyEnvironment } from './credentials.js';
export type { AcceptedNotification, ApnsEmulatorStats } from './inspection.js';
export { APNS_REASONS, type ApnsReason } from './responses.js';
export { type ApnsScenarios, type TokenClass, type TokenSelector, tokenFraction } from './scenarios.js';
export { PUSH_TYPES, type PushType, TOPIC_SUFFIX } from './validate.js';

export interface ApnsEmulatorOptions {
  /** `'token'` (default): JWT provider tokens. `'certificate'`: TLS client certificates from the emulator's CA. */
  auth?: 'token' | 'certificate';
  /** The app's bundle id, the default topic. Default `'com.example.app'`. */
  topic?: string;
  /** The default key's team id (10 chars); generated when absent. */
  teamId?: string;
  /** The default key's id (10 chars); generated when absent. */
  keyId?: string;
  /** The default key as a PKCS#8 PEM (`.p8` content); generated when absent. */
  key?: string;
  /** More trusted keys (other teams, topic-specific or environment-scoped keys). */
  keys?: ApnsKeyOptions[];
  /** Each team's apps (bundle ids). A team not listed has the one app `topic`. */
  teams?: Record<string, string[]>;
  /** Which APNs environment this emulates. Default `'sandbox'`. */
  environment?: 'sandbox' | 'production';
  /** SETTINGS_MAX_CONCURRENT_STREAMS once a connection is authenticated. Default 1000. */
  maxConcurrentStreams?: number;
  /** How many accepted notifications to keep (the most recent); `false` keeps none. Default 10 000. */
  record?: number | false;
  /** Also enforce what Apple documents for each push type's payload (see `PayloadRules.strict`). Default true. */
  strictPayload?: boolean;
  /** The emulator's clock in ms (JWT age, refresh rule, 410 timestamps). Default `Date.now`. */
  now?: () => number;
  /** Initial scenarios; change them later with `setScenarios`. */
  scenarios?: ApnsScenarios;
  /** Default 0: the OS picks a free port. */
  port?: number;
  /** Channels each bundle id may hold (broadcast push). Default 10 000, Apple's limit per app and environment. */
  maxChannels?: number;
  /** Port of the channel management listener (Apple's `api-manage-broadcast` host). Default 0. */
  managePort?: number;
}

/** Options for the pushline `apns()` provider that reach this emulator with token auth. */
export interface ApnsTokenProviderOptions {
  /** Base URL, e.g. `https://127.0.0.1:43121`. */
  endpoint: string;
  /** PEM of the CA to trust. */
  ca: string;
  teamId: string;
  keyId: string;
  /** PKCS#8 PEM, a `.p8` file's content. */
  key: string;
  topic: string;
}

/** Options for certificate auth: the client certificate and key as PEM (node:tls names). */
export interface ApnsCertificateProviderOptions {
  endpoint: string;
  ca: string;
  cert: string;
  key: string;
  topic: string;
}

/** A client certificate issued by the emulator's CA, as Apple issues push certificates (UID = bundle id). */
export interface ApnsClientCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
  /** PKCS#12 (`.p12`) of the certificate, its key and the CA, encrypted with `passphrase`. */
  pkcs12: Buffer;
  passphrase: string;
}

export interface ApnsEmulator {
  /** `https://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  /** PEM of the CA that signed the server certificate (and client certificates). */
  readonly ca: string;
  readonly auth: 'token' | 'certificate';
  readonly environment: 'sandbox' | 'production';
  readonly topic: string;
  readonly teamId: string;
  readonly keyId: string;
  /** The default key's PKCS#8 PEM. */
  readonly key: string;
  /** Every trusted key, the default first. */
  readonly keys: readonly ApnsSigningKey[];
  /** Ready options for pushline's `apns()` provider. */
  readonly providerOptions: ApnsTokenProviderOptions | ApnsCertificateProviderOptions;
  /** `https://127.0.0.1:<port>` of the channel management listener (broadcast push). */
  readonly manageOrigin: string;
  /** Ready options for pushline's `apnsBroadcast()`: `providerOptions` plus `manageEndpoint`. */
  readonly broadcastOptions: (ApnsTokenProviderOptions | ApnsCertificateProviderOptions) & {
    manageEndpoint: string;
  };
  /** The channels of `bundleId` (default: the emulator's topic), in creation order. */
  channels(bundleId?: string): EmulatedChannel[];
  /** Broadcasts accepted since start or the last `reset()`, oldest first. */
  readonly broadcasts: readonly AcceptedBroadcast[];
  /** Broadcast and channel-management rejections by reason since start or the last `reset()`. */
  broadcastRejections(): Record<string, number>;
  /** The most recent accepted notifications (up to `record`), oldest first. */
  readonly notifications: AcceptedNotification[];
  /** Issues a client certificate for `topic` (default: the emulator's topic). */
  issueClientCertificate(options?: {
    topic?: string;
    notBefore?: Date;
    notAfter?: Date;
  }): ApnsClientCertificate;
  /** Counters since start or the last `reset()`. */
  stats(): ApnsEmulatorStats;
  /** Requests seen for a device token (every request to its path, whatever the answer). */
  attempts(token: string): number;
  /** What the current scenarios will do with `token`. */
  classify(token: string): TokenClass;
  readonly scenarios: Readonly<ApnsScenarios>;
  /** Merges `changes` into the scenarios (a key set to `undefined` removes that scenario). */
  setScenarios(changes: ApnsScenarios): void;
  /**
   * Cuts every open connection at once, without GOAWAY, as a network failure would (in-flight
   * requests get no answer). Returns how many were cut.
   */
  dropConnections(): number;
  /** Clears recorded notifications, counters, attempts, provider-token history, channels and broadcasts; keeps scenarios and keys. */
  reset(): void;
  /** Closes every connection and the server. */
  close(): Promise<void>;
}

const DEFAULT_TOPIC = 'com.example.app';
const DEFAULT_RECORD = 10_000;
const CLOSE_GRACE_MS = 250;

/** Starts an APNs emulator on 127.0.0.1. */
export async function startApnsEmulator(options: ApnsEmulatorOptions = {}): Promise<ApnsEmulator> {
  const auth = options.auth ?? 'token';
  const topic = options.topic ?? DEFAULT_TOPIC;
  const environment = options.environment ?? 'sandbox';
  const now = options.now ?? Date.now;
  const maxConcurrentStreams = options.maxConcurrentStreams ?? 1000;

  const defaultKey = createSigningKey({ keyId: options.keyId, teamId: options.teamId, key: options.key });
  const keys = [defaultKey, ...(options.keys ?? []).map((k) => createSigningKey(k))];
  const keysById = new Map<string, ApnsSigningKey>();
  for (const key of keys) {
    if (keysById.has(key.keyId))
      throw new PushError(
        'config',
        `duplicate APNs key id ${key.keyId}: give each signing key its own keyId`,
      );
    keysById.set(key.keyId, key);
  }
  const teams = new Map<string, readonly string[]>(Object.entries(options.teams ?? {}));

  const tls = createServerTls('pushline APNs emulator');
  const recorder = new Recorder(options.record === false ? 0 : (options.record ?? DEFAULT_RECORD));
  const verifier = new ProviderTokenVerifier(keysById, environment, now);
  let scenarioSource: ApnsScenarios = { ...(options.scenarios ?? {}) };
  let scenarios = new CompiledScenarios(scenarioSource);

  const handler = new StreamHandler({
    config: {
      auth,
      environment,
      maxConcurrentStreams,
      strictPayload: options.strictPayload ?? true,
      defaultTopic: topic,
      teams,
      now,
    },
    verifier,
    recorder,
    scenarios: () => scenarios,
  });

  const broadcast = new BroadcastService(
    {
      auth,
      defaultTopic: topic,
      teams,
      maxChannels: options.maxChannels ?? DEFAULT_MAX_CHANNELS,
      maxConcurrentStreams,
      now,
    },
    verifier,
  );

  const serverOptions = {
    key: tls.server.keyPem,
    cert: tls.server.certPem,
    allowHTTP1: false,
    minVersion: 'TLSv1.2' as const,
    // Token auth: one stream until a valid token was posted (raised per connection later).
    settings: { maxConcurrentStreams: auth === 'token' ? 1 : maxConcurrentStreams },
    ...(auth === 'certificate' ? { requestCert: true, rejectUnauthorized: false, ca: [tls.ca.certPem] } : {}),
  };
  const server: Http2SecureServer = createSecureServer(serverOptions);
  server.on('session', (session) => {
    handler.onSession(session);
    broadcast.onSession(session);
  });
  // Node passes the raw header list as a fourth argument (its typings stop at three): the
  // only place where repeated headers are still visible.
  server.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, ...rest: unknown[]) => {
      const path = headers[':path'];
      if (BroadcastService.isBroadcastPath(Array.isArray(path) ? path[0] : path))
        broadcast.onBroadcastStream(stream, headers, rest[0] as string[] | undefined);
      else handler.onStream(stream, headers, rest[0] as string[] | undefined);
    },
  );
  // Apple serves channel management from other hosts (api-manage-broadcast…): its own listener.
  const manageServer: Http2SecureServer = createSecureServer(serverOptions);
  const manageSessions = new Set<Http2Session>();
  manageServer.on('session', (session) => {
    session.on('error', () => {});
    manageSessions.add(session);
    session.once('close', () => manageSessions.delete(session));
    broadcast.onSession(session);
  });
  manageServer.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, ...rest: unknown[]) =>
      broadcast.onManageStream(stream, headers, rest[0] as string[] | undefined),
  );

  await listen(server, options.port ?? 0);
  try {
    await listen(manageServer, options.managePort ?? 0);
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const origin = `https://127.0.0.1:${port}`;
  const manageOrigin = `https://127.0.0.1:${(manageServer.address() as AddressInfo).port}`;

  const issueClientCertificate: ApnsEmulator['issueClientCertificate'] = (certOptions = {}) => {
    const certTopic = certOptions.topic ?? topic;
    const issued = issueCertificate(tls.ca, {
      commonName: `Apple Push Services: ${certTopic}`,
      subject: { UID: certTopic },
      usage: 'client',
      notBefore: certOptions.notBefore,
      notAfter: certOptions.notAfter,
    });
    const passphrase = 'pushline';
    return { ...issued, pkcs12: toPkcs12(issued, passphrase, tls.ca), passphrase };
  };

  let providerOptions: ApnsTokenProviderOptions | ApnsCertificateProviderOptions;
  if (auth === 'token') {
    providerOptions = {
      endpoint: origin,
      ca: tls.ca.certPem,
      teamId: defaultKey.teamId,
      keyId: defaultKey.keyId,
      key: defaultKey.privateKeyPem,
      topic,
    };
  } else {
    const client = issueClientCertificate();
    providerOptions = {
      endpoint: origin,
      ca: tls.ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
      topic,
    };
  }

  let closing: Promise<void> | undefined;
  return {
    origin,
    manageOrigin,
    broadcastOptions: { ...providerOptions, manageEndpoint: manageOrigin },
    channels: (bundleId = topic) => [...(broadcast.channels.get(bundleId)?.values() ?? [])],
    get broadcasts() {
      return broadcast.broadcasts;
    },
    broadcastRejections: () => ({ ...broadcast.byReason }),
    port,
    ca: tls.ca.certPem,
    auth,
    environment,
    topic,
    teamId: defaultKey.teamId,
    keyId: defaultKey.keyId,
    key: defaultKey.privateKeyPem,
    keys,
    providerOptions,
    get notifications() {
      return recorder.notifications();
    },
    issueClientCertificate,
    stats: () => ({
      requests: recorder.requests,
      accepted: recorder.accepted,
      byStatus: { ...recorder.byStatus },
      byReason: { ...recorder.byReason },
      connections: recorder.connections,
      providerTokens: verifier.tokensSeen,
      providerTokenRefreshes: verifier.refreshes,
      goAways: recorder.goAways,
      refusedStreams: recorder.refusedStreams,
      rejectedClientCertificates: recorder.rejectedClientCertificates,
    }),
    attempts: (token) => recorder.attempts(token),
    classify: (token) => scenarios.classify(token),
    get scenarios() {
      return scenarioSource;
    },
    setScenarios(changes) {
      scenarioSource = { ...scenarioSource, ...changes };
      for (const name of Object.keys(scenarioSource) as (keyof ApnsScenarios)[]) {
        if (scenarioSource[name] === undefined) delete scenarioSource[name];
      }
      scenarios = new CompiledScenarios(scenarioSource);
    },
    dropConnections() {
      const open = [...handler.sessions];
      for (const session of open) session.destroy();
      return open.length;
    },
    reset() {
      recorder.reset();
      verifier.reset();
      broadcast.reset();
    },
    close() {
      if (closing !== undefined) return closing;
      closing = Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => manageServer.close(() => resolve())),
      ]).then(() => {});
      for (const session of [...handler.sessions, ...manageSessions]) session.close();
      // Sessions whose clients keep streams open are cut after a short grace.
      setTimeout(() => {
        for (const session of [...handler.sessions, ...manageSessions]) session.destroy();
      }, CLOSE_GRACE_MS).unref();
      return closing;
    },
  };
}

function listen(server: Http2SecureServer, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * A loopback Web Push service, several of them at once: browsers' subscriptions point at many
 * push services (Google's, Mozilla's, Apple's…), so `origins: 3` starts three listeners, each
 * its own origin and VAPID audience. It also plays the browsers: it issues subscriptions, keeps
 * their private keys and decrypts every message with `http_ece`.
 *
 * HTTP/2 over TLS with HTTP/1.1 allowed (ALPN), as real push services do; the certificate
 * comes from a throw-away CA (`ca`).
 */
import { createECDH } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { WebPushSubscription } from '../../device.js';
import { PushError } from '../../errors.js';
import { createServerTls } from '../tls.js';
import { PushService, type PushServiceState, type ReceivedMessage } from './push-service.js';
import type { SubscriptionScenario } from './scenarios.js';
import {
  type SubscribeOptions,
  type SubscriptionStats,
  SubscriptionStore,
  toWebPushSubscription,
} from './subscriptions.js';
import { VapidChecker } from './vapid-check.js';

export type { ReceivedMessage } from './push-service.js';
export type { SubscriptionScenario } from './scenarios.js';
export type { SubscribeOptions, SubscriptionStats } from './subscriptions.js';

export interface WebPushEmulatorOptions {
  /** How many push services (listeners, origins) to run. Default 1. */
  origins?: number;
  /** Decrypted messages kept for inspection (oldest dropped first). Default 1000; 0 keeps none. */
  maxMessages?: number;
  /** Benchmark mode: check VAPID and headers, answer 201, but neither decrypt nor keep messages. */
  sink?: boolean;
  /** Delay before every answer, ms. Default 0. */
  latencyMs?: number;
}

/** The options `webPush()` needs to reach this emulator. */
export interface WebPushEmulatorProviderOptions {
  vapid: { subject: string; publicKey: string; privateKey: string };
  allowHosts: string[];
  ca: string;
}

export interface WebPushEmulatorStats {
  requests: number;
  /** Responses by status code, over all push services. */
  byStatus: Record<number, number>;
}

export interface WebPushEmulator {
  /** The first push service's origin, `https://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Every push service's origin, by index. */
  readonly origins: readonly string[];
  /** PEM of the CA that signed the servers' certificate. */
  readonly ca: string;
  /** A VAPID identity made for this emulator (any valid key works; this one is ready to use). */
  readonly vapid: WebPushEmulatorProviderOptions['vapid'];
  readonly providerOptions: WebPushEmulatorProviderOptions;
  /** Benchmark mode (see {@link WebPushEmulatorOptions.sink}); settable at runtime. */
  sink: boolean;
  /** Delay before every answer, ms; settable at runtime. */
  latencyMs: number;
  /** A new browser subscription (round robin over the push services unless `origin` is given). */
  subscribe(options?: SubscribeOptions): WebPushSubscription;
  /** The user unsubscribed: later messages get 410 Gone. */
  unsubscribe(subscription: WebPushSubscription | string): void;
  /** Sets (or clears, with undefined) how the push service answers for one subscription. */
  setScenario(subscription: WebPushSubscription | string, scenario: SubscriptionScenario | undefined): void;
  /** Decrypted messages, oldest first (bounded by `maxMessages`). */
  messages(): ReceivedMessage[];
  /** Decrypted messages for one subscription. */
  messagesFor(subscription: WebPushSubscription | string): ReceivedMessage[];
  /** Counters for one subscription, or undefined when the emulator did not issue it. */
  subscriptionStats(subscription: WebPushSubscription | string): SubscriptionStats | undefined;
  readonly stats: WebPushEmulatorStats;
  /** Clears messages, counters, scenarios and unsubscriptions; issued subscriptions stay valid. */
  reset(): void;
  /** Stops the listeners and drops their connections. */
  close(): Promise<void>;
}

/** Starts the Web Push emulator on 127.0.0.1 (ports chosen by the OS). */
export async function startWebPushEmulator(options: WebPushEmulatorOptions = {}): Promise<WebPushEmulator> {
  const count = options.origins ?? 1;
  if (!Number.isInteger(count) || count < 1)
    throw new PushError(
      'config',
      `origins must be a whole number ≥ 1 (push services to start), got ${String(count)}`,
    );
  const tls = createServerTls('pushline Web Push emulator');
  const state: PushServiceState = {
    subscriptions: new SubscriptionStore(),
    sink: options.sink ?? false,
    latencyMs: options.latencyMs ?? 0,
    maxMessages: options.maxMessages ?? 1000,
    messages: [],
    byStatus: {},
    requests: 0,
    timers: new Set(),
    nextMessageId: 1,
  };

  const servers: Http2SecureServer[] = [];
  const sessions = new Set<ServerHttp2Session>();
  // Every TCP connection ('connection'), not only those that reported 'secureConnection': with
  // the latter, an emulator closed while its client was still open (all four closed at once)
  // waited 60 s in server.close(), the client's idle timeout; with the former, 2 ms.
  const sockets = new Set<Socket>();
  const origins: string[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const server = createSecureServer({
        key: tls.server.keyPem,
        cert: tls.server.certPem,
        allowHTTP1: true,
        settings: { maxConcurrentStreams: 1000 },
      });
      servers.push(server);
      server.on('session', (session: ServerHttp2Session) => {
        sessions.add(session);
        session.on('close', () => sessions.delete(session));
      });
      server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      origins.push(origin);
      const service = new PushService(origin, index, new VapidChecker(origin), state);
      server.on('request', service.handle);
    }
  } catch (error) {
    for (const server of servers) server.close();
    throw error;
  }

  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const privateKey = Buffer.alloc(32);
  const rawPrivate = ecdh.getPrivateKey();
  rawPrivate.copy(privateKey, 32 - rawPrivate.length);
  const vapid = {
    subject: 'mailto:push-emulator@example.com',
    publicKey: ecdh.getPublicKey().toString('base64url'),
    privateKey: privateKey.toString('base64url'),
  };
  const ca = tls.ca.certPem;

  const record = (target: WebPushSubscription | string) => {
    const found = state.subscriptions.find(target);
    if (found === undefined)
      throw new PushError(
        'bad-request',
        'this subscription was not issued by the emulator: pass one that subscribe() returned, or its endpoint',
      );
    return found;
  };

  let closing: Promise<void> | undefined;
  return {
    origin: origins[0]!,
    origins,
    ca,
    vapid,
    providerOptions: { vapid, allowHosts: ['127.0.0.1'], ca },
    get sink() {
      return state.sink;
    },
    set sink(value: boolean) {
      state.sink = value;
    },
    get latencyMs() {
      return state.latencyMs;
    },
    set latencyMs(value: number) {
      state.latencyMs = value;
    },
    subscribe: (subscribeOptions) =>
      toWebPushSubscription(state.subscriptions.create(origins, subscribeOptions)),
    unsubscribe: (target) => {
      record(target).unsubscribed = true;
    },
    setScenario: (target, scenario) => {
      const found = record(target);
      found.scenario = scenario;
      found.scenarioAttempts = 0;
    },
    messages: () => [...state.messages],
    messagesFor: (target) => {
      const endpoint = typeof target === 'string' ? target : target.endpoint;
      return state.messages.filter((message) => message.subscription.endpoint === endpoint);
    },
    subscriptionStats: (target) => {
      const found = state.subscriptions.find(target);
      return found === undefined ? undefined : { ...found.stats, byStatus: { ...found.stats.byStatus } };
    },
    get stats() {
      return { requests: state.requests, byStatus: { ...state.byStatus } };
    },
    reset: () => {
      state.messages.length = 0;
      state.requests = 0;
      for (const key of Object.keys(state.byStatus)) delete state.byStatus[Number(key)];
      for (const sub of state.subscriptions.all()) {
        sub.scenario = undefined;
        sub.scenarioAttempts = 0;
        sub.unsubscribed = false;
        sub.stats = { attempts: 0, accepted: 0, byStatus: {} };
      }
    },
    close: () => {
      closing ??= (async () => {
        for (const timer of state.timers) clearTimeout(timer);
        state.timers.clear();
        const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        await Promise.all(closed);
      })();
      return closing;
    },
  };
}

/**
 * One emulated push service's request handling (RFC 8030 §5 "Requesting Push Message
 * Delivery"), strict where real services are: VAPID checked, `TTL` required, `aes128gcm`
 * required and decrypted, 4096-byte bodies at most.
 *
 * Order of checks: route → subscription known on this origin (404) → VAPID (401/403) →
 * headers (400) → subscription state and scenario (410/404/429/413/5xx) → size (413) →
 * decryption (400) → 201 Created with `Location` and the `TTL` the service will use.
 */
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { WebPushSubscription } from '../../device.js';
import { decryptWebPush } from './ece.js';
import { scenarioRefusal } from './scenarios.js';
import { type EmulatedSubscription, type SubscriptionStore, toWebPushSubscription } from './subscriptions.js';
import type { VapidChecker } from './vapid-check.js';

/** RFC 8030 §7.2 / RFC 8291 §4: push services must accept 4096 bytes of body and may refuse more. */
export const MAX_BODY_BYTES = 4096;

/** A message the emulated browser decrypted. */
export interface ReceivedMessage {
  subscription: WebPushSubscription;
  /** Index of the push service (listener) that took it. */
  originIndex: number;
  /** The decrypted plaintext. */
  payload: Buffer;
  /** The plaintext as UTF-8 (the default pushline message is JSON). */
  text: string;
  ttl: number;
  urgency: string | undefined;
  topic: string | undefined;
  /** VAPID `sub` of the sender. */
  vapidSubject: string;
  /** `2.0` or `1.1`: which protocol the sender spoke. */
  httpVersion: string;
  /** The `Location` given back. */
  messageUrl: string;
}

/** Shared, runtime-settable state of the emulator the handler reads. */
export interface PushServiceState {
  readonly subscriptions: SubscriptionStore;
  sink: boolean;
  latencyMs: number;
  maxMessages: number;
  readonly messages: ReceivedMessage[];
  readonly byStatus: Record<number, number>;
  requests: number;
  /** Delays in flight, cleared on close. */
  readonly timers: Set<NodeJS.Timeout>;
  nextMessageId: number;
}

const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

function error(status: number, reason: string, message: string, headers?: Record<string, string>): Answer {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ code: status, reason, message }),
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export class PushService {
  readonly #origin: string;
  readonly #index: number;
  readonly #vapid: VapidChecker;
  readonly #state: PushServiceState;

  constructor(origin: string, index: number, vapid: VapidChecker, state: PushServiceState) {
    this.#origin = origin;
    this.#index = index;
    this.#vapid = vapid;
    this.#state = state;
  }

  /** `request` handler for `http2.createSecureServer({ allowHTTP1: true })`. */
  handle = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Keep at most one byte past the limit: enough to know it is too large.
      if (size <= MAX_BODY_BYTES + 1) chunks.push(chunk);
    });
    req.on('end', () => {
      this.#answer(req, Buffer.concat(chunks), size).then(
        (answer) => this.#respond(res, answer),
        (thrown: unknown) => this.#respond(res, error(500, 'InternalServerError', String(thrown))),
      );
    });
    req.on('error', () => res.destroy());
  };

  #respond(res: Http2ServerResponse, answer: Answer): void {
    const state = this.#state;
    state.byStatus[answer.status] = (state.byStatus[answer.status] ?? 0) + 1;
    const send = () => {
      if (res.destroyed || res.writableEnded) return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    };
    if (state.latencyMs > 0) {
      const timer = setTimeout(() => {
        state.timers.delete(timer);
        send();
      }, state.latencyMs);
      state.timers.add(timer);
    } else {
      send();
    }
  }

  async #answer(req: Http2ServerRequest, body: Buffer, size: number): Promise<Answer> {
    const state = this.#state;
    state.requests++;
    if (req.method !== 'POST') return error(405, 'MethodNotAllowed', 'push messages are POSTed');
    const id = /^\/push\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
    const subscription = id === undefined ? undefined : state.subscriptions.get(id);
    if (subscription === undefined || subscription.originIndex !== this.#index) {
      return error(404, 'NotFound', 'no such subscription on this push service');
    }
    const stats = subscription.stats;
    stats.attempts++;
    const answer = await this.#answerFor(subscription, req, body, size);
    stats.byStatus[answer.status] = (stats.byStatus[answer.status] ?? 0) + 1;
    if (answer.status === 201) stats.accepted++;
    return answer;
  }

  async #answerFor(
    subscription: EmulatedSubscription,
    req: Http2ServerRequest,
    body: Buffer,
    size: number,
  ): Promise<Answer> {
    const state = this.#state;
    const vapid = await this.#vapid.check(single(req.headers['authorization']));
    if (!vapid.ok) return error(vapid.status, vapid.reason, vapid.message);
    if (
      subscription.applicationServerKey !== undefined &&
      subscription.applicationServerKey !== vapid.publicKey
    ) {
      return error(
        403,
        'VapidPkHashMismatch',
        'VAPID public key mismatch: the key in the authorization header does not correspond to the credentials used to create the subscription',
      );
    }

    const ttlHeader = single(req.headers['ttl']);
    if (ttlHeader === undefined || !/^\d+$/.test(ttlHeader.trim())) {
      return error(400, 'InvalidTtl', 'the TTL header is required: a whole number of seconds');
    }
    const encoding = single(req.headers['content-encoding']);
    if (encoding?.toLowerCase() !== 'aes128gcm') {
      return error(
        400,
        'UnsupportedEncoding',
        `Content-Encoding must be aes128gcm, got ${encoding ?? 'none'}`,
      );
    }
    const urgency = single(req.headers['urgency']);
    if (urgency !== undefined && !URGENCIES.has(urgency)) {
      return error(400, 'InvalidUrgency', `Urgency must be very-low, low, normal or high, got ${urgency}`);
    }
    const topic = single(req.headers['topic']);
    if (topic !== undefined && !TOPIC.test(topic)) {
      return error(400, 'InvalidTopic', 'Topic must be at most 32 characters of the base64url alphabet');
    }

    if (subscription.unsubscribed) return error(410, 'Gone', 'the subscription has been removed');
    if (subscription.scenario !== undefined) {
      const refusal = scenarioRefusal(subscription.scenario, ++subscription.scenarioAttempts);
      if (refusal) return error(refusal.status, refusal.reason, refusal.message, refusal.headers);
    }

    if (size > MAX_BODY_BYTES) {
      return error(
        413,
        'PayloadTooLarge',
        `the body is ${size} bytes; at most ${MAX_BODY_BYTES} are accepted`,
      );
    }
    const messageUrl = `${this.#origin}/message/${(state.nextMessageId++).toString(36)}`;
    const ttl = Number(ttlHeader);
    if (!state.sink) {
      let payload: Buffer;
      try {
        payload = decryptWebPush(body, subscription.receiverKey, subscription.auth);
      } catch (thrown) {
        return error(
          400,
          'DecryptionFailed',
          `the body does not decrypt as aes128gcm: ${(thrown as Error).message}`,
        );
      }
      if (state.maxMessages > 0) {
        if (state.messages.length >= state.maxMessages) state.messages.shift();
        state.messages.push({
          subscription: toWebPushSubscription(subscription),
          originIndex: this.#index,
          payload,
          text: payload.toString('utf8'),
          ttl,
          urgency,
          topic,
          vapidSubject: vapid.subject,
          httpVersion: req.httpVersion,
          messageUrl,
        });
      }
    }
    return { status: 201, headers: { location: messageUrl, ttl: String(ttl) } };
  }
}

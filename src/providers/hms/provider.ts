/**
 * The Huawei Push Kit (HMS) provider: up to 1,000 tokens per HTTP/2 request on the engine's
 * batched path, a per-token outcome for every device of a batch, the message built once per
 * send. See responses.ts for what each answer does, access-token.ts for OAuth.
 */
import type { Device } from '../../device.js';
import { namedAfter, PushError } from '../../errors.js';
import type { Notification } from '../../notification.js';
import type { DryRun, Outcome, PreparedSend, Provider, SendContext } from '../../provider.js';
import { sendTokenBatch } from '../../token-batch.js';
import { PoolRegistry } from '../../transport/index.js';
import type { PoolSource, TransportRequest, TransportResponse } from '../../transport/types.js';
import { AccessTokenSource } from './access-token.js';
import { deviceToken } from './device-token.js';
import { hmsDryRun, validated } from './dry-run.js';
import { allInvalidBeforeAnySuccess, allInvalidUnconfirmed, MISCONFIGURATION_EVIDENCE } from './errors.js';
import { buildMessage, MAX_MESSAGE_BYTES, MessageTemplate } from './message.js';
import { type HmsOptions, type ResolvedHmsOptions, resolveHmsOptions } from './options.js';
import { answerBatch, type BatchAnswer } from './responses.js';

/**
 * Most bytes of a send answer kept: a partial success names up to 1,000 invalid tokens in
 * `msg` (~150 KB), which must be read whole to know which devices were delivered.
 */
const MAX_ANSWER_BYTES = 1 << 20;

/** The HMS provider, with its OAuth token requests exposed for inspection. */
export interface HmsProvider extends Provider {
  /** OAuth token requests made so far. */
  readonly tokenRequests: number;
  readonly batchSize: number;
  /** Remote: Huawei checks each batch sent with `validate_only`. */
  readonly dryRun: DryRun;
}

/**
 * Huawei Push Kit provider, for `huawei` devices (HMS Core phones without Google services).
 *
 * ```ts
 * const client = new PushClient({ providers: [hms({ appId: '123456789', clientSecret: process.env.HMS_SECRET! })] });
 * ```
 *
 * Throws a `config` PushError at once for missing or bad options. Each device gets its own
 * outcome although up to 1,000 share a request: on a partial success only the tokens Huawei
 * lists fail (`invalid-token`), the others are `sent` and never sent again.
 */
export function hms(options: HmsOptions): HmsProvider {
  const resolved = resolveHmsOptions(options);
  const pools = new PoolRegistry({
    ...(resolved.ca !== undefined ? { tls: { ca: resolved.ca } } : {}),
    ...(resolved.connections !== undefined ? { connections: resolved.connections } : {}),
    ...(resolved.timeoutMs !== undefined ? { timeoutMs: resolved.timeoutMs } : {}),
    ...(resolved.proxy !== undefined ? { proxy: resolved.proxy } : {}),
    maxResponseBodyBytes: MAX_ANSWER_BYTES,
    protocol: resolved.protocol,
  });
  return createHmsProvider(resolved, pools);
}

/** A failure decided before any request to the send endpoint: not counted as an attempt. */
function unrequested(outcome: Outcome): Outcome {
  return { ...outcome, requested: false };
}

/** Builds the provider from checked options and a pool source (exported for tests). */
export function createHmsProvider(resolved: ResolvedHmsOptions, pools: PoolSource): HmsProvider {
  const provider = resolved.name;
  const authOrigin = resolved.authUrl.origin;
  // Pools are looked up per request: the registry closes idle ones (the OAuth origin is idle
  // most of the hour) and makes a new one on the next get().
  const tokens = new AccessTokenSource({
    clientId: resolved.clientId,
    clientSecret: resolved.clientSecret,
    url: resolved.authUrl,
    pool: { request: (req) => pools.get(authOrigin).request(req) },
    provider,
  });

  // One headers object per access token (the wire client caches its HPACK encoding by identity).
  let headersToken = '';
  let headers: Record<string, string> = {};
  function headersFor(token: string): Record<string, string> {
    if (token !== headersToken) {
      headersToken = token;
      headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json;charset=UTF-8' };
    }
    return headers;
  }

  /** A thrown or rejected error as a PushError carrying this provider's name. */
  const named = (err: unknown): PushError => namedAfter(err, provider);

  type Answer = BatchAnswer | { kind: 'failed'; error: PushError; requested: boolean };

  /**
   * One POST and its answer for `targets`, re-sent once with a new access token when Huawei
   * says the token is rejected or expired (80200001, 80200003, 401): nothing of that request
   * was delivered, so the whole batch goes again.
   */
  async function post(body: string, targets: readonly string[], signal: AbortSignal): Promise<Answer> {
    let token: string;
    try {
      token = tokens.usable() ?? (await tokens.get());
    } catch (err) {
      return { kind: 'failed', error: named(err), requested: false };
    }
    for (let refreshed = false; ; refreshed = true) {
      const request: TransportRequest = {
        method: 'POST',
        path: resolved.sendPath,
        headers: headersFor(token),
        body,
        signal,
      };
      let res: TransportResponse;
      try {
        res = await pools.get(resolved.endpointOrigin).request(request);
      } catch (err) {
        return { kind: 'failed', error: named(err), requested: true };
      }
      const answer = answerBatch(res.status, res.body, targets, provider);
      if (answer.kind !== 'reauth' || refreshed) return answer;
      tokens.invalidate(token);
      try {
        token = await tokens.get();
      } catch (err) {
        return { kind: 'failed', error: named(err), requested: true };
      }
    }
  }

  function prepareWith(notification: Notification, validateOnly: boolean): PreparedSend {
    const { message, target } = buildMessage(notification, { badgeClass: resolved.badgeClass });
    const template = new MessageTemplate(message, target.kind, validateOnly);
    if (template.messageBytes > MAX_MESSAGE_BYTES) {
      throw new PushError(
        'payload-too-large',
        `hms: the message is ${template.messageBytes} bytes without its tokens; Huawei allows ${MAX_MESSAGE_BYTES}`,
        { provider, reason: '80300008' },
      );
    }
    /** Set once any device of this send was delivered (or validated): 80300007 is believed from then on. */
    let anyDelivered = false;
    /** Tokens answered 80300007 before any success: the evidence of a misconfiguration. */
    let unconfirmed = 0;

    /** The answer as one outcome per target. */
    function outcomesOf(answer: Answer, targets: readonly string[]): Outcome[] {
      if (answer.kind === 'failed') {
        const outcome: Outcome = answer.requested
          ? { ok: false, error: answer.error }
          : unrequested({ ok: false, error: answer.error });
        return targets.map(() => outcome);
      }
      if (answer.kind === 'reauth') {
        // Still refused with a fresh token: our credentials, for every device.
        return targets.map(() => ({ ok: false, error: answer.error, httpStatus: answer.error.httpStatus }));
      }
      if (answer.kind === 'all-invalid') {
        if (anyDelivered) return answer.outcomes;
        unconfirmed += targets.length;
        // Enough tokens refused with nothing delivered: a wrong app id, not dead tokens. Fewer
        // (a lone dead token at the start of a trickling send) prove nothing either way: those
        // devices are tried again later, when a success may have made 80300007 believable.
        const error =
          unconfirmed >= MISCONFIGURATION_EVIDENCE
            ? allInvalidBeforeAnySuccess(
                answer.code,
                answer.said,
                unconfirmed,
                resolved.appId,
                answer.httpStatus,
                provider,
              )
            : allInvalidUnconfirmed(answer.code, answer.said, targets.length, answer.httpStatus, provider);
        return targets.map(() => ({ ok: false, error, httpStatus: answer.httpStatus }));
      }
      if (answer.delivered) anyDelivered = true;
      return validateOnly ? answer.outcomes.map(validated) : answer.outcomes;
    }

    if (target.kind !== 'token') {
      // One message to the topic per attempt, shared by every device of this send.
      const value = target.kind === 'topic' ? target.topic : target.condition;
      const body = template.body(value);
      const byAttempt = new Map<number, Promise<Outcome>>();
      return {
        sendBatch(devices: readonly Device[], ctx: SendContext): Promise<Outcome[]> {
          let outcome = byAttempt.get(ctx.attempt);
          if (!outcome) {
            // Not tied to one batch's signal: other batches of this attempt share the answer.
            outcome = post(body, [value], new AbortController().signal).then(
              (answer) => outcomesOf(answer, [value])[0]!,
            );
            byAttempt.set(ctx.attempt, outcome);
          }
          return outcome.then((shared) => devices.map(() => shared));
        },
      };
    }

    return {
      sendBatch(devices: readonly Device[], ctx: SendContext): Promise<Outcome[]> {
        return sendTokenBatch(
          devices,
          (device) => deviceToken(device, provider),
          async (targets) => outcomesOf(await post(template.body(targets), targets, ctx.signal), targets),
        );
      },
    };
  }

  return {
    name: provider,
    platforms: ['huawei'],
    ...(resolved.app !== undefined ? { app: resolved.app } : {}),
    batchSize: resolved.batchSize,
    concurrency: resolved.concurrency,
    get tokenRequests() {
      return tokens.requests;
    },
    prepare(notification: Notification): PreparedSend {
      return prepareWith(notification, resolved.validateOnly);
    },
    dryRun: hmsDryRun((notification) => prepareWith(notification, true)),
    close(): Promise<void> {
      return pools.close();
    },
    async destroy(): Promise<void> {
      await pools.destroy();
    },
  };
}

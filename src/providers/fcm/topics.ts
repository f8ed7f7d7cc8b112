/**
 * FCM topic management: subscribing registration tokens to a topic and unsubscribing them,
 * through the Instance ID server API that firebase-admin's `subscribeToTopic` /
 * `unsubscribeFromTopic` call (docs/FCM-TOPICS.md):
 * `POST https://iid.googleapis.com/iid/v1:batchAdd` (or `:batchRemove`) with
 * `{"to": "/topics/<name>", "registration_tokens": [...]}`, at most 1,000 tokens a request,
 * authorised by the same OAuth access token as sends plus the header `access_token_auth: true`.
 */
import type { Device } from '../../device.js';
import type { Outcome, PreparedSend, SendContext, TopicOperation } from '../../provider.js';
import { sendTokenBatch } from '../../token-batch.js';
import { deviceToken } from './device-token.js';
import { fcmError } from './errors.js';

/** Most tokens the Instance ID API takes in one request (firebase-admin checks the same). */
export const MAX_TOPIC_TOKENS = 1000;

export const TOPIC_PATHS: Readonly<Record<TopicOperation, string>> = {
  subscribe: '/iid/v1:batchAdd',
  unsubscribe: '/iid/v1:batchRemove',
};

/** firebase-admin's `isTopic`: an optional `/topics/` prefix, then `[a-zA-Z0-9-_.~%]+`. */
const TOPIC_NAME = /^(\/topics\/)?[a-zA-Z0-9\-_.~%]+$/;

/**
 * The topic as the API wants it, `/topics/<name>` (a bare name gets the prefix, as
 * firebase-admin does), or a `bad-request` PushError for a name FCM would refuse.
 */
export function normalizeTopic(topic: unknown, provider: string): string {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic)) {
    throw fcmError(
      'bad-request',
      `the topic ${JSON.stringify(topic)} is not a topic name: it must match "/topics/[a-zA-Z0-9-_.~%]+" (the "/topics/" prefix is optional)`,
      { provider, reason: 'InvalidTopic' },
    );
  }
  return topic.startsWith('/topics/') ? topic : `/topics/${topic}`;
}

/** The request body: tokens are JSON strings already (JSON.stringify of each), joined once. */
export function topicBody(topic: string, tokens: readonly string[]): string {
  let list = '';
  for (let i = 0; i < tokens.length; i++) list += (i === 0 ? '' : ',') + JSON.stringify(tokens[i]);
  return `{"to":${JSON.stringify(topic)},"registration_tokens":[${list}]}`;
}

/** One batch request: body in, one outcome per token out (never rejects). */
export type TopicPost = (
  operation: TopicOperation,
  body: string,
  count: number,
  signal: AbortSignal,
) => Promise<Outcome[]>;

/**
 * The `sendBatch` of one operation on one topic: tokens checked locally first (an empty one
 * fails alone, without a request), the rest sent in one request, outcomes put back in order.
 */
export function prepareTopicOperation(
  operation: TopicOperation,
  topic: string,
  provider: string,
  post: TopicPost,
): PreparedSend {
  const to = normalizeTopic(topic, provider);
  return {
    sendBatch(devices: readonly Device[], ctx: SendContext): Promise<Outcome[]> {
      return sendTokenBatch(
        devices,
        (device) => deviceToken(device, provider),
        (tokens) => post(operation, topicBody(to, tokens), tokens.length, ctx.signal),
      );
    },
  };
}

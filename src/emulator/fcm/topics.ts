/**
 * The emulator's Instance ID topic API: `POST /iid/v1:batchAdd` and `/iid/v1:batchRemove`,
 * strict on what firebase-admin sends (docs/FCM-TOPICS.md): an OAuth access token with
 * `access_token_auth: true`, a JSON body `{"to": "/topics/<name>", "registration_tokens": [...]}`
 * with 1 to 1,000 non-empty tokens. It answers `{"results": [...]}` in token order — `{}` when
 * done, `{"error": "NOT_FOUND"}` for a dead token, `{"error": "INVALID_ARGUMENT"}` for a
 * malformed one, `{"error": "INTERNAL"}` for a flaky token's first attempts — and keeps the
 * subscriptions for inspection.
 */
import type { RpcError } from './responses.js';
import { rpcError, unauthenticated } from './responses.js';
import type { ScenarioState } from './scenarios.js';

export const MAX_TOPIC_TOKENS = 1000;
const TOPIC = /^\/topics\/[a-zA-Z0-9\-_.~%]+$/;

export type TopicVerdict = { ok: true; topic: string; tokens: string[] } | { ok: false; error: RpcError };

function invalid(message: string): TopicVerdict {
  return { ok: false, error: rpcError(400, 'INVALID_ARGUMENT', message) };
}

/** Checks the headers a topic request must carry (the bearer token is checked by the caller). */
export function checkTopicHeaders(
  headers: Record<string, string | string[] | undefined>,
): RpcError | undefined {
  if (String(headers['access_token_auth'] ?? '') !== 'true') {
    // Without it the Instance ID API reads Authorization as a legacy server key.
    return rpcError(
      401,
      'UNAUTHENTICATED',
      'Request is missing the access_token_auth: true header: the Authorization header was read as a legacy server key.',
    );
  }
  if (!String(headers['content-type'] ?? '').startsWith('application/json')) {
    return rpcError(400, 'INVALID_ARGUMENT', 'Expected a JSON body (content-type: application/json).');
  }
  return undefined;
}

/** Checks a topic request's body. */
export function validateTopicRequest(body: Buffer): TopicVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return invalid(`Invalid JSON payload received. ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return invalid('The body must be a JSON object.');
  }
  const { to, registration_tokens: tokens, ...rest } = parsed as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) return invalid(`Unknown name ${JSON.stringify(unknown[0])}: Cannot find field.`);
  if (typeof to !== 'string' || !TOPIC.test(to)) {
    return invalid(`"to" must be a topic "/topics/[a-zA-Z0-9-_.~%]+", got ${JSON.stringify(to)}.`);
  }
  if (!Array.isArray(tokens) || tokens.length === 0) {
    return invalid('"registration_tokens" must be a non-empty array.');
  }
  if (tokens.length > MAX_TOPIC_TOKENS) {
    return invalid(`Too many registration tokens: ${tokens.length}; at most ${MAX_TOPIC_TOKENS} a request.`);
  }
  for (const token of tokens) {
    if (typeof token !== 'string' || token === '') {
      return invalid('Every entry of "registration_tokens" must be a non-empty string.');
    }
  }
  return { ok: true, topic: to, tokens: tokens as string[] };
}

/** A bearer check result as the topic API answers it. */
export function topicAuthError(bearer: string | undefined, valid: boolean): RpcError | undefined {
  if (!bearer) return unauthenticated(true);
  return valid ? undefined : unauthenticated(false);
}

/** Per-token answer word, or undefined when done. `attempt` counts this token's topic requests. */
export function topicTokenAnswer(state: ScenarioState, token: string, attempt: number): string | undefined {
  if (state.unregistered.has(token)) return 'NOT_FOUND';
  if (state.invalid.has(token)) return 'INVALID_ARGUMENT';
  const f = state.flaky;
  if (f?.tokens.has(token) && attempt <= f.failFirst) return 'INTERNAL';
  const q = state.quota;
  if (q?.tokens.has(token) && attempt <= q.failFirst) return 'RESOURCE_EXHAUSTED';
  return undefined;
}

/** Topic → subscribed tokens, as the emulator holds them. */
export class Subscriptions {
  #byTopic = new Map<string, Set<string>>();

  add(topic: string, token: string): void {
    let set = this.#byTopic.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#byTopic.set(topic, set);
    }
    set.add(token);
  }

  remove(topic: string, token: string): void {
    const set = this.#byTopic.get(topic);
    if (set === undefined) return;
    set.delete(token);
    if (set.size === 0) this.#byTopic.delete(topic);
  }

  /** Tokens subscribed to `topic` (with or without the `/topics/` prefix), in subscription order. */
  subscribers(topic: string): string[] {
    return [...(this.#byTopic.get(topic.startsWith('/topics/') ? topic : `/topics/${topic}`) ?? [])];
  }

  /** Topic names (without the prefix) `token` is subscribed to. */
  topicsOf(token: string): string[] {
    const topics: string[] = [];
    for (const [topic, set] of this.#byTopic) if (set.has(token)) topics.push(topic.slice('/topics/'.length));
    return topics;
  }

  clear(): void {
    this.#byTopic.clear();
  }
}

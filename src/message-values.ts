/**
 * Values of the common notification that several providers turn into the same thing: a
 * lifetime in seconds (from `ttl` or `expiresAt`) and a string-only data map (FCM's and Huawei's
 * `data` take strings only). Each provider passes the constructor of its own `bad-request`
 * error, so messages still name the provider whose rule was broken.
 */
import type { PushError } from './errors.js';
import type { Notification } from './notification.js';

type Refuse = (message: string) => PushError;

export interface TtlRules {
  /** The longest the service keeps a message, s: a longer wish means "as long as you can". */
  maxSeconds: number;
  /** Whole seconds only (a fractional `ttl` is rounded down). */
  whole?: boolean;
  refuse: Refuse;
}

/** Seconds the message may wait: `ttl`, or the seconds left until `expiresAt`, capped; undefined when neither is set. */
export function ttlSeconds(n: Notification, now: number, rules: TtlRules): number | undefined {
  const { refuse } = rules;
  if (n.ttl !== undefined && n.expiresAt !== undefined) {
    throw refuse('set either `ttl` or `expiresAt`, not both');
  }
  let seconds: number | undefined;
  if (n.ttl !== undefined) {
    if (typeof n.ttl !== 'number' || !Number.isFinite(n.ttl) || n.ttl < 0) {
      throw refuse(`\`ttl\` must be a number of seconds ≥ 0, got ${String(n.ttl)}`);
    }
    seconds = rules.whole ? Math.floor(n.ttl) : n.ttl;
  } else if (n.expiresAt !== undefined) {
    const at = n.expiresAt instanceof Date ? n.expiresAt.getTime() : Number.NaN;
    if (Number.isNaN(at)) throw refuse('`expiresAt` must be a valid Date');
    seconds = Math.max(0, Math.floor((at - now) / 1000));
  }
  return seconds === undefined ? undefined : Math.min(seconds, rules.maxSeconds);
}

/**
 * Data values as strings: strings as they are, everything else JSON-encoded (`123` → `"123"`,
 * `{a:1}` → `'{"a":1}'`, `null` → `"null"`); `undefined` values left out. A value JSON cannot
 * encode (a cycle, a BigInt, a function) is refused naming its key; `checkKey` refuses keys the
 * service reserves.
 */
export function stringValues(
  data: Record<string, unknown>,
  where: string,
  refuse: Refuse,
  checkKey?: (key: string) => void,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue;
    checkKey?.(key);
    if (typeof value === 'string') {
      out[key] = value;
      continue;
    }
    let encoded: string | undefined;
    try {
      encoded = JSON.stringify(value);
    } catch (err) {
      throw refuse(`${where}.${key} cannot be JSON-encoded (${(err as Error).message})`);
    }
    if (encoded === undefined) throw refuse(`${where}.${key} (a ${typeof value}) cannot be JSON-encoded`);
    out[key] = encoded;
  }
  return out;
}

/**
 * Reading a browser's push subscription from a device token. Subscriptions come from
 * browsers (and then from the caller's database), so every field is checked before any
 * request: what fails here is reported as an invalid token, with what is wrong.
 */
import type { WebPushSubscription } from '../../device.js';
import type { ReceiverKeys } from './encrypt.js';

/** A subscription that passed the shape checks. */
export interface ParsedSubscription extends ReceiverKeys {
  url: URL;
  /** `https://host[:port]`: the VAPID `aud` and the connection pool key. */
  origin: string;
  /** Path and query to POST to. */
  path: string;
}

export type SubscriptionResult =
  | { ok: true; subscription: ParsedSubscription }
  | { ok: false; reason: string };

// Browsers give base64url without padding; stored copies sometimes carry padding or the
// standard alphabet, which decode to the same bytes.
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

function fail(reason: string): SubscriptionResult {
  return { ok: false, reason };
}

/** Parses `device.token` (an object or its JSON string) into checked parts. */
export function parseSubscription(token: unknown): SubscriptionResult {
  let value: unknown = token;
  if (typeof token === 'string') {
    try {
      value = JSON.parse(token);
    } catch {
      return fail('subscription is not valid JSON');
    }
  }
  if (value === null || typeof value !== 'object') return fail('subscription must be an object');
  const { endpoint, keys } = value as Partial<WebPushSubscription>;
  if (typeof endpoint !== 'string' || endpoint === '') return fail('subscription.endpoint is missing');
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return fail('subscription.endpoint is not a URL');
  }
  // RFC 8030 §8: push services are reached over HTTPS only.
  if (url.protocol !== 'https:') return fail(`subscription.endpoint must be https, got ${url.protocol}`);
  if (url.username !== '' || url.password !== '')
    return fail('subscription.endpoint must not carry credentials');
  if (keys === null || typeof keys !== 'object') return fail('subscription.keys is missing');

  const { p256dh, auth } = keys;
  if (typeof p256dh !== 'string' || !BASE64.test(p256dh))
    return fail('subscription.keys.p256dh is not base64url');
  const publicKey = Buffer.from(p256dh, 'base64url');
  // On-curve is checked by the ECDH itself (it throws), which costs nothing extra here.
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) {
    return fail(
      `subscription.keys.p256dh must be a 65-byte uncompressed P-256 point, got ${publicKey.length} bytes`,
    );
  }
  if (typeof auth !== 'string' || !BASE64.test(auth)) return fail('subscription.keys.auth is not base64url');
  const secret = Buffer.from(auth, 'base64url');
  if (secret.length !== 16) return fail(`subscription.keys.auth must be 16 bytes, got ${secret.length}`);

  return {
    ok: true,
    subscription: {
      url,
      origin: url.origin,
      path: url.pathname + url.search,
      p256dh: publicKey,
      auth: secret,
    },
  };
}

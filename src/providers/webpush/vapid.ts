/**
 * VAPID (RFC 8292): the application server's identity, an ES256 JWT per push-service origin.
 *
 * Keys use the form the `web-push` package made common: base64url of the 65-byte uncompressed
 * P-256 public point and of the 32-byte private scalar. The same public key is what the web
 * page passed to `pushManager.subscribe({ applicationServerKey })`.
 */
import { createECDH, createPrivateKey, type KeyObject } from 'node:crypto';
import { signJwt } from '../../jwt.js';
import { shownValue } from '../../redact.js';
import { configError } from './errors.js';

/** VAPID key pair in the `web-push` form (base64url, no padding). */
export interface VapidKeys {
  /** base64url of the 65-byte uncompressed P-256 public key (starts with 0x04). */
  publicKey: string;
  /** base64url of the 32-byte P-256 private scalar. */
  privateKey: string;
}

/** VAPID configuration: the keys and a contact the push service may use (`sub`). */
export interface VapidOptions extends VapidKeys {
  /** `mailto:ops@example.com` or `https://example.com/contact`. */
  subject: string;
}

/** RFC 8292 §2: `exp` must be no more than 24 hours ahead; we ask for 12 like `web-push`. */
export const VAPID_TOKEN_LIFETIME_SECONDS = 12 * 3600;
/** Renew a cached token once this little of its life is left (well before any clock skew bites). */
export const VAPID_RENEW_BEFORE_SECONDS = 6 * 3600;
/** Origins remembered at once: subscriptions are untrusted, so the cache must be bounded. */
const MAX_CACHED_ORIGINS = 1024;

const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;

function decodeKey(value: unknown, what: string, bytes: number): Buffer {
  if (typeof value !== 'string' || !BASE64URL.test(value)) {
    throw configError(`vapid.${what} must be a base64url string (the web-push key form)`);
  }
  const decoded = Buffer.from(value, 'base64url');
  if (decoded.length !== bytes) {
    throw configError(
      `vapid.${what} must decode to ${bytes} bytes, got ${decoded.length}` +
        (what === 'publicKey' ? ' (an uncompressed P-256 point)' : ' (a P-256 private scalar)'),
    );
  }
  return decoded;
}

function validateSubject(subject: unknown): string {
  if (typeof subject !== 'string' || subject === '') {
    throw configError('vapid.subject is required (mailto: or https: contact)');
  }
  let url: URL;
  try {
    url = new URL(subject);
  } catch {
    throw configError(`vapid.subject is not a URL: ${shownValue(subject)}`);
  }
  if (url.protocol !== 'mailto:' && url.protocol !== 'https:') {
    throw configError(`vapid.subject must be a mailto: or https: URL, got ${subject}`);
  }
  // Apple's push service answers 403 BadJwtToken for `mailto: <a@b>` (space, angle brackets)
  // and for localhost contacts: refuse them here rather than fail every Safari device.
  if (/[\s<>]/.test(subject)) {
    throw configError(`vapid.subject must not contain spaces or angle brackets: ${subject}`);
  }
  const host = url.protocol === 'https:' ? url.hostname : (subject.split('@')[1] ?? '');
  if (/^localhost\.?$/i.test(host)) {
    throw configError(`vapid.subject must be a reachable contact, not localhost: ${subject}`);
  }
  return subject;
}

/** Checked VAPID material, ready to sign with. */
export interface VapidCredentials {
  subject: string;
  /** The public key exactly as it goes in the `k=` parameter (base64url, no padding). */
  publicKey: string;
  signingKey: KeyObject;
}

/**
 * Validates VAPID options: subject form, key lengths and encodings, and that the public key is
 * the private key's. Throws `PushError('config')` with what is wrong.
 */
export function loadVapid(options: VapidOptions | undefined): VapidCredentials {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw configError('`vapid: { subject, publicKey, privateKey }` is required');
  }
  const subject = validateSubject(options.subject);
  const publicKey = decodeKey(options.publicKey, 'publicKey', 65);
  const privateKey = decodeKey(options.privateKey, 'privateKey', 32);
  if (publicKey[0] !== 0x04) {
    throw configError('vapid.publicKey must be an uncompressed P-256 point (first byte 0x04)');
  }
  let derived: Buffer;
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(privateKey);
    derived = ecdh.getPublicKey();
  } catch (cause) {
    throw configError('vapid.privateKey is not a valid P-256 private key', cause);
  }
  if (!derived.equals(publicKey)) {
    throw configError('vapid.publicKey does not belong to vapid.privateKey');
  }
  const signingKey = createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: publicKey.subarray(1, 33).toString('base64url'),
      y: publicKey.subarray(33, 65).toString('base64url'),
      d: privateKey.toString('base64url'),
    },
  });
  return { subject, publicKey: publicKey.toString('base64url'), signingKey };
}

/**
 * Makes a new VAPID key pair in the `web-push` form. Give `publicKey` to the web page
 * (`applicationServerKey`) and keep both for {@link VapidOptions}.
 */
export function generateVapidKeys(): VapidKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  // getPrivateKey() drops leading zero bytes; the form is always 32 bytes.
  const privateKey = Buffer.alloc(32);
  const raw = ecdh.getPrivateKey();
  raw.copy(privateKey, 32 - raw.length);
  return {
    publicKey: ecdh.getPublicKey().toString('base64url'),
    privateKey: privateKey.toString('base64url'),
  };
}

interface CachedToken {
  /** Resolved header, once signed: the hot path reads it without a promise. */
  header?: string;
  pending?: Promise<string>;
  renewAt: number;
}

/**
 * Signs and caches one `Authorization: vapid t=…, k=…` header per push-service origin
 * (`aud` must be the endpoint's origin, so one token cannot serve two push services).
 */
export class VapidAuthorizer {
  readonly #credentials: VapidCredentials;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedToken>();

  constructor(credentials: VapidCredentials, now: () => number = Date.now) {
    this.#credentials = credentials;
    this.#now = now;
  }

  /** The header for `origin`: a string when cached, else a promise of one (signed once for concurrent callers). */
  header(origin: string): string | Promise<string> {
    const now = this.#now();
    const cached = this.#cache.get(origin);
    if (cached !== undefined && now < cached.renewAt) {
      return cached.header ?? cached.pending!;
    }
    if (cached === undefined && this.#cache.size >= MAX_CACHED_ORIGINS) {
      // Map keeps insertion order: drop the oldest origin.
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    const entry: CachedToken = {
      renewAt: now + (VAPID_TOKEN_LIFETIME_SECONDS - VAPID_RENEW_BEFORE_SECONDS) * 1000,
    };
    entry.pending = this.#sign(origin, now).then(
      (header) => {
        entry.header = header;
        entry.pending = undefined;
        return header;
      },
      (error: unknown) => {
        if (this.#cache.get(origin) === entry) this.#cache.delete(origin);
        throw error;
      },
    );
    this.#cache.delete(origin);
    this.#cache.set(origin, entry);
    return entry.pending;
  }

  async #sign(origin: string, now: number): Promise<string> {
    const iat = Math.floor(now / 1000);
    const jwt = signJwt(
      'ES256',
      { typ: 'JWT' },
      { aud: origin, sub: this.#credentials.subject, exp: iat + VAPID_TOKEN_LIFETIME_SECONDS },
      this.#credentials.signingKey,
    );
    return `vapid t=${jwt}, k=${this.#credentials.publicKey}`;
  }
}

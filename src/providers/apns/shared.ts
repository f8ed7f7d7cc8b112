/**
 * One APNs key, many apps: every `apns()` (and `apnsBroadcast()`) in the process that signs with
 * the same credential shares ONE pool per APNs host and ONE provider-token cache, whatever its
 * topic. A token-auth JWT (team id + key id) is valid for every app of the team and `apns-topic`
 * picks the app per request (PROTOCOLS.md §1), so a pool and a JWT per bundle id would only
 * multiply connections, signatures and refreshes (Apple answers `TooManyProviderTokenUpdates`
 * to refreshes within 20 minutes).
 *
 * Sharing is reference-counted: each client holds a lease; closing or destroying a lease drops
 * only its share, and the last one closes the pool. Pools are keyed by everything that makes a
 * connection different — host, credential (team + key id + key fingerprint, or the client
 * certificate's fingerprint), connection count and caps, in-flight limits, timeout, proxy, transport and extra CA — so two
 * providers differing in any of these keep their own pools. A client given its own `pool` takes
 * no lease. Under certificate auth only clients of the same certificate share (a certificate's
 * topics are its app's).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { PushError } from '../../errors.js';
import { dispatchOn, refuseLater } from '../../transport/dispatch.js';
import type {
  Pool,
  PoolStats,
  ResponseSink,
  TransportRequest,
  TransportResponse,
} from '../../transport/types.js';
import { apnsPool } from './connection.js';
import type { ResolvedApnsOptions } from './options.js';
import { ProviderTokenCache } from './token-auth.js';

interface Entry<T> {
  value: T;
  refs: number;
}

const pools = new Map<string, Entry<Pool>>();
const tokenCaches = new Map<string, Entry<ProviderTokenCache>>();

/** Functions (clocks) cannot be part of a string key: each gets a number. */
const functionIds = new WeakMap<object, number>();
let nextFunctionId = 1;
function functionId(fn: object): number {
  let id = functionIds.get(fn);
  if (id === undefined) {
    id = nextFunctionId++;
    functionIds.set(fn, id);
  }
  return id;
}

const fingerprint = (data: string | Buffer): string => createHash('sha256').update(data).digest('base64url');
const keyFingerprint = (key: KeyObject): string => fingerprint(key.export({ type: 'pkcs8', format: 'der' }));

/** What identifies the credential: the signing key under token auth, the client certificate otherwise. */
function credentialKey(options: ResolvedApnsOptions): string {
  const { auth } = options;
  if (auth.kind === 'token') return `token:${auth.teamId}:${auth.keyId}:${keyFingerprint(auth.key)}`;
  return `cert:${fingerprint(auth.material.cert)}:${fingerprint(auth.material.key)}`;
}

function caKey(ca: ResolvedApnsOptions['ca']): string {
  if (ca === undefined) return '';
  const list = Array.isArray(ca) ? ca : [ca];
  return fingerprint(
    list.map((item) => (Buffer.isBuffer(item) ? item.toString('latin1') : String(item))).join('\n'),
  );
}

/**
 * A lease on the shared pool to `origin` for these options: made on first use, closed when the
 * last lease is closed or destroyed.
 */
export function sharedPool(
  options: ResolvedApnsOptions,
  origin: string,
  connections: number | undefined,
): Pool {
  const key = JSON.stringify([
    origin,
    credentialKey(options),
    connections ?? null,
    options.maxConnections ?? null,
    options.concurrency ?? null,
    options.maxConcurrency ?? null,
    options.timeoutMs ?? null,
    options.proxy ?? null,
    options.protocol,
    caKey(options.ca),
  ]);
  let entry = pools.get(key);
  if (entry === undefined) {
    entry = { value: apnsPool(options, origin, connections), refs: 0 };
    pools.set(key, entry);
  }
  entry.refs++;
  return new PoolLease(key, entry);
}

/**
 * One client's share of a pool. Requests go straight to the shared pool; `close`/`destroy`
 * give the share back, and only the last one closes (or destroys) the pool itself. After that,
 * this lease's requests fail `closed`, as a closed pool's would.
 */
class PoolLease implements Pool {
  readonly #key: string;
  readonly #entry: Entry<Pool>;
  #released = false;

  constructor(key: string, entry: Entry<Pool>) {
    this.#key = key;
    this.#entry = entry;
  }

  get origin(): string {
    return this.#entry.value.origin;
  }

  get stats(): PoolStats {
    return this.#entry.value.stats;
  }

  /** The shared pool's in-flight limit (adaptive unless fixed): the provider's concurrency reads it. */
  get limit(): number | undefined {
    return this.#entry.value.limit;
  }

  dispatch<T>(req: TransportRequest, sink: ResponseSink<T>, token: T): void {
    if (this.#released) refuseLater(sink, this.#closed(), token);
    else dispatchOn(this.#entry.value, req, sink, token);
  }

  #closed(): PushError {
    return new PushError('closed', `${this.origin}: this APNs client is closed`, { retryable: false });
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    if (this.#released) return Promise.reject(this.#closed());
    return this.#entry.value.request(req);
  }

  close(): Promise<void> {
    return this.#release() ? this.#entry.value.close() : Promise.resolve();
  }

  destroy(): Promise<void> {
    return this.#release() ? this.#entry.value.destroy() : Promise.resolve();
  }

  /** Gives the share back (once); true when it was the last one. */
  #release(): boolean {
    if (this.#released) return false;
    this.#released = true;
    this.#entry.refs--;
    if (this.#entry.refs > 0) return false;
    if (pools.get(this.#key) === this.#entry) pools.delete(this.#key);
    return true;
  }
}

/** A share of the provider-token cache of token auth; give it back with `release()`. */
export interface TokenLease {
  readonly tokens: ProviderTokenCache;
  release(): void;
}

/**
 * The provider-token cache for this key (team id, key id, key material and clock), shared by
 * every client that signs with it: one JWT per key, not per app. Undefined under certificate auth.
 */
export function sharedTokens(options: ResolvedApnsOptions): TokenLease | undefined {
  const { auth } = options;
  if (auth.kind !== 'token') return undefined;
  const key = `${credentialKey(options)}:${functionId(options.clock)}`;
  let entry = tokenCaches.get(key);
  if (entry === undefined) {
    const tokens = new ProviderTokenCache({
      teamId: auth.teamId,
      keyId: auth.keyId,
      key: auth.key,
      clock: options.clock,
    });
    entry = { value: tokens, refs: 0 };
    tokenCaches.set(key, entry);
  }
  entry.refs++;
  const held = entry;
  let released = false;
  return {
    tokens: held.value,
    release() {
      if (released) return;
      released = true;
      held.refs--;
      if (held.refs === 0 && tokenCaches.get(key) === held) tokenCaches.delete(key);
    },
  };
}

/** Live shared pools and token caches (for tests: sharing must not leak entries). */
export function sharedCounts(): { pools: number; tokenCaches: number } {
  return { pools: pools.size, tokenCaches: tokenCaches.size };
}

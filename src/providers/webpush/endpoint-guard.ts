/**
 * SSRF guard for subscription endpoints. A subscription is a URL a browser (or whoever
 * posted to the app's subscribe route) chose; without this guard a send would POST to
 * `https://169.254.169.254/…` or to services on the app's private network.
 *
 * The host is refused when it is, or resolves to, an address no public push service uses.
 * Lookups are cached per host for a short time, so a million devices on one push service
 * cost one lookup.
 *
 * The check runs twice: once per host before the request (so a refused endpoint is an
 * `invalid-token` feedback), and again on the addresses each new connection actually uses
 * (`connectLookup`, the transport's `lookup` hook), so a DNS answer that changes after the
 * first check (DNS rebinding) cannot reach a refused address either.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction as NetLookupFunction } from 'node:net';
import { PushError } from '../../errors.js';

/**
 * Address ranges refused by default, with the words used in the reason: every entry of the
 * IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890) that is not globally
 * reachable, plus IPv4 multicast and the deprecated IPv6 site-local range. Most specific first,
 * so the reason names the narrowest range. Whole blocks are refused where the registry marks
 * a few sub-blocks globally reachable (192.0.0.9/32 and 192.0.0.10/32 in 192.0.0.0/24; AMT,
 * AS112, ORCHIDv2 and DET in 2001::/23): no push service lives there. On top of this list,
 * an IPv6 address must be global unicast (2000::/3); IPv4-mapped (::ffff:0:0/96) and NAT64
 * (64:ff9b::/96) addresses are judged by the IPv4 address they carry.
 */
const REFUSED_RANGES: ReadonlyArray<{
  label: string;
  cidrs: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']>;
}> = [
  {
    label: 'a cloud metadata address',
    cidrs: [
      ['169.254.169.254', 32, 'ipv4'],
      ['fd00:ec2::254', 128, 'ipv6'],
    ],
  },
  {
    label: 'a loopback address',
    cidrs: [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  },
  {
    label: 'an unspecified address',
    cidrs: [
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ],
  },
  {
    label: 'a private address',
    cidrs: [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
    ],
  },
  {
    label: 'a link-local address',
    cidrs: [
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  },
  { label: 'a carrier-grade NAT address', cidrs: [['100.64.0.0', 10, 'ipv4']] },
  {
    label: 'a multicast, broadcast or reserved address',
    cidrs: [
      ['224.0.0.0', 4, 'ipv4'],
      ['240.0.0.0', 4, 'ipv4'], // includes 255.255.255.255, the limited broadcast
      ['ff00::', 8, 'ipv6'],
    ],
  },
  {
    label: 'an IETF protocol assignment address',
    cidrs: [
      ['192.0.0.0', 24, 'ipv4'],
      ['2001::', 23, 'ipv6'], // Teredo, benchmarking, ORCHID, …
    ],
  },
  {
    label: 'a documentation address',
    cidrs: [
      ['192.0.2.0', 24, 'ipv4'],
      ['198.51.100.0', 24, 'ipv4'],
      ['203.0.113.0', 24, 'ipv4'],
      ['2001:db8::', 32, 'ipv6'],
      ['3fff::', 20, 'ipv6'],
    ],
  },
  { label: 'a benchmarking address', cidrs: [['198.18.0.0', 15, 'ipv4']] },
  {
    label: 'a 6to4 address (it would reach an IPv4 address through a relay)',
    cidrs: [
      ['192.88.99.0', 24, 'ipv4'],
      ['2002::', 16, 'ipv6'],
    ],
  },
  {
    label: 'a local-use NAT64 address (it would reach an IPv4 address through a translator)',
    cidrs: [['64:ff9b:1::', 48, 'ipv6']],
  },
  { label: 'an IPv4-compatible IPv6 address (deprecated)', cidrs: [['::', 96, 'ipv6']] },
  { label: 'a discard-only address', cidrs: [['100::', 64, 'ipv6']] },
  { label: 'a site-local address (deprecated)', cidrs: [['fec0::', 10, 'ipv6']] },
  { label: 'an SRv6 SID address', cidrs: [['5f00::', 16, 'ipv6']] },
];

const RANGES = REFUSED_RANGES.map(({ label, cidrs }) => {
  const list = new BlockList();
  for (const [network, prefix, family] of cidrs) list.addSubnet(network, prefix, family);
  return { label, list };
});

const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet('2000::', 3, 'ipv6');

/** Prefixes whose last 32 bits are an IPv4 address the packet really goes to. */
const EMBEDS_IPV4: ReadonlyArray<{ prefix: readonly number[]; via: string }> = [
  { prefix: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], via: '' },
  { prefix: [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], via: 'NAT64 64:ff9b::/96' },
];

/** An IPv6 literal (already valid per `isIP`) as 16 bytes. */
function ipv6Bytes(address: string): number[] {
  let text = address.split('%')[0]!;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const first = head === '' ? [] : head.split(':');
  const last = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups =
    rest === undefined
      ? first
      : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  return groups.flatMap((group) => {
    const value = Number.parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

/** Why `address` (an IP literal) may not be a push endpoint, or undefined when it may. */
export function refusedAddressKind(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  if (family === 4) {
    for (const { label, list } of RANGES) if (list.check(address, 'ipv4')) return label;
    return undefined;
  }
  const bytes = ipv6Bytes(address);
  for (const { prefix, via } of EMBEDS_IPV4) {
    if (prefix.every((byte, i) => bytes[i] === byte)) {
      const ipv4 = bytes.slice(12).join('.');
      const kind = refusedAddressKind(ipv4);
      if (kind === undefined || via === '') return kind;
      return `${kind} (${ipv4}, ${via})`;
    }
  }
  for (const { label, list } of RANGES) if (list.check(address, 'ipv6')) return label;
  if (!GLOBAL_UNICAST.check(address, 'ipv6')) return 'an address outside IPv6 global unicast (2000::/3)';
  return undefined;
}

export type LookupFunction = (hostname: string) => Promise<ReadonlyArray<{ address: string }>>;

export interface EndpointGuardOptions {
  /** Host names (or IP literals) always allowed, e.g. `['127.0.0.1']` for the emulator. */
  allowHosts?: readonly string[];
  /** Turn the address checks off (https is still required). For private push services. */
  allowPrivateNetworks?: boolean;
  /** How long a host's verdict is kept, ms. Default 30 s. */
  cacheTtlMs?: number;
  /** DNS resolver, for tests. Defaults to `dns.lookup` with all addresses. */
  lookup?: LookupFunction;
  now?: () => number;
}

/** A refusal (invalid subscription), or a lookup failure (retryable). `undefined` = allowed. */
export type GuardVerdict = undefined | { refused: string } | { error: PushError };

interface CachedVerdict {
  expiresAt: number;
  verdict?: GuardVerdict;
  pending?: Promise<GuardVerdict>;
}

const MAX_CACHED_HOSTS = 4096;

const defaultLookup: LookupFunction = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export class EndpointGuard {
  readonly #allowHosts: ReadonlySet<string>;
  readonly #allowPrivate: boolean;
  readonly #ttlMs: number;
  readonly #lookup: LookupFunction;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedVerdict>();

  constructor(options: EndpointGuardOptions = {}) {
    this.#allowHosts = new Set((options.allowHosts ?? []).map((host) => normalizeHost(host)));
    this.#allowPrivate = options.allowPrivateNetworks === true;
    this.#ttlMs = options.cacheTtlMs ?? 30_000;
    this.#lookup = options.lookup ?? defaultLookup;
    this.#now = options.now ?? Date.now;
  }

  /** Checks an endpoint URL (already known to be https). Synchronous when the verdict is cached. */
  check(url: URL): GuardVerdict | Promise<GuardVerdict> {
    if (this.#allowPrivate) return undefined;
    const host = normalizeHost(url.hostname);
    if (this.#allowHosts.has(host)) return undefined;
    if (isIP(host) !== 0) {
      const kind = refusedAddressKind(host);
      return kind === undefined ? undefined : { refused: refusal(host, kind) };
    }
    // RFC 6761 §6.3: localhost and *.localhost are loopback without asking DNS.
    if (host === 'localhost' || host.endsWith('.localhost')) {
      return { refused: refusal(host, 'a loopback address') };
    }
    const now = this.#now();
    const cached = this.#cache.get(host);
    if (cached !== undefined && now < cached.expiresAt) return cached.pending ?? cached.verdict;
    if (cached === undefined && this.#cache.size >= MAX_CACHED_HOSTS) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    const entry: CachedVerdict = { expiresAt: now + this.#ttlMs };
    entry.pending = this.#resolve(host).then((verdict) => {
      entry.verdict = verdict;
      entry.pending = undefined;
      return verdict;
    });
    this.#cache.delete(host);
    this.#cache.set(host, entry);
    return entry.pending;
  }

  /**
   * A `net` lookup for the transport: resolves like the guard and hands the connection only
   * addresses the guard allows; when none is left the connect fails, naming the address.
   */
  connectLookup(): NetLookupFunction {
    return (hostname, options, callback) => {
      const host = normalizeHost(hostname);
      const trusted = this.#allowPrivate || this.#allowHosts.has(host);
      this.#lookup(host).then(
        (resolved) => {
          const allowed = trusted ? resolved : resolved.filter(({ address }) => !refusedAddressKind(address));
          if (allowed.length === 0) {
            const address = resolved[0]?.address;
            const kind = address === undefined ? undefined : refusedAddressKind(address);
            const reason = kind === undefined ? `${host} did not resolve` : refusal(host, kind, address);
            const error = Object.assign(new Error(reason), { code: kind ? 'EREFUSEDADDRESS' : 'ENOTFOUND' });
            callback(error, '', 0);
            return;
          }
          const addresses = allowed.map(({ address }) => ({ address, family: isIP(address) }));
          if (options.all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
    };
  }

  async #resolve(host: string): Promise<GuardVerdict> {
    let addresses: ReadonlyArray<{ address: string }>;
    try {
      addresses = await this.#lookup(host);
    } catch (cause) {
      const code = (cause as { code?: string }).code ?? 'lookup failed';
      // Cached like any verdict (briefly), so a dead push service costs one lookup per TTL.
      return {
        error: new PushError('unavailable', `cannot resolve push service host ${host}: ${code}`, {
          reason: code,
          cause,
        }),
      };
    }
    for (const { address } of addresses) {
      const kind = refusedAddressKind(address);
      if (kind !== undefined) return { refused: refusal(host, kind, address) };
    }
    return undefined;
  }
}

function normalizeHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function refusal(host: string, kind: string, address?: string): string {
  const where = address === undefined ? `${host} is ${kind}` : `${host} resolves to ${address}, ${kind}`;
  return `endpoint refused: ${where}; push services are public (allow it with allowHosts or allowPrivateNetworks)`;
}

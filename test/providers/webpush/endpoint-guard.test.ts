import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EndpointGuard,
  type GuardVerdict,
  refusedAddressKind,
} from '../../../src/providers/webpush/endpoint-guard.js';

async function verdictFor(guard: EndpointGuard, endpoint: string): Promise<GuardVerdict> {
  return await guard.check(new URL(endpoint));
}

function refusedReason(verdict: GuardVerdict): string {
  assert.ok(verdict && 'refused' in verdict, `expected a refusal, got ${JSON.stringify(verdict)}`);
  return verdict.refused;
}

const noDns = async (host: string): Promise<never> => {
  throw new Error(`no DNS in tests (asked for ${host})`);
};

describe('endpoint guard (SSRF)', () => {
  it('classifies address literals', () => {
    const cases: Array<[string, string | undefined]> = [
      ['127.0.0.1', 'a loopback address'],
      ['127.8.9.10', 'a loopback address'],
      ['::1', 'a loopback address'],
      ['::ffff:127.0.0.1', 'a loopback address'],
      ['10.1.2.3', 'a private address'],
      ['172.16.0.1', 'a private address'],
      ['172.31.255.255', 'a private address'],
      ['192.168.1.1', 'a private address'],
      ['fd12:3456::1', 'a private address'],
      ['169.254.1.1', 'a link-local address'],
      ['fe80::1', 'a link-local address'],
      ['100.64.0.1', 'a carrier-grade NAT address'],
      ['0.0.0.0', 'an unspecified address'],
      ['::', 'an unspecified address'],
      ['169.254.169.254', 'a cloud metadata address'],
      ['fd00:ec2::254', 'a cloud metadata address'],
      ['224.0.0.1', 'a multicast, broadcast or reserved address'],
      ['8.8.8.8', undefined],
      ['172.32.0.1', undefined],
      ['100.128.0.1', undefined],
      ['2607:f8b0:4004:c1b::5f', undefined],
    ];
    for (const [address, kind] of cases) assert.equal(refusedAddressKind(address), kind, address);
  });

  it('refuses IP-literal endpoints in refused ranges without DNS, whatever their spelling', async () => {
    const guard = new EndpointGuard({ lookup: noDns });
    for (const endpoint of [
      'https://127.0.0.1/push/x',
      'https://[::1]:8443/push/x',
      'https://[::ffff:127.0.0.1]/push/x',
      'https://0x7f.1/push/x',
      'https://2130706433/push/x',
      'https://10.0.0.5/push/x',
      'https://169.254.169.254/latest/meta-data',
      'https://[fd00:ec2::254]/',
      'https://100.100.100.100/',
    ]) {
      assert.match(refusedReason(await verdictFor(guard, endpoint)), /endpoint refused: .* is a/, endpoint);
    }
    assert.equal(await verdictFor(guard, 'https://8.8.8.8/push/x'), undefined);
  });

  // Issue #12: every special-purpose range (IANA IPv4 and IPv6 Special-Purpose Address
  // Registries) that is not globally reachable is refused, at both edges of the range; the
  // public neighbours just outside stay allowed.
  const SPECIAL_PURPOSE: Array<[range: string, inside: string[], label: RegExp]> = [
    ['0.0.0.0/8', ['0.0.0.0', '0.255.255.255'], /unspecified/],
    ['10.0.0.0/8', ['10.0.0.0', '10.255.255.255'], /private/],
    ['100.64.0.0/10', ['100.64.0.0', '100.127.255.255'], /carrier-grade NAT/],
    ['127.0.0.0/8', ['127.0.0.0', '127.255.255.255'], /loopback/],
    ['169.254.0.0/16', ['169.254.0.0', '169.254.255.255'], /link-local/],
    ['172.16.0.0/12', ['172.16.0.0', '172.31.255.255'], /private/],
    ['192.0.0.0/24', ['192.0.0.0', '192.0.0.255', '192.0.0.9', '192.0.0.170'], /IETF protocol assignment/],
    ['192.0.2.0/24', ['192.0.2.0', '192.0.2.255'], /documentation/],
    ['192.88.99.0/24', ['192.88.99.0', '192.88.99.255'], /6to4/],
    ['192.168.0.0/16', ['192.168.0.0', '192.168.255.255'], /private/],
    ['198.18.0.0/15', ['198.18.0.0', '198.19.255.255'], /benchmarking/],
    ['198.51.100.0/24', ['198.51.100.0', '198.51.100.255'], /documentation/],
    ['203.0.113.0/24', ['203.0.113.0', '203.0.113.255'], /documentation/],
    ['224.0.0.0/4', ['224.0.0.0', '239.255.255.255'], /multicast/],
    ['240.0.0.0/4', ['240.0.0.0', '254.255.255.255'], /reserved/],
    ['255.255.255.255/32', ['255.255.255.255'], /broadcast/],
    ['::/128', ['::'], /unspecified/],
    ['::1/128', ['::1'], /loopback/],
    [
      '::ffff:0:0/96 (IPv4-mapped)',
      ['::ffff:10.0.0.1', '::ffff:a00:1', '::ffff:169.254.169.254'],
      /private|metadata/,
    ],
    ['::/96 (IPv4-compatible)', ['::8.8.8.8', '::808:808', '::0.0.0.2'], /IPv4-compatible/],
    [
      '64:ff9b::/96 (NAT64) carrying a private IPv4',
      ['64:ff9b::10.0.0.1', '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe'],
      /\(.*NAT64 64:ff9b::\/96\)/,
    ],
    [
      '64:ff9b:1::/48 (local-use NAT64)',
      ['64:ff9b:1::', '64:ff9b:1:ffff:ffff:ffff:ffff:ffff', '64:ff9b:1::808:808'],
      /local-use NAT64/,
    ],
    ['100::/64', ['100::', '100::ffff:ffff:ffff:ffff'], /discard-only/],
    [
      '2001::/23',
      ['2001::', '2001:0:4136:e378::1', '2001:1ff:ffff::1', '2001:2::1', '2001:10::1'],
      /IETF protocol assignment/,
    ],
    ['2001:db8::/32', ['2001:db8::', '2001:db8:ffff:ffff::1'], /documentation/],
    ['2002::/16 (6to4)', ['2002::', '2002:c000:0204::1', '2002:0a00:0001::1', '2002:ffff::1'], /6to4/],
    ['3fff::/20', ['3fff::', '3fff:0fff:ffff::1'], /documentation/],
    ['5f00::/16', ['5f00::', '5f00:ffff::1'], /SRv6/],
    ['fc00::/7', ['fc00::', 'fdff:ffff::1'], /private/],
    ['fe80::/10', ['fe80::', 'febf:ffff::1'], /link-local/],
    ['fec0::/10', ['fec0::', 'feff:ffff::1'], /site-local/],
    ['ff00::/8', ['ff00::', 'ff02::1', 'ffff:ffff::1'], /multicast/],
    ['outside 2000::/3', ['1::1', '4000::1', 'e000::1', '400::1'], /outside IPv6 global unicast/],
  ];
  for (const [range, inside, label] of SPECIAL_PURPOSE) {
    it(`refuses ${range}`, async () => {
      const guard = new EndpointGuard({ lookup: noDns });
      for (const address of inside) {
        assert.match(refusedAddressKind(address) ?? 'allowed', label, address);
        const host = address.includes(':') ? `[${address}]` : address;
        assert.match(refusedReason(await verdictFor(guard, `https://${host}/push/x`)), label, address);
        // The same address reached through a host name, and at connect time.
        const named = new EndpointGuard({ lookup: async () => [{ address }] });
        assert.match(refusedReason(await verdictFor(named, 'https://push.example.net/x')), label, address);
      }
    });
  }

  it('allows the public neighbours of the refused ranges, and NAT64 / mapped forms of public IPv4', () => {
    for (const address of [
      '1.0.0.1',
      '9.255.255.255',
      '11.0.0.0',
      '100.63.255.255',
      '100.128.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.0.1.0',
      '192.0.3.0',
      '192.88.98.255',
      '192.88.100.0',
      '198.17.255.255',
      '198.20.0.0',
      '223.255.255.255',
      '142.250.74.106',
      '::ffff:142.250.74.106',
      '64:ff9b::142.250.74.106', // DNS64 on an IPv6-only network: a public push service
      '64:ff9b::8efa:4a6a',
      '2001:200::1',
      '2001:db7:ffff::1',
      '2001:db9::1',
      '2003::1',
      '2a00:1450:4001:82b::200a',
      '2620:4f:8000::1', // AS112 direct delegation: globally reachable
      '3ffe::1',
      '3fff:1000::1',
    ]) {
      assert.equal(refusedAddressKind(address), undefined, address);
    }
  });

  it('treats localhost names as loopback', async () => {
    const guard = new EndpointGuard({ lookup: noDns });
    for (const endpoint of ['https://localhost/x', 'https://LOCALHOST./x', 'https://push.localhost:9/x']) {
      assert.match(refusedReason(await verdictFor(guard, endpoint)), /loopback/, endpoint);
    }
  });

  it('resolves host names once per TTL and refuses when any address is refused', async () => {
    const asked: string[] = [];
    let now = 0;
    const answers: Record<string, string[]> = {
      'push.example.com': ['93.184.216.10', '2606:2800:220:1::10'],
      'evil.example.com': ['93.184.216.34', '10.0.0.7'],
    };
    const guard = new EndpointGuard({
      now: () => now,
      cacheTtlMs: 30_000,
      lookup: async (host) => {
        asked.push(host);
        return (answers[host] ?? []).map((address) => ({ address }));
      },
    });
    const verdicts = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => guard.check(new URL(`https://push.example.com/push/${i}`))),
    );
    assert.ok(verdicts.every((v) => v === undefined));
    assert.deepEqual(asked, ['push.example.com'], 'a thousand devices, one lookup');
    assert.equal(
      guard.check(new URL('https://push.example.com/again')),
      undefined,
      'cached verdicts are synchronous',
    );
    assert.match(
      refusedReason(await verdictFor(guard, 'https://evil.example.com/x')),
      /resolves to 10\.0\.0\.7, a private/,
    );
    now += 31_000;
    await verdictFor(guard, 'https://push.example.com/x');
    assert.deepEqual(
      asked,
      ['push.example.com', 'evil.example.com', 'push.example.com'],
      'looked up again after the TTL',
    );
  });

  it('reports a failed lookup as retryable unavailable, not as a dead subscription', async () => {
    const guard = new EndpointGuard({
      lookup: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
      },
    });
    const verdict = await verdictFor(guard, 'https://nowhere.example.com/x');
    assert.ok(verdict && 'error' in verdict);
    assert.equal(verdict.error.code, 'unavailable');
    assert.equal(verdict.error.retryable, true);
    assert.equal(verdict.error.reason, 'ENOTFOUND');
  });

  it('lets allowHosts and allowPrivateNetworks through', async () => {
    const allowHosts = new EndpointGuard({ allowHosts: ['127.0.0.1', 'Push.Internal'], lookup: noDns });
    assert.equal(await verdictFor(allowHosts, 'https://127.0.0.1:4443/push/x'), undefined);
    assert.equal(await verdictFor(allowHosts, 'https://push.internal/x'), undefined);
    assert.match(refusedReason(await verdictFor(allowHosts, 'https://127.0.0.2/x')), /loopback/);
    const open = new EndpointGuard({ allowPrivateNetworks: true, lookup: noDns });
    assert.equal(await verdictFor(open, 'https://169.254.169.254/'), undefined);
    assert.equal(await verdictFor(open, 'https://localhost/'), undefined);
  });
});

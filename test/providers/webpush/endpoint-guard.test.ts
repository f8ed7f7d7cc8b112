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
      'push.example.com': ['203.0.113.10', '2001:db8::1'],
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

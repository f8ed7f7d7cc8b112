/**
 * `pushline vapid`: a fresh P-256 key pair, printed as the env lines the config reads or as
 * JSON; the pair must work — web-push's own VAPID helper signs with it and the signature
 * verifies against the public key.
 */
import assert from 'node:assert/strict';
import { createECDH, createPublicKey, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import webpush from 'web-push';
import { runCli } from './support.js';

/** Checks that the two base64url strings are a matching, usable VAPID pair. */
function assertValidPair(publicKey: string, privateKey: string): void {
  const pub = Buffer.from(publicKey, 'base64url');
  const priv = Buffer.from(privateKey, 'base64url');
  assert.equal(pub.length, 65, 'an uncompressed P-256 point');
  assert.equal(pub[0], 0x04);
  assert.equal(priv.length, 32);
  assert.equal(pub.toString('base64url'), publicKey, 'unpadded base64url');
  // The public key is the private key's point.
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(priv);
  assert.ok(ecdh.getPublicKey().equals(pub), 'the public key belongs to the private key');
  // web-push signs a VAPID JWT with the pair; node:crypto verifies it with the public key alone.
  const headers = webpush.getVapidHeaders(
    'https://push.example.net',
    'mailto:ops@example.com',
    publicKey,
    privateKey,
    'aes128gcm',
  );
  const match = /^vapid t=([^,]+), k=(.+)$/.exec(headers.Authorization);
  assert.ok(match, headers.Authorization);
  assert.equal(match[2], publicKey);
  const [header, payload, signature] = match[1]!.split('.');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33).toString('base64url'),
    },
    format: 'jwk',
  });
  const ok = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature!, 'base64url'),
  );
  assert.ok(ok, 'the VAPID signature verifies against the public key');
}

describe('pushline vapid', () => {
  test('prints env lines with the names the config reads, a valid pair, new each time', async () => {
    const first = await runCli(['vapid']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, '');
    const lines = first.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2, first.stdout.length > 0 ? 'two lines' : 'output');
    const env = Object.fromEntries(lines.map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]));
    assert.deepEqual(Object.keys(env), ['PUSHLINE_VAPID_PUBLIC_KEY', 'PUSHLINE_VAPID_PRIVATE_KEY']);
    assertValidPair(env.PUSHLINE_VAPID_PUBLIC_KEY!, env.PUSHLINE_VAPID_PRIVATE_KEY!);

    const second = await runCli(['vapid', '--json']);
    assert.equal(second.code, 0, second.stderr);
    const keys = JSON.parse(second.stdout) as { publicKey: string; privateKey: string };
    assert.deepEqual(Object.keys(keys), ['publicKey', 'privateKey']);
    assertValidPair(keys.publicKey, keys.privateKey);
    assert.notEqual(keys.privateKey, env.PUSHLINE_VAPID_PRIVATE_KEY, 'a new pair each run');
  });

  test('--help names the variables; pushline --help lists the command', async () => {
    const help = await runCli(['vapid', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /PUSHLINE_VAPID_PUBLIC_KEY=/);
    assert.match(help.stdout, /--json/);
    const top = await runCli(['--help']);
    assert.match(top.stdout, /vapid \[options\]\s+generate a VAPID key pair/);
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createCertificateAuthority, issueCertificate } from '../../../src/emulator/tls.js';
import { PushError } from '../../../src/errors.js';
import type { ApnsOptions } from '../../../src/providers/apns/options.js';
import { resolveApnsOptions } from '../../../src/providers/apns/options.js';

const p8 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

const dir = mkdtempSync(join(tmpdir(), 'pushline-apns-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const p8Path = join(dir, 'AuthKey_KEY1234567.p8');
writeFileSync(p8Path, p8);

const TOKEN: ApnsOptions = {
  teamId: 'TEAM123456',
  keyId: 'KEY1234567',
  key: p8,
  topic: 'com.ex.app',
  production: true,
};

function configError(options: unknown, pattern: RegExp) {
  assert.throws(
    () => resolveApnsOptions(options as ApnsOptions),
    (e: unknown) => {
      assert.ok(e instanceof PushError, `a PushError, got ${String(e)}`);
      assert.equal(e.code, 'config');
      assert.match(e.message, /^apns: /);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('apns options: token auth', () => {
  it('accepts a .p8 as PEM text, Buffer or file path', () => {
    for (const key of [p8, Buffer.from(p8), p8Path]) {
      const resolved = resolveApnsOptions({ ...TOKEN, key });
      assert.equal(resolved.auth.kind, 'token');
      if (resolved.auth.kind === 'token') {
        assert.equal(resolved.auth.key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
        assert.equal(resolved.auth.teamId, 'TEAM123456');
      }
    }
  });

  it('accepts PEM with literal \\n as environment variables carry it', () => {
    const resolved = resolveApnsOptions({ ...TOKEN, key: p8.replace(/\n/g, '\\n') });
    assert.equal(resolved.auth.kind, 'token');
  });

  it('names a missing teamId, keyId or key', () => {
    configError({ ...TOKEN, teamId: undefined }, /token auth needs teamId/);
    configError({ ...TOKEN, keyId: undefined }, /token auth needs keyId/);
    configError({ ...TOKEN, key: undefined }, /token auth needs key: the .p8/);
  });

  it('refuses ids that are not 10 characters', () => {
    configError({ ...TOKEN, teamId: 'abc' }, /teamId must be your 10-character Team ID.*"abc"/);
    configError({ ...TOKEN, keyId: 'KEY12345678' }, /keyId must be the key's 10-character Key ID/);
  });

  it('refuses a key that is not an EC P-256 private key, saying what it got', () => {
    const expected =
      /key is not a PKCS#8 EC P-256 private key \(the .p8 file from Apple's developer site\); got /;
    configError({ ...TOKEN, key: rsa }, new RegExp(`${expected.source}an RSA private key`));
    configError({ ...TOKEN, key: p384 }, new RegExp(`${expected.source}an EC key on curve secp384r1`));
    configError(
      { ...TOKEN, key: Buffer.from('not a key at all') },
      new RegExp(`${expected.source}16 bytes of non-PEM data`),
    );
    configError(
      { ...TOKEN, key: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' },
      new RegExp(`${expected.source}a PEM 'CERTIFICATE' block`),
    );
  });

  it('reads a .p8 given without its BEGIN/END lines as the key, and never echoes one it cannot read', () => {
    const body = p8
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('-----'))
      .join('');
    for (const key of [body, p8.split('\n').slice(1, -2).join('\\n')]) {
      const resolved = resolveApnsOptions({ ...TOKEN, key });
      assert.equal(resolved.auth.kind === 'token' && resolved.auth.key.asymmetricKeyType, 'ec');
    }
    const damaged = `${body.slice(0, 40)}${body.slice(60)}`;
    for (const key of [damaged, `${damaged.slice(0, 50)}.${damaged.slice(50)}`]) {
      assert.throws(
        () => resolveApnsOptions({ ...TOKEN, key }),
        (e: Error) => {
          assert.match(
            e.message,
            /key is neither PEM text nor the path of a file: it holds .* \(not shown\)/,
          );
          for (let at = 0; at + 12 <= key.length; at += 6) {
            assert.ok(!e.message.includes(key.slice(at, at + 12)), e.message);
            assert.ok(!String(e.stack).includes(key.slice(at, at + 12)), 'in the stack');
          }
          assert.equal((e as { cause?: unknown }).cause, undefined, 'a cause would quote the value');
          return true;
        },
      );
    }
    // A certificate's key and the cert itself follow the same rule.
    configError(
      { cert: damaged, key: rsa, production: false },
      /cert is neither PEM text nor the path of a file: it holds base64 text of \d+ characters \(not shown\)/,
    );
  });

  it('never echoes key material in the message', () => {
    try {
      resolveApnsOptions({ ...TOKEN, key: rsa });
      assert.fail('should throw');
    } catch (e) {
      const body = rsa.split('\n')[1] as string;
      assert.equal((e as Error).message.includes(body.slice(0, 20)), false);
    }
  });

  it('names an unreadable key file', () => {
    configError(
      { ...TOKEN, key: join(dir, 'missing.p8') },
      /cannot read the key file '.*missing\.p8' \(ENOENT\)/,
    );
  });
});

describe('apns options: certificate auth and mixing', () => {
  const ca = createCertificateAuthority();
  const client = issueCertificate(ca, {
    commonName: 'Apple Push Services: com.ex.app',
    usage: 'client',
    subject: { UID: 'com.ex.app' },
  });

  it('accepts cert + key and defaults the topic to the certificate UID', () => {
    const resolved = resolveApnsOptions({ cert: client.certPem, key: client.keyPem, production: false });
    assert.equal(resolved.auth.kind, 'certificate');
    assert.equal(resolved.topic, 'com.ex.app');
    assert.equal(resolved.origin, 'https://api.sandbox.push.apple.com');
  });

  it('refuses both kinds of auth', () => {
    configError({ ...TOKEN, cert: client.certPem }, /one kind of auth, not both/);
    configError(
      { cert: client.certPem, pfx: Buffer.alloc(1), key: client.keyPem, production: true },
      /cert \+ key \(PEM\) or pfx/,
    );
  });

  it('needs the key with cert, and no key with pfx', () => {
    configError({ cert: client.certPem, production: true, topic: 'x' }, /cert needs key/);
    configError({ pfx: Buffer.alloc(10), key: client.keyPem, production: true }, /key is not used with pfx/);
  });

  it('refuses an expired certificate', () => {
    const old = issueCertificate(ca, {
      commonName: 'old',
      usage: 'client',
      notBefore: new Date(Date.now() - 400 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    configError({ cert: old.certPem, key: old.keyPem, production: true, topic: 'com.ex.app' }, /expired on/);
  });

  it('names missing credentials', () => {
    configError({ topic: 'com.ex.app', production: true }, /no credentials/);
    configError(undefined, /options must be an object/);
  });
});

describe('apns options: the rest', () => {
  it('requires a topic', () => {
    configError({ ...TOKEN, topic: undefined }, /topic is required: your app's bundle id/);
    configError({ ...TOKEN, topic: 'com ex' }, /without spaces/);
  });

  it('requires the environment unless an endpoint is given', () => {
    configError({ ...TOKEN, production: undefined }, /production: true .* production: false/);
    assert.equal(resolveApnsOptions({ ...TOKEN, production: true }).origin, 'https://api.push.apple.com');
    assert.equal(
      resolveApnsOptions({ ...TOKEN, production: false }).origin,
      'https://api.sandbox.push.apple.com',
    );
    const local = resolveApnsOptions({
      ...TOKEN,
      production: undefined,
      endpoint: 'https://127.0.0.1:8443/',
    });
    assert.equal(local.origin, 'https://127.0.0.1:8443');
    assert.equal(
      resolveApnsOptions({ ...TOKEN, endpoint: 'https://api.push.apple.com:2197' }).origin,
      'https://api.push.apple.com:2197',
    );
  });

  it('refuses a bad endpoint', () => {
    configError({ ...TOKEN, endpoint: 'nope' }, /endpoint is not a URL/);
    configError({ ...TOKEN, endpoint: 'ftp://x' }, /https:\/\//);
    configError({ ...TOKEN, endpoint: 'https://x/3/device' }, /without a path/);
  });

  it('refuses a cleartext endpoint, except on loopback with allowInsecureLoopback', () => {
    configError(
      { ...TOKEN, endpoint: 'http://api.push.apple.com' },
      /endpoint must be an https:\/\/ URL: http:\/\/ would send device tokens and credentials in cleartext/,
    );
    configError(
      { ...TOKEN, endpoint: 'http://push.internal:8080', allowInsecureLoopback: true },
      /endpoint must be an https:\/\/ URL/,
    );
    configError({ ...TOKEN, endpoint: 'http://127.0.0.1:8080' }, /allowInsecureLoopback: true/);
    const local = resolveApnsOptions({
      ...TOKEN,
      endpoint: 'http://127.0.0.1:8080',
      allowInsecureLoopback: true,
    });
    assert.equal(local.origin, 'http://127.0.0.1:8080');
  });

  it('defaults platforms to ios and concurrency to adaptive (no fixed value)', () => {
    const resolved = resolveApnsOptions(TOKEN);
    assert.deepEqual(resolved.platforms, ['ios']);
    assert.equal(resolved.concurrency, undefined);
    assert.equal(resolveApnsOptions({ ...TOKEN, concurrency: 250 }).concurrency, 250);
  });

  it('validates platforms and numbers', () => {
    configError({ ...TOKEN, platforms: [] }, /platforms must be a non-empty list/);
    configError({ ...TOKEN, platforms: ['ios', 'symbian'] }, /platforms/);
    configError({ ...TOKEN, connections: 0 }, /connections must be a positive integer/);
    configError({ ...TOKEN, concurrency: 1.5 }, /concurrency must be a positive integer/);
    configError({ ...TOKEN, timeoutMs: -1 }, /timeoutMs must be a positive integer/);
    configError({ ...TOKEN, app: '' }, /app must be a non-empty string/);
    configError({ ...TOKEN, proxy: 'not a url' }, /proxy is not a URL/);
  });
});

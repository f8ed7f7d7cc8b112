import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createCertificateAuthority, issueCertificate, toPkcs12 } from '../../../src/emulator/tls.js';
import { PushError } from '../../../src/errors.js';
import {
  expiryWarning,
  loadPemCertificate,
  loadPkcs12,
} from '../../../src/providers/apns/certificate-auth.js';

const DAY = 86_400_000;
const ca = createCertificateAuthority();
const notAfter = new Date(Math.floor((Date.now() + 200 * DAY) / 1000) * 1000);
const client = issueCertificate(ca, {
  commonName: 'Apple Push Services: com.ex.app',
  usage: 'client',
  subject: { UID: 'com.ex.app' },
  notAfter,
});
const other = issueCertificate(ca, { commonName: 'other', usage: 'client' });

function isConfig(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof PushError);
    assert.equal(e.code, 'config');
    assert.match(e.message, pattern);
    return true;
  };
}

describe('apns certificate auth: PEM', () => {
  it('reads the expiry and the bundle id (UID) of the certificate', () => {
    const material = loadPemCertificate(client.certPem, client.keyPem);
    assert.deepEqual(material.expiresAt, notAfter);
    assert.equal(material.topic, 'com.ex.app');
    assert.match(material.subject, /CN=Apple Push Services: com.ex.app/);
    assert.ok(new X509Certificate(material.cert).checkPrivateKey(createPrivateKey(material.key)));
  });

  it('refuses a key that belongs to another certificate', () => {
    assert.throws(
      () => loadPemCertificate(client.certPem, other.keyPem),
      isConfig(/key does not belong to cert/),
    );
  });

  it('opens an encrypted key with its passphrase, and says when the passphrase is missing or wrong', () => {
    const encrypted = createPrivateKey(client.keyPem)
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    assert.deepEqual(loadPemCertificate(client.certPem, encrypted, 'secret').expiresAt, notAfter);
    assert.throws(
      () => loadPemCertificate(client.certPem, encrypted),
      isConfig(/encrypted and no passphrase was given/),
    );
    assert.throws(
      () => loadPemCertificate(client.certPem, encrypted, 'nope'),
      isConfig(/the passphrase is wrong/),
    );
  });

  it('refuses something that is not a certificate', () => {
    assert.throws(
      () => loadPemCertificate(client.keyPem, client.keyPem),
      isConfig(
        /cert is not a PEM certificate; got a PEM '.*PRIVATE KEY' block|cert is not a PEM certificate/,
      ),
    );
  });
});

describe('apns certificate auth: PKCS#12', () => {
  it('opens a .p12 with its passphrase, picking the client certificate out of the chain', () => {
    const p12 = toPkcs12(client, 'pw', ca);
    const material = loadPkcs12(p12, 'pw');
    assert.deepEqual(material.expiresAt, notAfter);
    assert.equal(material.topic, 'com.ex.app');
    assert.equal(new X509Certificate(material.cert).subject, new X509Certificate(client.certPem).subject);
    assert.match(material.cert, /END CERTIFICATE-----\n-----BEGIN CERTIFICATE/, 'the CA follows as chain');
  });

  it('says when the passphrase is wrong', () => {
    assert.throws(
      () => loadPkcs12(toPkcs12(client, 'pw'), 'wrong'),
      isConfig(/passphrase does not open this .p12/),
    );
  });

  it('says when it is not a .p12', () => {
    assert.throws(() => loadPkcs12(Buffer.from('definitely not DER'), 'pw'), isConfig(/pfx/));
  });
});

describe('apns certificate auth: expiry warning', () => {
  const now = Date.UTC(2025, 0, 1);
  it('is silent 30 days or more before expiry', () => {
    assert.equal(expiryWarning(new Date(now + 31 * DAY), now), undefined);
    assert.equal(expiryWarning(new Date(now + 30 * DAY), now), undefined);
  });

  it('warns within 30 days, with the date and the days left', () => {
    const warning = expiryWarning(new Date(now + 12 * DAY + 3600_000), now);
    assert.match(warning ?? '', /expires on 2025-01-13T01:00:00.000Z \(in 12 days\)/);
  });
});

describe('apns certificate auth: node-forge', () => {
  it('is loaded only when a .p12 is opened, not by importing pushline', () => {
    // A child process: this file's own imports (the emulator's certificate tools) load it.
    const script = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('/node-forge/'));
      await import(${JSON.stringify(new URL('../../../src/index.ts', import.meta.url).href)});
      const afterImport = loaded();
      const { loadPkcs12 } = await import(${JSON.stringify(new URL('../../../src/providers/apns/certificate-auth.ts', import.meta.url).href)});
      try { loadPkcs12(Buffer.from('not a p12')); } catch {}
      console.log(JSON.stringify({ afterImport, afterP12: loaded() }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out), { afterImport: false, afterP12: true });
  });
});

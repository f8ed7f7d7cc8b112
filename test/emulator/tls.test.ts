/**
 * The emulator's throw-away certificates: serial numbers are positive and never start with a
 * zero byte (OpenSSL 3 refuses a certificate whose serial keeps a needless one), and the CA and
 * a server certificate load in a TLS context.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { createSecureContext } from 'node:tls';
import forge from 'node-forge';
import { createCertificateAuthority, issueCertificate, serialNumber } from '../../src/emulator/tls.js';

const withFirst =
  (...first: number[]) =>
  (size: number) => {
    const bytes = Buffer.alloc(size, 0x55);
    first.forEach((value, i) => {
      bytes[i] = value;
    });
    return bytes;
  };

test('serial numbers are positive and minimal whatever the random bytes', () => {
  for (const first of [0x00, 0x80, 0x01, 0x7f, 0xff]) {
    for (const second of [0x00, 0x7f, 0x80, 0xff]) {
      const hex = serialNumber(withFirst(first, second));
      assert.equal(hex.length, 32, 'sixteen bytes');
      const lead = Number.parseInt(hex.slice(0, 2), 16);
      assert.ok(lead >= 0x01 && lead <= 0x7f, `first byte ${lead.toString(16)} for ${first}, ${second}`);
    }
  }
});

/** A self-signed certificate with the given serial (hex), as the emulator's CA is made. */
function certificateWithSerial(serialHex: string): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = serialHex;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3600_000);
  cert.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  cert.setIssuer([{ name: 'commonName', value: '127.0.0.1' }]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

test('random bytes beginning 00 00 still make a certificate OpenSSL loads (the raw bytes do not)', () => {
  const worst = withFirst(0x00, 0x00);
  const made = certificateWithSerial(serialNumber(worst));
  assert.doesNotThrow(() => createSecureContext({ cert: made.certPem, key: made.keyPem }));
  // What the serial used to be for those bytes (0x00 & 0x7f): refused, as in the CI run that found it.
  const raw = certificateWithSerial(worst(16).toString('hex'));
  assert.throws(
    () => createSecureContext({ cert: raw.certPem, key: raw.keyPem }),
    /illegal padding|encoding/,
  );
});

test('the CA and a server certificate load in a TLS context', () => {
  const ca = createCertificateAuthority('test CA');
  const server = issueCertificate(ca, { commonName: '127.0.0.1', altNames: ['127.0.0.1'], usage: 'server' });
  assert.doesNotThrow(() =>
    createSecureContext({ cert: server.certPem, key: server.keyPem, ca: ca.certPem }),
  );
});

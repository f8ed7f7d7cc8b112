/**
 * Throw-away TLS material for the emulator: a CA made at start-up, a server certificate
 * for 127.0.0.1/localhost signed by it, and (for APNs certificate auth) client
 * certificates signed by it. Keys come from node:crypto (fast, native); node-forge only
 * assembles and signs the X.509 structures and PKCS#12 bundles. Nothing is written to disk.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface CertificateAuthority {
  /** PEM of the CA certificate: pass it as `ca` to a client to trust the emulator. */
  certPem: string;
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface IssueOptions {
  commonName: string;
  /** DNS names and IP addresses for a server certificate. */
  altNames?: string[];
  /** Extra subject attributes, e.g. `{ UID: 'com.example.app' }` as Apple's push certificates carry. */
  subject?: Record<string, string>;
  /** Validity, defaults to one year from now. */
  notBefore?: Date;
  notAfter?: Date;
  usage: 'server' | 'client';
}

function rsaKeyPair(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

/**
 * A certificate serial number as node-forge takes it (hex): positive and 16 bytes (RFC 5280
 * §4.1.2.2), with a first byte of 0x01–0x7f. forge drops one leading zero byte and writes the
 * rest as the INTEGER: random bytes starting 00 00 left a needless zero byte, which is not
 * minimal DER, and OpenSSL 3 refuses the certificate ("asn1 encoding routines::illegal
 * padding") — about once in 32,768 certificates, an emulator that failed to start in CI.
 */
export function serialNumber(random: (size: number) => Buffer = randomBytes): string {
  const bytes = random(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** Makes a new self-signed CA (RSA 2048, SHA-256, valid ten years). */
export function createCertificateAuthority(commonName = 'pushline emulator CA'): CertificateAuthority {
  const keys = rsaKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600_000);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privateKeyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privateKeyPem };
}

/** Issues a server or client certificate signed by `ca`. */
export function issueCertificate(ca: CertificateAuthority, options: IssueOptions): IssuedCertificate {
  const keys = rsaKeyPair();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(keys.publicKeyPem);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 365 * 24 * 3600_000);
  const subject: forge.pki.CertificateField[] = [{ name: 'commonName', value: options.commonName }];
  for (const [type, value] of Object.entries(options.subject ?? {})) {
    subject.push(type === 'UID' ? { type: '0.9.2342.19200300.100.1.1', value } : { name: type, value });
  }
  cert.setSubject(subject);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = (options.altNames ?? []).map((name) =>
    /^[\d.]+$/.test(name) || name.includes(':') ? { type: 7, ip: name } : { type: 2, value: name },
  );
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    options.usage === 'server'
      ? { name: 'extKeyUsage', serverAuth: true }
      : { name: 'extKeyUsage', clientAuth: true },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(cert),
    keyPem: keys.privateKeyPem,
    notAfter: cert.validity.notAfter,
  };
}

/** Bundles a certificate and its key as PKCS#12 (`.p12`), the way Keychain exports them. */
export function toPkcs12(issued: IssuedCertificate, passphrase: string, ca?: CertificateAuthority): Buffer {
  const chain = [forge.pki.certificateFromPem(issued.certPem)];
  if (ca) chain.push(forge.pki.certificateFromPem(ca.certPem));
  const asn1 = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(issued.keyPem), chain, passphrase, {
    algorithm: '3des',
  });
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

/** A CA plus a server certificate for the loopback addresses: everything a local TLS server needs. */
export interface ServerTls {
  ca: CertificateAuthority;
  server: IssuedCertificate;
}

/**
 * `name` goes into the CA's common name: CAs of different emulators must not share a subject,
 * or a CA bundle holding several makes OpenSSL check a certificate against the wrong key.
 */
export function createServerTls(
  name = 'pushline emulator',
  hosts: string[] = ['127.0.0.1', 'localhost', '::1'],
): ServerTls {
  const ca = createCertificateAuthority(`${name} CA ${randomBytes(4).toString('hex')}`);
  const server = issueCertificate(ca, {
    commonName: hosts[0] ?? 'localhost',
    altNames: hosts,
    usage: 'server',
  });
  return { ca, server };
}

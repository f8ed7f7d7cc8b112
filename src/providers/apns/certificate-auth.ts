/**
 * APNs certificate authentication: a TLS client certificate for one app (PROTOCOLS.md §1).
 * Loads a PEM pair or a `.p12`, checks that the key belongs to the certificate and that TLS
 * accepts them, and reads the expiry date so it can be surfaced before Apple starts refusing.
 *
 * A `.p12` is opened with node-forge and handed to TLS as PEM: Keychain exports often use
 * RC2/3DES, which OpenSSL 3 (Node ≥ 17) refuses without its legacy provider.
 */

import type { KeyObject } from 'node:crypto';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { createSecureContext } from 'node:tls';
import type forge from 'node-forge';
import { redactText } from '../../redact.js';
import { configError } from './errors.js';

/** A certificate pair ready for TLS. */
export interface CertificateMaterial {
  /** PEM: the client certificate first, then any chain certificates. */
  cert: string;
  /** PEM (PKCS#8, unencrypted: it only lives in memory). */
  key: string;
  expiresAt: Date;
  /** The certificate's subject, one `TYPE=value` per line. */
  subject: string;
  /** The bundle id in the subject's UID, as Apple's push certificates carry it. */
  topic?: string;
}

/** Warn this long before a certificate expires. */
export const EXPIRY_WARNING_MS = 30 * 24 * 3600_000;

/** Loads a PEM certificate and its PEM private key (encrypted keys need `passphrase`). */
export function loadPemCertificate(
  cert: string | Buffer,
  key: string | Buffer,
  passphrase?: string,
): CertificateMaterial {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (cause) {
    throw configError(
      `cert is not a PEM certificate (export the push certificate from Keychain as .pem, or pass the .p12 as pfx); got ${describePem(cert)}`,
      cause,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(passphrase === undefined ? { key } : { key, passphrase });
  } catch (cause) {
    const encrypted = String(key).includes('ENCRYPTED');
    throw configError(
      encrypted
        ? `the certificate's key is encrypted and ${passphrase === undefined ? 'no passphrase was given' : 'the passphrase is wrong'}: set passphrase`
        : `key is not a PEM private key for the certificate; got ${describePem(key)}`,
      cause,
    );
  }
  return finish(x509, privateKey, [String(cert)]);
}

/**
 * node-forge, loaded on the first `.p12`: it is ~2 MB of heap and ~10 MB of memory in all, which
 * every process importing pushline would otherwise carry for a format most never use.
 */
let forgeModule: typeof forge | undefined;
function loadForge(): typeof forge {
  forgeModule ??= createRequire(import.meta.url)('node-forge') as typeof forge;
  return forgeModule;
}

/** Loads a `.p12` (PKCS#12) bundle: the client certificate, its key and any chain. */
export function loadPkcs12(pfx: Buffer, passphrase = ''): CertificateMaterial {
  const forge = loadForge();
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(pfx.toString('binary')));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, passphrase);
  } catch (cause) {
    const wrongPassword = /MAC|password/i.test(String((cause as Error)?.message));
    throw configError(
      wrongPassword
        ? 'pfx: the passphrase does not open this .p12 (set passphrase to the export password)'
        : `pfx is not a PKCS#12 (.p12) file: ${redactText(String((cause as Error)?.message ?? cause))}`,
      cause,
    );
  }
  const keyBags = [...bagsOf(p12, 'pkcs8ShroudedKeyBag'), ...bagsOf(p12, 'keyBag')];
  const certBags = bagsOf(p12, 'certBag');
  const forgeKey = keyBags.find((bag) => bag.key !== undefined)?.key;
  if (forgeKey === undefined)
    throw configError('pfx holds no private key: export the certificate together with its key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(forge.pki.privateKeyToPem(forgeKey));
  } catch (cause) {
    throw configError('pfx: the private key inside cannot be read', cause);
  }
  const pems = certBags.flatMap((bag) =>
    bag.cert === undefined ? [] : [toUnixPem(forge.pki.certificateToPem(bag.cert))],
  );
  // The client certificate is the one whose public key matches the key; the rest is chain.
  const leafIndex = pems.findIndex((pem) => new X509Certificate(pem).checkPrivateKey(privateKey));
  if (leafIndex < 0) {
    throw configError(
      pems.length === 0 ? 'pfx holds no certificate' : 'pfx: no certificate in it matches its private key',
    );
  }
  const ordered = [pems[leafIndex] as string, ...pems.filter((_, i) => i !== leafIndex)];
  return finish(new X509Certificate(ordered[0] as string), privateKey, ordered);
}

function bagsOf(
  p12: forge.pkcs12.Pkcs12Pfx,
  type: 'pkcs8ShroudedKeyBag' | 'keyBag' | 'certBag',
): forge.pkcs12.Bag[] {
  const oid = loadForge().pki.oids[type] as string;
  return p12.getBags({ bagType: oid })[oid] ?? [];
}

/** The warning to give for a certificate expiring within 30 days, or undefined. */
export function expiryWarning(expiresAt: Date, nowMs: number): string | undefined {
  const left = expiresAt.getTime() - nowMs;
  if (left >= EXPIRY_WARNING_MS) return undefined;
  const days = Math.max(0, Math.floor(left / (24 * 3600_000)));
  return `apns: the push certificate expires on ${expiresAt.toISOString()} (in ${days} day${days === 1 ? '' : 's'}): renew it on Apple's developer site`;
}

function finish(x509: X509Certificate, privateKey: KeyObject, certPems: string[]): CertificateMaterial {
  if (!x509.checkPrivateKey(privateKey)) {
    throw configError(
      "key does not belong to cert (their public keys differ): pass the certificate's own key",
    );
  }
  const expiresAt = new Date(x509.validTo);
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = certPems.map(toUnixPem).join('');
  try {
    // What TLS will do with them at connect time, done now so a problem shows at apns().
    createSecureContext({ cert, key });
  } catch (cause) {
    throw configError(`TLS refuses this certificate and key: ${redactText((cause as Error).message)}`, cause);
  }
  const topic = /^UID=(.+)$/m.exec(x509.subject)?.[1];
  return { cert, key, expiresAt, subject: x509.subject, ...(topic === undefined ? {} : { topic }) };
}

/** forge writes CRLF; one PEM block per line group, each ending in a newline. */
function toUnixPem(pem: string): string {
  return `${pem.replace(/\r\n/g, '\n').trim()}\n`;
}

/** Says what kind of PEM (or not-PEM) a value is, without echoing any key material. */
export function describePem(value: string | Buffer): string {
  const text = Buffer.isBuffer(value) ? value.toString('latin1') : value;
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  if (label !== undefined) return `a PEM '${label}' block`;
  return Buffer.isBuffer(value) ? `${value.length} bytes of non-PEM data` : 'text that is not PEM';
}

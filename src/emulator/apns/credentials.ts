/**
 * Signing keys the emulator trusts, in the shape Apple hands them out: a 10-character key id,
 * the 10-character team id it belongs to, and the private key as a PKCS#8 PEM (the exact
 * content of an `AuthKey_<keyId>.p8` file). The emulator keeps the public half to verify JWTs.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomInt,
} from 'node:crypto';
import { PushError } from '../../errors.js';

/** Which APNs environment a key may be used in (Apple's keys may now be scoped to one). */
export type KeyEnvironment = 'sandbox' | 'production' | 'both';

/** A key as the caller may describe it; every field is generated when left out. */
export interface ApnsKeyOptions {
  /** 10 characters, as Apple shows it beside the key. */
  keyId?: string;
  /** 10 characters: the team that owns the key. */
  teamId?: string;
  /** PKCS#8 PEM of a P-256 private key (a `.p8` file's content). */
  key?: string;
  /**
   * Bundle ids this key may push to. Absent: a team-scoped key (any app of its team).
   * Present: a topic-specific key, usable only for these apps.
   */
  topics?: string[];
  /** Default `'both'`, like the keys Apple issued before environment-scoped ones. */
  environment?: KeyEnvironment;
}

/** A key the emulator trusts. */
export interface ApnsSigningKey {
  keyId: string;
  teamId: string;
  /** PKCS#8 PEM, what a `.p8` file holds. */
  privateKeyPem: string;
  publicKey: KeyObject;
  /** Undefined for a team-scoped key. */
  topics: readonly string[] | undefined;
  environment: KeyEnvironment;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A random 10-character identifier in Apple's format (upper-case letters and digits). */
export function appleIdentifier(): string {
  let id = '';
  for (let i = 0; i < 10; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** Builds (or adopts) a signing key. */
export function createSigningKey(options: ApnsKeyOptions = {}): ApnsSigningKey {
  let privateKeyPem = options.key;
  if (privateKeyPem === undefined) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }
  const privateKey = createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new PushError(
      'config',
      'an APNs signing key must be a P-256 (ES256) private key: give a .p8 key, or leave privateKey out to generate one',
    );
  }
  return {
    keyId: options.keyId ?? appleIdentifier(),
    teamId: options.teamId ?? appleIdentifier(),
    privateKeyPem,
    publicKey: createPublicKey(privateKey),
    topics: options.topics ? [...options.topics] : undefined,
    environment: options.environment ?? 'both',
  };
}

/**
 * Loading and checking a Google service-account key (the JSON file downloaded from the
 * Firebase console under Project settings → Service accounts). Every problem is reported
 * at `fcm()` time as a `config` PushError naming what is wrong and how to fix it, because a
 * bad key would otherwise fail every device of the send, one request at a time.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PushError } from '../../errors.js';

/** The fields of a service-account JSON file that pushline uses. */
export interface ServiceAccount {
  type?: string;
  project_id?: string;
  private_key_id?: string;
  /** PEM, PKCS#8 (`-----BEGIN PRIVATE KEY-----`), RSA. */
  private_key: string;
  client_email: string;
  /** Where access tokens are minted; defaults to `https://oauth2.googleapis.com/token`. */
  token_uri?: string;
  [field: string]: unknown;
}

/** A checked service account with its private key imported once. */
export interface LoadedServiceAccount {
  account: ServiceAccount;
  privateKey: KeyObject;
  tokenUri: string;
  /** Where the account came from, for error messages. */
  source: string;
}

export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

function configError(message: string, cause?: unknown): PushError {
  return new PushError('config', message, { provider: 'fcm', cause });
}

function readAccountFile(path: string, how: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw configError(
      `fcm: cannot read the service-account file ${JSON.stringify(path)} (${how}): ${code}. ` +
        'Download the key from Firebase console → Project settings → Service accounts, and pass its path or its parsed JSON as `serviceAccount`.',
      err,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw configError(
      `fcm: the service-account file ${JSON.stringify(path)} (${how}) is not valid JSON (${(err as Error).message}). ` +
        'Pass the unmodified JSON key file downloaded from the Firebase console.',
      err,
    );
  }
}

/**
 * Resolves `serviceAccount` (an object, a path, or absent → `GOOGLE_APPLICATION_CREDENTIALS`)
 * into a checked account with its key imported. Throws `config` PushErrors.
 */
export function loadServiceAccount(
  input: ServiceAccount | string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): LoadedServiceAccount {
  let raw: unknown;
  let source: string;
  if (typeof input === 'string') {
    source = input;
    raw = readAccountFile(input, 'the `serviceAccount` option');
  } else if (input !== undefined) {
    source = 'the `serviceAccount` option';
    raw = input;
  } else {
    const path = env['GOOGLE_APPLICATION_CREDENTIALS'];
    if (!path) {
      throw configError(
        'fcm: no service account. Pass `serviceAccount` (the parsed key JSON or its file path), ' +
          'or set GOOGLE_APPLICATION_CREDENTIALS to the key file path.',
      );
    }
    source = path;
    raw = readAccountFile(path, 'GOOGLE_APPLICATION_CREDENTIALS');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(
      `fcm: the service account from ${source} is not a JSON object. Pass the key JSON as downloaded.`,
    );
  }
  const account = raw as Partial<ServiceAccount>;
  if (account.type !== undefined && account.type !== 'service_account') {
    throw configError(
      `fcm: the credentials from ${source} are of type ${JSON.stringify(account.type)}, not "service_account". ` +
        'FCM HTTP v1 needs a service-account key (Firebase console → Project settings → Service accounts → Generate new private key).',
    );
  }
  for (const field of ['client_email', 'private_key'] as const) {
    if (typeof account[field] !== 'string' || account[field] === '') {
      throw configError(
        `fcm: the service account from ${source} has no \`${field}\`. ` +
          'Use the complete JSON key file downloaded from the Firebase console.',
      );
    }
  }
  const pem = account.private_key!;
  if (!pem.includes('-----BEGIN PRIVATE KEY-----')) {
    throw configError(
      `fcm: the \`private_key\` of the service account from ${source} is not a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). ` +
        'Use the key exactly as in the downloaded JSON (with its \\n line breaks); convert an RSA PKCS#1 key with `openssl pkcs8 -topk8 -nocrypt`.',
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw configError(
      `fcm: the \`private_key\` of the service account from ${source} cannot be read (${(err as Error).message}). ` +
        'Check that the line breaks survived (a PEM copied through an environment variable often loses them).',
      err,
    );
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw configError(
      `fcm: the \`private_key\` of the service account from ${source} is a ${privateKey.asymmetricKeyType} key; ` +
        'Google service accounts sign with RSA (RS256). Generate a new key in the Firebase console.',
    );
  }
  const tokenUri = account.token_uri ?? GOOGLE_TOKEN_URI;
  let url: URL;
  try {
    url = new URL(tokenUri);
  } catch (err) {
    throw configError(
      `fcm: the service account's \`token_uri\` ${JSON.stringify(tokenUri)} is not a URL.`,
      err,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(
      `fcm: the service account's \`token_uri\` ${JSON.stringify(tokenUri)} must be an https URL.`,
    );
  }
  return { account: account as ServiceAccount, privateKey, tokenUri, source };
}

/**
 * Loading and checking a Google service-account key (the JSON file downloaded from the
 * Firebase console under Project settings → Service accounts). Every problem is reported
 * at `fcm()` time as a `config` PushError naming what is wrong and how to fix it, because a
 * bad key would otherwise fail every device of the send, one request at a time.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cleartextProblem } from '../../https-only.js';
import { jsonSyntaxProblem, quoteValue, secretDescription } from '../../redact.js';
import { configError } from './errors.js';

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

/**
 * The JSON itself rather than a path: what a string starting with `{` is taken for, because
 * people (and firebase-admin's docs) do paste the key into GOOGLE_APPLICATION_CREDENTIALS.
 */
export function isInlineJson(value: string): boolean {
  return value.trimStart().startsWith('{');
}

/** Parses the key JSON; the message never quotes the text (V8's own message would). */
function parseAccount(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // No cause: the SyntaxError's message quotes the text around the error.
    throw configError(
      `${what} ${jsonSyntaxProblem(text, err).replace(/^it /, '')}. ` +
        'Pass the unmodified JSON key file downloaded from the Firebase console.',
    );
  }
}

/**
 * A string naming the service account: inline JSON is parsed, anything else is a file path.
 * A value that looks like key material but is neither is refused without being echoed.
 */
function readAccountString(value: string, how: string): { raw: unknown; source: string } {
  if (isInlineJson(value)) {
    const source = `the JSON given inline in ${how}`;
    return { raw: parseAccount(value, source), source };
  }
  const secret = secretDescription(value);
  if (secret !== undefined && !existsSync(value)) {
    throw configError(
      `${how} holds ${secret} (not shown), neither a file path nor the key JSON. ` +
        'Give the path of the JSON key file downloaded from the Firebase console, or the whole JSON.',
    );
  }
  const shown = quoteValue(value);
  let text: string;
  try {
    text = readFileSync(value, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw configError(
      `cannot read the service-account file ${shown} (${how}): ${code}. ` +
        'Download the key from Firebase console → Project settings → Service accounts, and pass its path or its parsed JSON as `serviceAccount`.',
      err,
    );
  }
  // A path that does not look secret: later messages name it as given.
  return { raw: parseAccount(text, `the service-account file ${shown} (${how})`), source: value };
}

/** Options of {@link loadServiceAccount}. */
export interface LoadServiceAccountOptions {
  /** Accept an `http://` `token_uri` on a loopback host (a local test server). Default false. */
  allowInsecureLoopback?: boolean;
}

/**
 * Resolves `serviceAccount` (an object, a path, the JSON text itself, or absent →
 * `GOOGLE_APPLICATION_CREDENTIALS`, a path or the JSON text) into a checked account with its
 * key imported. Throws `config` PushErrors, which never quote the key.
 */
export function loadServiceAccount(
  input: ServiceAccount | string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadServiceAccountOptions = {},
): LoadedServiceAccount {
  let raw: unknown;
  let source: string;
  if (typeof input === 'string') {
    ({ raw, source } = readAccountString(input, 'the `serviceAccount` option'));
  } else if (input !== undefined) {
    source = 'the `serviceAccount` option';
    raw = input;
  } else {
    const path = env['GOOGLE_APPLICATION_CREDENTIALS'];
    if (!path) {
      throw configError(
        'no service account. Pass `serviceAccount` (the parsed key JSON or its file path), ' +
          'or set GOOGLE_APPLICATION_CREDENTIALS to the key file path; ' +
          "on Google Cloud (Cloud Run, GKE, GCE) without a key, use credential: 'application-default'.",
      );
    }
    ({ raw, source } = readAccountString(path, 'GOOGLE_APPLICATION_CREDENTIALS'));
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configError(
      `the service account from ${source} is not a JSON object. Pass the key JSON as downloaded.`,
    );
  }
  const account = raw as Partial<ServiceAccount>;
  if (account.type !== undefined && account.type !== 'service_account') {
    throw configError(
      `the credentials from ${source} are of type ${quoteValue(account.type)}, not "service_account". ` +
        'Pass a service-account key (Firebase console → Project settings → Service accounts → Generate new private key), ' +
        "or use these credentials with credential: 'application-default'.",
    );
  }
  for (const field of ['client_email', 'private_key'] as const) {
    if (typeof account[field] !== 'string' || account[field] === '') {
      throw configError(
        `the service account from ${source} has no \`${field}\`. ` +
          'Use the complete JSON key file downloaded from the Firebase console.',
      );
    }
  }
  const pem = account.private_key!;
  if (!pem.includes('-----BEGIN PRIVATE KEY-----')) {
    throw configError(
      `the \`private_key\` of the service account from ${source} is not a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). ` +
        'Use the key exactly as in the downloaded JSON (with its \\n line breaks); convert an RSA PKCS#1 key with `openssl pkcs8 -topk8 -nocrypt`.',
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw configError(
      `the \`private_key\` of the service account from ${source} cannot be read (${(err as Error).message}). ` +
        'Check that the line breaks survived (a PEM copied through an environment variable often loses them).',
      err,
    );
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw configError(
      `the \`private_key\` of the service account from ${source} is a ${privateKey.asymmetricKeyType} key; ` +
        'Google service accounts sign with RSA (RS256). Generate a new key in the Firebase console.',
    );
  }
  const tokenUri = account.token_uri ?? GOOGLE_TOKEN_URI;
  let url: URL;
  try {
    url = new URL(tokenUri);
  } catch {
    throw configError(`the service account's \`token_uri\` ${quoteValue(tokenUri)} is not a URL.`);
  }
  // The assertion posted there is a bearer credential for the whole project.
  const cleartext = cleartextProblem(
    url,
    `the service account's \`token_uri\` (from ${source})`,
    options.allowInsecureLoopback === true,
  );
  if (cleartext !== undefined) throw configError(`${cleartext}`);
  return { account: account as ServiceAccount, privateKey, tokenUri, source };
}

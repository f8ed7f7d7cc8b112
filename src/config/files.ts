/**
 * Reading what the config names: the config file itself and the credential files its fields
 * point at (relative to the config file). A "path" that is really key material — people paste
 * the key where its path belongs — is refused without being echoed, and without the fs
 * error attached (its message would quote it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { jsonSyntaxProblem, secretDescription } from '../redact.js';
import { ConfigError } from './errors.js';

/** Where a value came from, for messages (`providers.apns.keyFile in 'pushline.json'`, `PUSHLINE_APNS_KEY_FILE`). */
export interface Origin {
  where: string;
  /** Directory that relative paths are relative to. */
  base: string;
}

/** Refuses a "path" that is really key material and names no file, without echoing it. */
export function refuseSecretPath(path: string, where: string, hint: string, full = path): void {
  const secret = secretDescription(path);
  if (secret === undefined || existsSync(full)) return;
  throw new ConfigError(`${where} holds ${secret} (not shown), not a file path: ${hint}`);
}

const DEFAULT_HINT = 'put it in a file and give the path';

/** The file named by `path` (relative to `origin.base`), as text, or as bytes when `binary`. */
export function readNamedFile(path: string, origin: Origin, hint?: string, binary?: false): string;
export function readNamedFile(path: string, origin: Origin, hint: string | undefined, binary: true): Buffer;
export function readNamedFile(
  path: string,
  origin: Origin,
  hint = DEFAULT_HINT,
  binary = false,
): string | Buffer {
  const full = resolve(origin.base, path);
  refuseSecretPath(path, origin.where, hint, full);
  try {
    return binary ? readFileSync(full) : readFileSync(full, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new ConfigError(
      `cannot read the file '${full}' named by ${origin.where} (${reason}): fix the path or the file's permissions`,
      { cause: error },
    );
  }
}

/**
 * The config file's JSON. `flag` is how its path was given (`--config`), for the messages;
 * `expected` sketches the top level (`{ "providers": { … } }`) for a file that is not an object.
 */
export function readConfigJson(path: string, flag: string, expected: string): Record<string, unknown> {
  refuseSecretPath(path, flag, 'give the path of the JSON config file');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      `cannot read the config file '${path}' (${code}): check the path given to ${flag} and its permissions`,
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `the config file '${path}' is malformed: ${jsonSyntaxProblem(text, error)}; see pushline send --help for its schema`,
    );
  }
  if (!isObject(parsed)) {
    throw new ConfigError(`the config file '${path}' must hold a JSON object: ${expected}`);
  }
  return parsed;
}

/** A JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

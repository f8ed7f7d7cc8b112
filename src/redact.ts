/**
 * Keeping secrets out of everything pushline prints: error messages, `--debug` stacks,
 * summaries. Every place that could echo an option, a variable or a config value goes
 * through here, so the rule lives in one file:
 *  - a value that looks like key material (a PEM block, a JSON credential, a long base64 or
 *    hex blob) is described, never shown, whichever field it came through — people do paste
 *    a key where a path or a variable name belongs;
 *  - a URL is shown with its password masked, in the userinfo and in query parameters
 *    (`?password=`, `sslpassword=`, `token=`…);
 *  - free text (a stack trace, a message of a library) can be scrubbed of all of the above.
 *
 * The heuristics err on the side of hiding: a path that happens to look like base64 is not
 * echoed either, which costs a less helpful message, never a leaked key.
 */

const PEM_LABEL = /-----BEGIN ([A-Z0-9 ]+)-----/;
/** Fields of a JSON credential whose presence makes the whole text secret. */
const JSON_SECRET_FIELD = /"(private_key|client_secret|refresh_token|password|secret)"\s*:/i;
const BASE64_TEXT = /^[A-Za-z0-9+/_-]+={0,2}$/;
const HEX_TEXT = /^[0-9a-fA-F]+$/;
/** Shorter than this, a blob is not taken for key material (a 128-bit key in base64 is 22). */
const MIN_KEY_CHARS = 32;
/** A run of base64 (or hex) characters long enough to be a key, inside other text. */
const BLOB_IN_TEXT = /[A-Za-z0-9+/_-]{32,}={0,2}/g;
/** Query parameters of a URL whose value is a secret. */
const SECRET_PARAM = /pass|pwd|secret|token|api[-_]?key|credential|signature/i;

/**
 * Describes `value` when it looks like key material, without any of its content, e.g.
 * `a PEM 'PRIVATE KEY' block`; undefined when it does not look secret.
 */
export function secretDescription(value: unknown): string | undefined {
  const text = Buffer.isBuffer(value) ? value.toString('latin1') : value;
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (trimmed.startsWith('{') && JSON_SECRET_FIELD.test(trimmed)) {
    return trimmed.includes('"private_key"')
      ? 'JSON text holding a private key'
      : 'JSON text holding credentials';
  }
  const label = PEM_LABEL.exec(text)?.[1];
  if (label !== undefined) return `a PEM '${label}' block`;
  if (text.includes('-----BEGIN')) return 'a PEM block';
  // Keys kept in variables often carry literal "\n" or real line breaks between base64 lines.
  const compact = trimmed.replace(/\\[nr]|\s+/g, '');
  if (looksLikeBlob(compact))
    return `${HEX_TEXT.test(compact) ? 'hex' : 'base64'} text of ${compact.length} characters`;
  // A key with a stray character, or glued to other text: any key-length run gives it away.
  for (const match of compact.matchAll(BLOB_IN_TEXT)) {
    if (looksLikeBlob(match[0]))
      return `text holding ${match[0].length} characters of what looks like base64 key material`;
  }
  return undefined;
}

/** True when `value` looks like key material (see {@link secretDescription}). */
export function looksSecret(value: unknown): boolean {
  return secretDescription(value) !== undefined;
}

function looksLikeBlob(text: string): boolean {
  if (text.length < MIN_KEY_CHARS) return false;
  if (HEX_TEXT.test(text)) return true;
  if (!BASE64_TEXT.test(text)) return false;
  // Random base64 of this length has all three classes; a word or a lowercase path has not.
  if (!/[A-Z]/.test(text) || !/[a-z]/.test(text) || !/[0-9]/.test(text)) return false;
  return !looksLikePath(text);
}

/**
 * A path made of words (`/tmp/pushline-x4Tq2b/AuthKey`): rooted or with several '/', and at
 * least a third of it in runs of 3+ lowercase letters. Random base64 is rarely both: with the
 * class test above, fewer than 0.3% of random 43-character base64 strings pass for harmless
 * (0.7% at 32, 3 in 100,000 at 184, none of the .p8 bodies tried: their DER prefix is fixed).
 */
function looksLikePath(text: string): boolean {
  const slashes = text.split('/').length - 1;
  if (slashes < 2 && !/^(\/|\.{1,2}\/|~\/)/.test(text)) return false;
  let wordy = 0;
  for (const match of text.matchAll(/[a-z]{3,}/g)) wordy += match[0].length;
  return wordy / text.length >= 0.35;
}

/**
 * A value ready to quote in a message: `"as given"` when harmless, its description with
 * "(not shown)" when it looks like key material, only its length when it is long.
 */
export function quoteValue(value: unknown, max = 200): string {
  const secret = secretDescription(value);
  if (secret !== undefined) return `${secret} (not shown)`;
  if (typeof value === 'string' && value.length > max) return `a string of ${value.length} characters`;
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    return JSON.stringify(maskUrl(value));
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return String(value);
    return json.length > max ? `a ${Array.isArray(value) ? 'list' : typeof value} too long to show` : json;
  } catch {
    return String(value);
  }
}

/** `value` itself when harmless (a URL with its password masked), else its description. */
export function shownValue(value: string): string {
  const secret = secretDescription(value);
  return secret === undefined ? maskUrl(value) : `${secret} (not shown)`;
}

/** True when the URL carries a password (userinfo or a secret query parameter). */
export function urlHasSecret(spec: string): boolean {
  return maskUrl(spec) !== spec;
}

/**
 * The URL with its password replaced by `***`: the userinfo's password and the value of
 * any query parameter named like a secret (`password`, `sslpassword`, `pass`, `token`…).
 * Text that is not a URL is masked by pattern the same way.
 */
export function maskUrl(spec: string): string {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return spec
      .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/\s]*):[^@/\s]*@/i, '$1:***@')
      .replace(/([?&][^=&#]*=)([^&#]*)/g, (whole, name: string, value: string) =>
        SECRET_PARAM.test(name) && value !== '' ? `${name}***` : whole,
      );
  }
  let changed = false;
  if (url.password !== '') {
    url.password = '***';
    changed = true;
  }
  for (const [name, value] of [...url.searchParams]) {
    if (value !== '' && (SECRET_PARAM.test(name) || looksSecret(value))) {
      url.searchParams.set(name, '***');
      changed = true;
    }
  }
  // Unchanged URLs are returned as given, not as URL re-serialised them.
  return changed ? url.toString() : spec;
}

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]*-----[\s\S]*?(?:-----END [A-Z0-9 ]*-----|$)/g;
const JSON_PRIVATE_KEY =
  /("(?:private_key|client_secret|refresh_token|password|secret)"\s*:\s*")(?:[^"\\]|\\.)*"/gi;
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`]+/gi;

/**
 * Free text with every secret-looking part replaced: PEM blocks, JSON credential fields,
 * URL passwords, long base64/hex blobs. For text pushline did not write itself (a stack
 * trace, a cause's message) before it is printed.
 */
export function redactText(text: string): string {
  return text
    .replace(PEM_BLOCK, '[PEM block not shown]')
    .replace(JSON_PRIVATE_KEY, '$1[not shown]"')
    .replace(URL_IN_TEXT, (url) => maskUrl(url))
    .replace(BLOB_IN_TEXT, (blob) => (looksLikeBlob(blob) ? `[${blob.length} characters not shown]` : blob));
}

/**
 * Why `JSON.parse` refused `text`, as a line and column only: V8's own message quotes the
 * text around the error, and that text can be a private key.
 */
export function jsonSyntaxProblem(text: string, error: unknown): string {
  const message = String((error as Error)?.message);
  const position = /position (\d+)/.exec(message)?.[1];
  if (position === undefined) {
    return /end of (JSON )?input/i.test(message)
      ? 'it is not valid JSON (it ends too soon)'
      : 'it is not valid JSON';
  }
  const before = text.slice(0, Number(position));
  const line = before.split('\n').length;
  const column = Number(position) - before.lastIndexOf('\n');
  return `it is not valid JSON (syntax error at line ${line}, column ${column})`;
}

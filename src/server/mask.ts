/**
 * Tokens and keys in the server's logs: never whole. The server's own log lines hold counts,
 * ids and API key *ids*; these paths catch what a route or a plugin might log by mistake
 * (a device, a header) and mask it before pino writes the line.
 */

/** Log fields masked wherever they appear (one or two levels deep). */
export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'token',
  'tokens',
  '*.token',
  '*.tokens',
  '*.*.token',
  'device.token',
  'apiKey.hash',
];

/**
 * A token shown only by its ends: `abcd…wxyz` (at most 8 characters of it), and nothing of one
 * shorter than 20 characters. Enough to match a log line with a device row, not to use it.
 */
export function maskToken(token: string): string {
  if (token.length < 20) return '*'.repeat(Math.min(token.length, 8));
  return `${token.slice(0, 4)}…${token.slice(-4)}`;
}

/** pino's `redact.censor`: masks strings, a list of them, and a Web Push subscription's endpoint. */
export function logCensor(value: unknown): unknown {
  if (typeof value === 'string') return maskToken(value);
  if (Array.isArray(value)) return value.map((item) => logCensor(item));
  if (value !== null && typeof value === 'object') {
    const endpoint = (value as { endpoint?: unknown }).endpoint;
    return typeof endpoint === 'string' ? { endpoint: maskToken(endpoint) } : '[redacted]';
  }
  return value;
}

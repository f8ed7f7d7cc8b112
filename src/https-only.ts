/**
 * Provider endpoints and token URIs carry device tokens and bearer credentials: they are
 * `https://`, always, except a server on this machine (a loopback address) that the caller
 * explicitly allows to speak cleartext with `allowInsecureLoopback: true` (an h2c test
 * server). The emulators speak TLS and need no exception.
 */
import { isIPv4 } from 'node:net';

/** `localhost` (and `*.localhost`, RFC 6761), 127.0.0.0/8 and ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/**
 * Why `url` (given as `option`) may not carry credentials, or undefined when it may: it must
 * be `https:`, or `http:` to a loopback host with `allowInsecureLoopback` set.
 */
export function cleartextProblem(
  url: URL,
  option: string,
  allowInsecureLoopback: boolean,
): string | undefined {
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:') {
    return `${option} must be an https:// URL; got a ${url.protocol.replace(/:$/, '')}: URL`;
  }
  if (!isLoopbackHost(url.hostname)) {
    return `${option} must be an https:// URL: http:// would send device tokens and credentials in cleartext to ${url.host}`;
  }
  if (!allowInsecureLoopback) {
    return `${option} is http:// (cleartext): use https://, or set allowInsecureLoopback: true to allow cleartext to a local test server on ${url.host}`;
  }
  return undefined;
}

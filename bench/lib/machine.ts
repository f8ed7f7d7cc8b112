/** Machine and version facts for the report header. */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

function version(pkg: string): string {
  try {
    const url = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export function machine(): Record<string, string> {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    cpu: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GB`,
    os: `${process.platform} ${process.arch}`,
    node: process.version,
    openssl: process.versions.openssl ?? 'unknown',
    nghttp2: process.versions.nghttp2 ?? 'unknown',
    pushline: pushlineVersion(),
    '@parse/node-apn': version('@parse/node-apn'),
    apns2: version('apns2'),
    undici: version('undici'),
    'web-push': version('web-push'),
  };
}

function pushlineVersion(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

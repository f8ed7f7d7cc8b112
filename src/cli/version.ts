/**
 * pushline's version, from its package.json: `../../package.json` from both src/cli (tsx) and
 * dist/cli (the published bin), so it is the version that was installed, not a copy.
 */
import { readFileSync } from 'node:fs';

export function pushlineVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

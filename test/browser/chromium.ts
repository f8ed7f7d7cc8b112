/**
 * Debian's Chromium for the browser tests, driven by playwright-core (which downloads nothing:
 * it is pointed at the installed executable). `PUSHLINE_CHROMIUM` names it (`.ci/services.sh`
 * installs the `chromium` package and exports it); otherwise the usual Debian paths are tried.
 * Without one the tests skip with a loud message (never a silent pass).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/usr/bin/chromium-browser'];

/** The executable, or undefined after printing why the browser tests cannot run. */
export function chromiumPath(): string | undefined {
  const given = process.env.PUSHLINE_CHROMIUM;
  const found =
    given !== undefined && given !== ''
      ? existsSync(given)
        ? given
        : undefined
      : CANDIDATES.find(existsSync);
  if (found === undefined) {
    const message = `BROWSER TESTS SKIPPED: no Chromium found (${given ? `PUSHLINE_CHROMIUM=${given} does not exist` : `tried ${CANDIDATES.join(', ')}`}; apt-get install chromium, or run .ci/services.sh); the dashboard and inbox are NOT tested in a browser here`;
    process.stderr.write(`\n${'!'.repeat(100)}\n${message}\n${'!'.repeat(100)}\n\n`);
  }
  return found;
}

/** Headless Chromium. `--no-sandbox`: CI runs as root, where Chromium's sandbox refuses to start. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'], timeout: 30_000 });
}

/** Where screenshots go (gitignored): `test-artifacts/`, or `PUSHLINE_TEST_ARTIFACTS`. */
export function artifactsDir(): string {
  const dir = process.env.PUSHLINE_TEST_ARTIFACTS ?? join(process.cwd(), 'test-artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}

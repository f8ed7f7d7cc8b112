/**
 * `pushline vapid`: a new VAPID key pair for Web Push, as `web-push generate-vapid-keys`
 * makes one — printed as the environment lines the config reads, or as JSON.
 */
import type { Command } from 'commander';
import { WEBPUSH_SECTION } from '../config/providers.js';
import { generateVapidKeys } from '../providers/webpush/index.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';

export interface VapidFlags {
  json?: boolean;
}

// The names the config schema reads, so the printed lines always match what `--config` expects.
const PUBLIC_ENV = WEBPUSH_SECTION.fields.publicKey.env!;
const PRIVATE_ENV = WEBPUSH_SECTION.fields.privateKey.env!;

/** Prints a fresh key pair on stdout (where it is meant to go: a file or a secret store). */
export function runVapid(flags: VapidFlags, io: CliIO): ExitCode {
  const keys = generateVapidKeys();
  if (flags.json) {
    io.stdout.write(`${JSON.stringify({ publicKey: keys.publicKey, privateKey: keys.privateKey })}\n`);
  } else {
    io.stdout.write(`${PUBLIC_ENV}=${keys.publicKey}\n${PRIVATE_ENV}=${keys.privateKey}\n`);
  }
  return EXIT.ok;
}

/** Adds `pushline vapid` to the program (one line in program.ts). */
export function addVapidCommand(program: Command, io: CliIO, finish: (code: ExitCode) => void): void {
  program
    .command('vapid')
    .description('generate a VAPID key pair for Web Push (like web-push generate-vapid-keys)')
    .option('--json', 'print {"publicKey": …, "privateKey": …} instead of environment lines')
    .addHelpText(
      'after',
      `
Prints, by default, lines for an env file:
  ${PUBLIC_ENV}=B…   (base64url, 65 bytes: give it to the web page as applicationServerKey)
  ${PRIVATE_ENV}=…   (base64url, 32 bytes: a secret — keep it out of logs and version control)
Example: pushline vapid >> .env && chmod 600 .env
Keep the pair: subscriptions made with the public key only accept pushes signed by its private key.`,
    )
    .action((flags: VapidFlags) => finish(runVapid(flags, io)));
}

/**
 * Turning whatever ended a command into one message and an exit code. No stack trace unless
 * `--debug`: a person needs the problem and the fix, not our call stack.
 */
import { CommanderError } from 'commander';
import { PushError } from '../errors.js';
import { redactText } from '../redact.js';
import { StoreError } from '../stores/errors.js';
import { inCliTerms } from './cli-terms.js';
import type { DeliverResult, FailureGroup } from './deliver.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { sanitize } from './sanitize.js';

/** The message and exit code for an error that ended a command. */
export function classify(error: unknown): { message: string; exitCode: ExitCode } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof StoreError) {
    const text = inCliTerms(error.message);
    if (missingPackage(error)) return { message: text, exitCode: EXIT.config };
    if (loginRefused(error)) return { message: loginRefusedMessage(text), exitCode: EXIT.config };
    switch (error.code) {
      case 'store-config':
        return {
          message: `the device source does not fit: ${text}`,
          exitCode: EXIT.data,
        };
      case 'store-read':
        return {
          message: `the device source failed: ${text}. Every device read before it has its feedback; fix the source and run again`,
          exitCode: EXIT.io,
        };
      case 'store-write':
        return { message: `applying the feedback failed: ${text}`, exitCode: EXIT.io };
    }
  }
  if (error instanceof PushError) {
    const exitCode = error.code === 'config' || error.code === 'auth' ? EXIT.config : EXIT.software;
    return { message: error.message, exitCode };
  }
  if (error instanceof CommanderError) return { message: error.message, exitCode: EXIT.usage };
  const message = error instanceof Error ? error.message : String(error);
  return {
    message: `internal error: ${message} (run again with --debug for the stack trace, and please report it)`,
    exitCode: EXIT.software,
  };
}

/**
 * A store that could not load its driver (an optional peer dependency that is not installed):
 * the install is the fix, so it is a configuration error (78), like `serve` without fastify.
 */
export function missingPackage(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return error instanceof StoreError && (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND');
}

/**
 * The database refused us at connect: SQLSTATE class 28 (a wrong password, a user it does not
 * know, pg_hba.conf) or 3D000 (no such database). The spec is wrong, not the network: it is a
 * configuration error (78), not "I/O mid-run" (74). Looked for along the cause chain, as the
 * stores wrap pg's error.
 */
export function loginRefused(error: unknown): boolean {
  for (let at = error, depth = 0; at instanceof Error && depth < 5; depth++) {
    const code = (at as { code?: unknown }).code;
    if (typeof code === 'string' && (/^28[0-9A-Z]{3}$/.test(code) || code === '3D000')) return true;
    at = (at as { cause?: unknown }).cause;
  }
  return false;
}

/** The line for {@link loginRefused}: where the user, password and database are set. */
export const loginRefusedMessage = (text: string): string =>
  `the database refused the connection: ${text}: check the user, password and database name in --devices (or in the variable --devices-env names, PGPASSWORD, ~/.pgpass)`;

/**
 * Writes the one-line error (and the stack with --debug) to stderr; returns the exit code.
 * Everything written is scrubbed of key material and URL passwords first: our own messages
 * never hold any, but a cause's message (a library's, the OS's) may quote what it was given.
 */
export function reportError(error: unknown, stderr: NodeJS.WritableStream, debug: boolean): ExitCode {
  const { message, exitCode } = classify(error);
  // Scrubbed of key material (a cause may quote what it was given), then escaped: messages
  // quote servers, databases and files, and must not drive the terminal.
  stderr.write(`pushline: error: ${sanitize(redactText(message))}\n`);
  if (debug && error instanceof Error && error.stack) {
    stderr.write(`${sanitize(redactText(error.stack), { keepNewlines: true })}\n`);
    let cause = (error as { cause?: unknown }).cause;
    while (cause instanceof Error) {
      stderr.write(
        `caused by: ${sanitize(redactText(cause.stack ?? cause.message), { keepNewlines: true })}\n`,
      );
      cause = (cause as { cause?: unknown }).cause;
    }
  }
  return exitCode;
}

/**
 * The line for a provider whose lane was stopped (exit 78): `auth` is our credentials,
 * `config` our options. Only such errors stop a lane, so this never blames the operator for
 * what a device or a push service did.
 */
export function providerStopMessage(error: PushError): string {
  const fix =
    error.code === 'auth'
      ? 'check its credentials in --config or the environment'
      : 'check its options in --config or the environment';
  return `${error.provider ?? 'a provider'} stopped: ${error.message} (${fix})`;
}

/** Longest example message quoted per group. */
const MAX_EXAMPLE = 240;

/**
 * The line for a run that finished with failed devices but no stopped lane (exit 1): how many,
 * where and why, and that the credentials are not what failed — so nobody rotates a key
 * because one subscription's push service said 403.
 */
export function partialFailureMessage(groups: readonly FailureGroup[]): string | undefined {
  const total = groups.reduce((sum, group) => sum + group.count, 0);
  if (total === 0) return undefined;
  const parts = groups.slice(0, 3).map((group) => {
    const example =
      group.example.length > MAX_EXAMPLE ? `${group.example.slice(0, MAX_EXAMPLE)}…` : group.example;
    return `${group.provider} ${group.code} × ${group.count} (e.g. ${example})`;
  });
  if (groups.length > 3) parts.push(`and ${groups.length - 3} more kinds (see --out)`);
  return `${total} device${total === 1 ? '' : 's'} failed, each for its own reason: no provider was stopped, so your credentials are not at fault; ${parts.join('; ')}`;
}

/** One failure line of a run and the exit code it stands for. */
export interface RunFailure {
  message: string;
  exitCode: ExitCode;
}

/**
 * What went wrong in a `send`/`subscribe` run, each reported once, in this order — the source,
 * the feedback sink, `--out`, a provider stopped by our own credentials or configuration — and
 * the exit code: the first failure's, else `partial` when devices failed, `interrupted` when a
 * signal stopped the run, `ok` otherwise. `stopMessage` words the provider-stop line.
 */
export function runVerdict(
  result: DeliverResult,
  stopMessage: (error: PushError) => string = providerStopMessage,
): { failures: RunFailure[]; exitCode: ExitCode } {
  const failures: RunFailure[] = [];
  if (result.sourceError !== undefined) failures.push(classify(result.sourceError));
  if (result.sinkError !== undefined) failures.push(classify(result.sinkError));
  if (result.outError !== undefined) {
    failures.push({
      message: `writing --out failed: ${(result.outError as Error).message}`,
      exitCode: EXIT.io,
    });
  }
  if (result.providerConfigError) {
    failures.push({ message: stopMessage(result.providerConfigError), exitCode: EXIT.config });
  }
  let exitCode: ExitCode = failures[0]?.exitCode ?? (result.summary.failed > 0 ? EXIT.partial : EXIT.ok);
  if (result.interrupted && failures.length === 0) exitCode = EXIT.interrupted;
  return { failures, exitCode };
}

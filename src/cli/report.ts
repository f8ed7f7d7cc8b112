/**
 * Turning whatever ended a command into one message and an exit code. No stack trace unless
 * `--debug`: a person needs the problem and the fix, not our call stack.
 */
import { CommanderError } from 'commander';
import { PushError } from '../errors.js';
import { redactText } from '../redact.js';
import { StoreError } from '../stores/errors.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { sanitize } from './sanitize.js';

/** The message and exit code for an error that ended a command. */
export function classify(error: unknown): { message: string; exitCode: ExitCode } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  if (error instanceof StoreError) {
    switch (error.code) {
      case 'store-config':
        return {
          message: `the device source does not fit: ${error.message}`,
          exitCode: EXIT.data,
        };
      case 'store-read':
        return {
          message: `the device source failed: ${error.message}. Every device read before it has its feedback; fix the source and run again`,
          exitCode: EXIT.io,
        };
      case 'store-write':
        return { message: `applying the feedback failed: ${error.message}`, exitCode: EXIT.io };
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

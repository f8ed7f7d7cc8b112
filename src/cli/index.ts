/**
 * The `pushline` command, as a function: `main()` wires the real process (streams, signals,
 * exit code); `run()` takes its arguments and streams, for tests and embedding.
 */
import { EXIT } from './exit-codes.js';
import { applyHeapPolicy } from './heap-policy.js';
import type { CliIO } from './io.js';
import { run } from './program.js';

export { EXIT, type ExitCode } from './exit-codes.js';
export type { CliIO } from './io.js';
export { run } from './program.js';

/** How long a finished command may linger on others' timers before it exits anyway. */
const LINGER_MS = 2000;

/**
 * Runs `pushline` in this process with `process.argv`, and sets `process.exitCode`. The first
 * SIGINT/SIGTERM stops reading devices and lets those in flight finish (within `send
 * --grace-period`); the second aborts them (each still gets its `aborted` line); a third
 * exits at once, for a process that is stuck.
 */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  applyHeapPolicy();
  const stop = new AbortController();
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) stop.abort(`received ${signal}`);
    else if (signals === 2) abort.abort(`received ${signal} again`);
    else process.exit(EXIT.interrupted);
  };
  // `pushline … | head` closes the pipe early: that is the reader's choice, not an error.
  const onPipeError = (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw error;
  };
  process.stdout.on('error', onPipeError);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
    signal: stop.signal,
    abortSignal: abort.signal,
  };
  try {
    const code = await run(argv, io);
    process.exitCode = code;
    // The command is done and has said so. Whatever still holds the event loop now is a library's
    // timer that its own close could not stop (BullMQ's, when Redis vanished during a worker's
    // shutdown): do not let it keep a finished process alive.
    setTimeout(() => process.exit(code), LINGER_MS).unref();
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

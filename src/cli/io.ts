/** What a command reads and writes, passed in so tests and the real process share one path. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress bar) or not (plain lines). */
  stderrIsTTY: boolean;
  /**
   * Aborted on the first SIGINT/SIGTERM: stop reading devices and let those in flight finish
   * (a send), or stop (the emulators).
   */
  signal: AbortSignal;
  /** Aborted on the second SIGINT/SIGTERM: abort what is still in flight. */
  abortSignal?: AbortSignal;
}

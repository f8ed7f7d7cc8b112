/**
 * The exit codes of `pushline`, from BSD's sysexits.h where one fits, so scripts and
 * schedulers can tell "some devices failed" from "fix your config" from "fix your command".
 */
export const EXIT = {
  /** Every device was sent (validated, in a dry run), or answered as a dead token (dead tokens are routine, not failures). */
  ok: 0,
  /**
   * The run finished but some devices failed (rate limited after retries, bad request, no
   * provider, a subscription whose push service refused it or has an untrusted certificate…):
   * failures that concern those devices, not our credentials.
   */
  partial: 1,
  /** EX_USAGE: the command line is wrong (unknown option, bad value, unknown source scheme); one line naming the --help to read. */
  usage: 64,
  /** EX_DATAERR: the input does not fit (a query without a token column, a malformed notification file). */
  data: 65,
  /** EX_NOINPUT: a file named on the command line does not exist or cannot be read. */
  noInput: 66,
  /** EX_SOFTWARE: a bug in pushline. */
  software: 70,
  /** EX_IOERR: a store failed mid-run (the database went away, --out cannot be written). */
  io: 74,
  /**
   * EX_CONFIG: configuration or credentials are missing, malformed or unreadable, the database
   * refuses the login, an optional package (a store's driver, the server's) is not installed, or a provider's
   * lane was stopped because it refused them (for Web Push: two independent well-known push
   * services refusing our VAPID key; one push service's refusal is a partial failure, 1).
   */
  config: 78,
  /** Interrupted by SIGINT/SIGTERM (128 + SIGINT); every device read still got its feedback line. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit codes as --help shows them. */
export const EXIT_CODES_HELP = `Exit codes:
  0    every device was sent (in a dry run: validated) or reported as a dead token
       (dead tokens are routine: they are counted, written to --out and removed
       with --apply-feedback)
  1    partial failure: the run finished but some devices failed (see the summary),
       each for its own reason (e.g. one push service refusing a subscription)
  64   usage error: unknown option, bad value, unknown source scheme, missing --query
  65   data error: the query returns no token/platform column, bad notification file
  66   a file named on the command line is missing or unreadable (--devices,
       --notification, --resume, --config)
  70   internal error (a bug: please report it, with --debug output)
  74   I/O error mid-run: the device source or the feedback store went away
  78   configuration error: config file malformed or unreadable, credentials missing
       or unreadable, the database refusing the login, an optional package not
       installed (the error names the npm install), or a provider stopped because it
       refused the credentials
  130  interrupted (SIGINT/SIGTERM); devices already read still got their feedback`;

/**
 * An error that ends the command with one clear message and an exit code. Its message names
 * the problem and the fix, and never holds a credential.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

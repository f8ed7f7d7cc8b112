/**
 * The one error the config layer throws. Its message names the field (its dotted path, the
 * file, or the variable), never a value: secrets are described, not quoted. `pushline send`
 * turns it into exit code 78; the server refuses to start with it.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The dotted path of the field at fault (`providers.apns.topc`), when there is one. */
  readonly path: string | undefined;

  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
  }
}

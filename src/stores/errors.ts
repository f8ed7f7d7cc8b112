/**
 * The error the stores throw: a source that cannot be read, a sink that cannot write. Kept
 * apart from PushError on purpose: PushError describes what a provider said about a device,
 * StoreError describes the caller's own database or file.
 */

/** Stable codes: branch on these, never on `message`. */
export type StoreErrorCode =
  /** Wrong options or a query/table that does not fit (missing column, unknown scheme). */
  | 'store-config'
  /** Reading devices failed (the file or the database went away mid-read). */
  | 'store-read'
  /** A feedback sink could not apply a batch, after its retries. */
  | 'store-write';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

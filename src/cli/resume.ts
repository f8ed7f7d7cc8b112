/**
 * `pushline send --resume FILE`: a re-run after an interruption (or a crash) skips the
 * devices an earlier run's `--out` file already records as done, so they are not sent twice.
 *
 * Which lines count as done:
 * - `sent` and `invalid-token`: the provider answered; sending again would repeat a push or
 *   a dead-token report.
 * - `failed` with a failure that would repeat for the same device and notification
 *   (`bad-request`, `payload-too-large`, `invalid-device`).
 * - `failed` whose request may have been delivered (`maybeDelivered`): skipped by default
 *   (a second copy on a phone is the worse mistake), sent again with `--resend-uncertain`.
 * Every other failure (aborted, rate-limited, unavailable, timeout, a provider stopped by
 * `auth`/`config`, `no-provider`, `internal`) is sent again: nothing reached the user.
 *
 * Memory: the file is read line by line, and each done device is kept as an 8-byte digest
 * of its key (SHA-256, first 64 bits) in one sorted BigUint64Array: 8 bytes a device once
 * read (80 MB for 10 million), at most three times that while the array grows. A Set of key
 * strings would cost ~70-100 bytes a device. The price of a digest is a false match: a
 * device not yet done is taken for a done one with odds of about n / 2^64 per device
 * (5 in a million for a whole 10-million-device run), and skipped.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { CliError, EXIT } from './exit-codes.js';

/** What a line of an earlier run means for this one. */
export type LineVerdict = 'done' | 'uncertain' | 'again';

/** Failures that repeat for the same device and notification: sending again would only fail again. */
const REPEATS = new Set(['bad-request', 'payload-too-large', 'invalid-device']);

/** The verdict for one parsed `--out` line (see the file comment). */
export function verdict(line: unknown): LineVerdict {
  if (typeof line !== 'object' || line === null) return 'again';
  const { status, error, maybeDelivered } = line as {
    status?: unknown;
    error?: { code?: unknown; maybeDelivered?: unknown };
    maybeDelivered?: unknown;
  };
  if (status === 'sent' || status === 'invalid-token') return 'done';
  if (status !== 'failed') return 'again';
  if (maybeDelivered === true || error?.maybeDelivered === true) return 'uncertain';
  if (typeof error?.code === 'string' && REPEATS.has(error.code)) return 'done';
  return 'again';
}

const scalar = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  // A bigint row id is written to --out as its digits: String() gives the same text.
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return value.toISOString();
  return undefined;
};

/**
 * The key that names a device across runs: its `keyColumn` (default `id`) when it has one,
 * else its platform and token (a web subscription by its endpoint). Undefined for a device
 * with neither (a malformed input line): such a device is never taken as done.
 */
export function deviceKey(device: unknown, keyColumn = 'id'): string | undefined {
  if (typeof device !== 'object' || device === null) return undefined;
  const record = device as Record<string, unknown>;
  const key = scalar(record[keyColumn]);
  if (key !== undefined) return `k\u0000${key}`;
  const platform = scalar(record.platform);
  const token = record.token;
  const tokenText =
    scalar(token) ??
    (typeof token === 'object' && token !== null
      ? scalar((token as { endpoint?: unknown }).endpoint)
      : undefined);
  if (platform === undefined || tokenText === undefined) return undefined;
  return `t\u0000${platform}\u0000${tokenText}`;
}

const digest = (key: string): bigint => createHash('sha256').update(key).digest().readBigUInt64BE(0);

/** The devices an earlier run finished, as sorted 64-bit digests of their keys. */
export class DoneSet {
  private digests = new BigUint64Array(1024);
  private length = 0;
  private sealed = false;

  add(key: string): void {
    // An invariant of this module (the resume reader seals the set before lookups), not input a user controls.
    if (this.sealed) throw new Error('DoneSet: add() after seal()');
    if (this.length === this.digests.length) {
      const grown = new BigUint64Array(this.digests.length * 2);
      grown.set(this.digests);
      this.digests = grown;
    }
    this.digests[this.length++] = digest(key);
  }

  /** Sorts (and drops duplicates and the spare room); call once, before `has`. */
  seal(): this {
    const sorted = this.digests.subarray(0, this.length).sort();
    let unique = 0;
    for (let i = 0; i < sorted.length; i++) {
      if (i === 0 || sorted[i] !== sorted[unique - 1]) sorted[unique++] = sorted[i]!;
    }
    this.digests = sorted.slice(0, unique);
    this.length = unique;
    this.sealed = true;
    return this;
  }

  /** Distinct devices recorded as done. */
  get size(): number {
    return this.length;
  }

  has(key: string): boolean {
    const wanted = digest(key);
    let low = 0;
    let high = this.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.digests[middle]!;
      if (value === wanted) return true;
      if (value < wanted) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

export interface ResumeState {
  file: string;
  done: DoneSet;
  /** Lines whose device is taken as done (uncertain ones included unless resent). */
  doneLines: number;
  /** Lines whose request may have been delivered, by how they are treated. */
  uncertain: number;
  /** Lines whose device is sent again. */
  again: number;
  /** Lines that are not feedback (a line cut short by a crash, say): their devices are sent again. */
  unreadable: number;
  /** Whether the file ends with a newline (a crash may leave a partial last line). */
  endsWithNewline: boolean;
}

export interface ResumeOptions {
  keyColumn?: string;
  /** Send again the devices whose earlier request may have been delivered. */
  resendUncertain?: boolean;
}

/** Reads an earlier run's `--out` file into the set of devices this run skips. */
export async function readResume(file: string, options: ResumeOptions = {}): Promise<ResumeState> {
  const state: ResumeState = {
    file,
    done: new DoneSet(),
    doneLines: 0,
    uncertain: 0,
    again: 0,
    unreadable: 0,
    endsWithNewline: true,
  };
  const stream = createReadStream(file, { encoding: 'utf8' });
  let lastChar = '\n';
  stream.on('data', (chunk) => {
    if (chunk.length > 0) lastChar = chunk.at(-1) as string;
  });
  try {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const text of lines) {
      if (text.trim() === '') continue;
      let line: { device?: unknown };
      try {
        line = JSON.parse(text);
      } catch {
        state.unreadable++;
        continue;
      }
      const key = deviceKey(line?.device, options.keyColumn);
      let kind = verdict(line);
      if (kind === 'uncertain') {
        state.uncertain++;
        if (options.resendUncertain) kind = 'again';
      }
      if (kind === 'again' || key === undefined) {
        state.again++;
        continue;
      }
      state.doneLines++;
      state.done.add(key);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(
      `cannot read --resume '${file}' (${code}): give the --out file of the run to resume`,
      EXIT.noInput,
      { cause: error },
    );
  }
  state.endsWithNewline = lastChar === '\n';
  state.done.seal();
  return state;
}

/** The devices of `source` that `done` does not hold; `skipped` counts the others. */
export async function* skipDone<D>(
  source: AsyncIterable<D>,
  done: DoneSet,
  keyColumn: string | undefined,
  counts: { skipped: number },
): AsyncGenerator<D> {
  for await (const device of source) {
    const key = deviceKey(device, keyColumn);
    if (key !== undefined && done.has(key)) {
      counts.skipped++;
      continue;
    }
    yield device;
  }
}

/**
 * Limits on one device row, checked where rows enter (the sources). A row comes from a
 * stranger's database or file: one nested 8,000 levels deep cannot be written back as JSON
 * (JSON.stringify recurses and overflows the stack), and one of 50 MB is not a device. Such a
 * row becomes one `invalid-device` feedback naming the limit, and the send goes on.
 *
 * The defaults are far above any honest row: a Web Push subscription row is about 300
 * characters and 3 levels deep.
 */
import { StoreError } from './errors.js';

/** Limits on a single row. */
export interface RowLimits {
  /** Deepest nesting of objects and arrays; the row itself is level 1. Default 64. */
  maxDepth?: number;
  /**
   * Largest row, in characters of its text: an NDJSON line's length, or for a database or CSV
   * row the length of its strings and keys (a number counts 8, a binary value its bytes).
   * Default 65,536 (64 Ki).
   */
  maxSize?: number;
}

/** The `limits` option every device source takes. */
export interface RowLimitOptions {
  /** Limits on one row; a row over them becomes one `invalid-device` feedback. */
  limits?: RowLimits;
}

export const DEFAULT_ROW_LIMITS: Readonly<Required<RowLimits>> = { maxDepth: 64, maxSize: 64 * 1024 };

/** The limits with defaults filled in; a `store-config` StoreError for a value that is not a whole number ≥ 1. */
export function rowLimits(limits: RowLimits | undefined, what: string): Required<RowLimits> {
  const resolved = { ...DEFAULT_ROW_LIMITS, ...limits };
  for (const name of ['maxDepth', 'maxSize'] as const) {
    const value = resolved[name];
    if (!(Number.isInteger(value) && value >= 1) && value !== Number.POSITIVE_INFINITY) {
      throw new StoreError(
        'store-config',
        `${what}: limits.${name} must be a whole number ≥ 1, got ${JSON.stringify(value)}`,
      );
    }
  }
  return resolved;
}

/** The walk's answer for a row nested deeper than the limit. */
const TOO_DEEP = Number.NEGATIVE_INFINITY;

/**
 * What is wrong with a row, or undefined when it is within the limits. One walk over the row,
 * which stops as soon as a limit is passed: its recursion is bounded by `maxDepth`, so a hostile
 * row cannot overflow the stack here, and a cyclic object is reported as too deep.
 */
export function rowProblem(row: object, limits: Required<RowLimits>): string | undefined {
  const left = remaining(row, 1, limits.maxDepth, limits.maxSize);
  if (left === TOO_DEEP) return `nested deeper than ${limits.maxDepth} levels (limits.maxDepth)`;
  if (left < 0) return `larger than ${limits.maxSize} characters (limits.maxSize)`;
  return undefined;
}

/**
 * The size budget left after an object or array: negative when over it, TOO_DEEP when nested
 * too deep. Written for the common row (a few strings and numbers): one `for…in` with the
 * scalar cases inline, recursing only into nested values; about 5 times cheaper than a walk
 * that recurses into every value.
 */
function remaining(value: object, depth: number, maxDepth: number, budget: number): number {
  if (depth > maxDepth) return TOO_DEEP;
  budget -= 2;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      budget = afterValue(value[i], depth, maxDepth, budget - 1);
      if (budget < 0) return budget;
    }
    return budget;
  }
  for (const key in value) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field === 'string') budget -= key.length + field.length + 6;
    else budget = afterValue(field, depth, maxDepth, budget - key.length - 4);
    if (budget < 0) return budget;
  }
  return budget;
}

function afterValue(value: unknown, depth: number, maxDepth: number, budget: number): number {
  switch (typeof value) {
    case 'string':
      return budget - value.length - 2;
    case 'object':
      if (value === null) return budget - 4;
      if (ArrayBuffer.isView(value)) return budget - value.byteLength;
      if (value instanceof Date) return budget - 26;
      return remaining(value, depth + 1, maxDepth, budget);
    case 'undefined':
    case 'function':
    case 'symbol':
      return budget; // JSON leaves them out
    default:
      return budget - 8; // number, bigint, boolean
  }
}

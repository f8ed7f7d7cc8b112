/**
 * The one `Retry-After` parser (RFC 9110 §10.2.3), used wherever pushline reads one: the APNs,
 * FCM and Web Push providers and the webhook sink (Huawei documents none). A service's header is
 * untrusted input, so the rules are strict and written down:
 *
 * - **delta-seconds** (`1*DIGIT`, e.g. `120`): that many seconds. Leading zeros are allowed;
 *   nothing else is: `-5`, `+5`, `1.5`, `1e3`, `0x10`, `5s` are garbage, not a number.
 * - **HTTP-date** in its three forms (RFC 9110 §5.6.7, which recipients must all accept):
 *   IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`
 *   (a two-digit year more than 50 years ahead is the century before) and asctime
 *   `Sun Nov  6 08:49:37 1994` (always GMT). Day and month names are matched without regard to
 *   case; the weekday is not checked against the date; a date that does not exist (30 Feb) is
 *   garbage. Only GMT: `+0100` or an ISO 8601 date is garbage. The wait is the time from now to
 *   that date; a date already past means "now" (0).
 * - **Garbage, empty or absent**: `undefined`, as if there were no header (the caller's own
 *   backoff applies). Never 0: a value that means nothing must not mean "retry at once".
 * - **Huge**: a wait beyond {@link MAX_RETRY_AFTER_MS} (a day) is read as that day: no push
 *   service asks for longer, and it keeps the number finite (`99…9` would be `Infinity`).
 *   The engine gives up on a device whose wait would pass its own total-delay budget.
 * - Optional white space around the value is ignored. With several values (a repeated
 *   header, which a singleton field should not be) the first one counts.
 *
 * `Date.parse` is not used: it takes many forms that are not HTTP-dates (`-5`, `1 2`, `soon 5`
 * are dates to V8) and reads asctime in the machine's local time zone.
 */

/** The longest wait a `Retry-After` is read as: one day, in ms. */
export const MAX_RETRY_AFTER_MS = 24 * 3600_000;

const DELTA_SECONDS = /^\d+$/;

/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = /^([a-z]{3}), (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
/** RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC_850 = /^([a-z]{6,9}), (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
/** asctime: `Sun Nov  6 08:49:37 1994` (the day padded with a space, or two digits). */
const ASCTIME = /^([a-z]{3}) ([a-z]{3}) ( \d|\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const LONG_DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * A `Retry-After` header value as the wait it asks for, in milliseconds (0 to
 * {@link MAX_RETRY_AFTER_MS}), or `undefined` when absent or unreadable. See the module's
 * comment for the rules.
 *
 * @param value the header as Node gives it (`headers['retry-after']`)
 * @param nowMs the current time, for an HTTP-date
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const raw = typeof value === 'string' ? value : value?.[0];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS.test(text)) {
    // Longer digit strings than a day's worth are capped before any arithmetic.
    const seconds = text.length > 9 ? Number.POSITIVE_INFINITY : Number(text);
    return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
  }
  const at = parseHttpDate(text, nowMs);
  if (at === undefined) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

/** An HTTP-date (any of its three forms) as ms since the epoch, or undefined. */
export function parseHttpDate(text: string, nowMs: number = Date.now()): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m !== null) {
    if (!DAY_NAMES.includes(m[1]!.toLowerCase())) return undefined;
    return utc(Number(m[4]), m[3]!, m[2]!, m[5]!, m[6]!, m[7]!);
  }
  m = RFC_850.exec(text);
  if (m !== null) {
    if (!LONG_DAY_NAMES.includes(m[1]!.toLowerCase())) return undefined;
    return utc(fullYear(Number(m[4]), nowMs), m[3]!, m[2]!, m[5]!, m[6]!, m[7]!);
  }
  m = ASCTIME.exec(text);
  if (m !== null) {
    if (!DAY_NAMES.includes(m[1]!.toLowerCase())) return undefined;
    return utc(Number(m[7]), m[2]!, m[3]!.trim(), m[4]!, m[5]!, m[6]!);
  }
  return undefined;
}

/**
 * RFC 9110 §5.6.7: a two-digit year that "appears to be more than 50 years in the future" is
 * "the most recent year in the past that had the same last two digits".
 */
function fullYear(twoDigits: number, nowMs: number): number {
  const thisYear = new Date(nowMs).getUTCFullYear();
  let year = thisYear - (thisYear % 100) + twoDigits;
  if (year > thisYear + 50) year -= 100;
  return year;
}

/** The instant, or undefined for a date or time that does not exist (30 Feb, 25:00). */
function utc(
  year: number,
  monthName: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const month = MONTHS.indexOf(monthName.toLowerCase());
  const d = Number(day);
  const h = Number(hour);
  const min = Number(minute);
  // 60 is a leap second (RFC 5322 allows it); it is read as the next minute's first.
  const s = Number(second);
  if (month < 0 || h > 23 || min > 59 || s > 60 || d < 1) return undefined;
  // Date.UTC would roll 30 Feb over into March, and read a year below 100 as 19xx.
  const date = new Date(0);
  date.setUTCFullYear(year, month, d);
  if (date.getUTCMonth() !== month || date.getUTCDate() !== d) return undefined;
  return date.setUTCHours(h, min, s);
}

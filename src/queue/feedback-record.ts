/**
 * From the library's `Feedback` to the seam's plain-data {@link FeedbackRecord}, and back from
 * a recorded line. A record is exactly what `feedbackLine` writes, parsed: the error as
 * `PushError.toJSON()`, a BigInt row id as digits, an unwritable device as its placeholder.
 * Every dispatcher records feedback through these, so a record read back from a spool file, a
 * Redis list or a live loop is the same object.
 */
import type { Feedback } from '../feedback.js';
import { feedbackLine } from '../stores/ndjson-writer.js';
import type { FeedbackRecord } from './dispatch.js';

/** The record of one feedback: `feedbackLine(feedback)` parsed. */
export function feedbackRecord(feedback: Feedback): FeedbackRecord {
  return parseFeedbackLine(feedbackLine(feedback));
}

/** One recorded line (with or without its newline) back to a record. */
export function parseFeedbackLine(line: string): FeedbackRecord {
  return JSON.parse(line) as FeedbackRecord;
}

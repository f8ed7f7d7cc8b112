import type { Feedback, FeedbackStatus } from '../feedback.js';

/** Counts for one provider inside a {@link Summary}. */
export interface ProviderCounts {
  sent: number;
  /** Checked and not delivered: a dry run's successes. */
  validated: number;
  invalidToken: number;
  failed: number;
}

/** A live view of a delivery: read it at any time; it is final once `done` resolves. */
export interface Summary {
  /** Devices with a final feedback so far. */
  total: number;
  sent: number;
  /** Checked and not delivered: a dry run's successes (FCM `validateOnly` too). Never counted in `sent`. */
  validated: number;
  invalidToken: number;
  failed: number;
  /** Final failures by PushError code (`invalid-token` included). */
  errors: Record<string, number>;
  /** Final outcomes per provider name (`Provider.name`: one entry per app's provider; `none` for no provider). */
  providers: Record<string, ProviderCounts>;
  /** Requests made again after a retryable failure. */
  retries: number;
  /**
   * Devices not sent (failed, aborted, invalid token) whose push may nevertheless have been
   * delivered: an attempt reached the provider without an answer (`Feedback.maybeDelivered`).
   */
  maybeDelivered: number;
  /** Devices sent after an attempt that may have been delivered too: possible duplicates (`Feedback.maybeDuplicate`). */
  maybeDuplicates: number;
  startedAt: Date;
  /** Milliseconds since the start, or the whole run's length once finished. */
  durationMs: number;
  /** Final feedbacks per second over `durationMs`. */
  perSecond: number;
  finished: boolean;
}

const STATUS_KEY: Record<FeedbackStatus, keyof ProviderCounts> = {
  sent: 'sent',
  validated: 'validated',
  'invalid-token': 'invalidToken',
  failed: 'failed',
};

/** Accumulates a {@link Summary}; the engine owns one per delivery. */
export class SummaryCounter {
  total = 0;
  sent = 0;
  validated = 0;
  invalidToken = 0;
  failed = 0;
  retries = 0;
  maybeDelivered = 0;
  maybeDuplicates = 0;
  private readonly errors: Record<string, number> = {};
  private readonly providers: Record<string, ProviderCounts> = {};
  private readonly started = Date.now();
  private ended: number | undefined;

  count(feedback: Feedback): void {
    this.total++;
    const key = STATUS_KEY[feedback.status];
    this[key]++;
    if (feedback.error) this.errors[feedback.error.code] = (this.errors[feedback.error.code] ?? 0) + 1;
    if (feedback.maybeDelivered) this.maybeDelivered++;
    if (feedback.maybeDuplicate) this.maybeDuplicates++;
    const name = feedback.provider ?? 'none';
    let counts = this.providers[name];
    if (!counts) {
      counts = { sent: 0, validated: 0, invalidToken: 0, failed: 0 };
      this.providers[name] = counts;
    }
    counts[key]++;
  }

  finish(): void {
    this.ended ??= Date.now();
  }

  snapshot(): Summary {
    const durationMs = (this.ended ?? Date.now()) - this.started;
    return {
      total: this.total,
      sent: this.sent,
      validated: this.validated,
      invalidToken: this.invalidToken,
      failed: this.failed,
      errors: { ...this.errors },
      providers: structuredClone(this.providers),
      retries: this.retries,
      maybeDelivered: this.maybeDelivered,
      maybeDuplicates: this.maybeDuplicates,
      startedAt: new Date(this.started),
      durationMs,
      perSecond: durationMs > 0 ? Math.round((this.total * 1000) / durationMs) : 0,
      finished: this.ended !== undefined,
    };
  }
}

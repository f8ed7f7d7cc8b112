/**
 * Feedback sinks (`stores/`) seen as {@link FeedbackObserver}s, so what runs sends can apply
 * an app's dead tokens to its database (the SQLite and PostgreSQL sinks, unchanged) and post
 * its feedback to its webhook. Observers see every send of the process; {@link forApp} keeps
 * an app's sinks to that app's sends.
 *
 * A sink's failure never reaches the send: it is reported through `onError`. A database sink
 * that could not apply a batch after its retries refuses everything after (by design, for a
 * one-shot CLI run); a server lives longer than one outage, so the observer then closes it and
 * opens a fresh one from its factory: the outage costs the batches it hit, not the rest of
 * the process's life.
 */
import type { Feedback } from '../feedback.js';
import { StoreError } from '../stores/errors.js';
import type { FeedbackSink } from '../stores/feedback-sink.js';
import type { FeedbackObserver, SendSpec } from './dispatch.js';

export interface SinkObserverOptions {
  /** Called for each failure (a batch not applied, a feedback refused); the observer goes on. */
  onError?: (error: unknown) => void;
  /** After a failed reopen, the wait before the next try (feedback meanwhile is dropped, counted). Default 5,000 ms. */
  reopenDelayMs?: number;
}

/** A dead-token sink as an observer: see {@link sinkObserver}. */
export interface SinkObserver extends FeedbackObserver {
  /** Checks the sink's table now (`FeedbackSink.ready`), so a wrong config stops the server at start. */
  ready(): Promise<void>;
  /** Failures reported so far. */
  readonly failures: number;
  /** `invalid-token` feedback dropped while no sink could be opened. */
  readonly dropped: number;
  /** The sink in use (undefined while it cannot be reopened). */
  readonly sink: FeedbackSink | undefined;
}

/**
 * Applies the `invalid-token` feedback of every observed send to a database sink. `open` is
 * called now (a throw is a config error: it propagates) and again after the sink fails for
 * good. A sink instance instead of a factory works too, without the reopening.
 */
export function sinkObserver(
  open: (() => FeedbackSink) | FeedbackSink,
  options: SinkObserverOptions = {},
): SinkObserver {
  const factory = typeof open === 'function' ? open : undefined;
  let sink: FeedbackSink | undefined = typeof open === 'function' ? open() : open;
  let failures = 0;
  let dropped = 0;
  let reopenAt = 0;
  const reopenDelayMs = options.reopenDelayMs ?? 5000;

  const report = (error: unknown) => {
    failures++;
    try {
      options.onError?.(error);
    } catch {
      // The caller's reporting failed; the observer goes on.
    }
  };

  const failed = (broken: FeedbackSink, error: unknown) => {
    report(error);
    // `store-config` for one feedback (its device lacks the key field) leaves the sink usable.
    if (error instanceof StoreError && error.code === 'store-config') return;
    if (sink !== broken) return; // Another write already replaced it.
    sink = undefined;
    // Its failure was just reported; closing releases its connection.
    broken.close().catch(() => {});
    if (factory) reopenAt = 0;
  };

  const current = (): FeedbackSink | undefined => {
    if (sink || !factory || Date.now() < reopenAt) return sink;
    try {
      sink = factory();
    } catch (error) {
      reopenAt = Date.now() + reopenDelayMs;
      report(error);
    }
    return sink;
  };

  return {
    get failures() {
      return failures;
    },
    get dropped() {
      return dropped;
    },
    get sink() {
      return sink;
    },
    observe(_send: SendSpec, feedback: Feedback): void | Promise<void> {
      // The database sinks act on dead tokens only: everything else costs nothing here.
      if (feedback.status !== 'invalid-token') return;
      const target = current();
      if (!target) {
        dropped++;
        return;
      }
      return target.write(feedback).catch((error) => failed(target, error));
    },
    async flush(): Promise<void> {
      const target = sink;
      if (target) await target.flush().catch((error) => failed(target, error));
    },
    async close(): Promise<void> {
      const target = sink;
      sink = undefined;
      reopenAt = Number.POSITIVE_INFINITY;
      if (target) await target.close().catch(report);
    },
    async ready(): Promise<void> {
      await sink?.ready?.();
    },
  };
}

/**
 * The webhook sink (or any observer) limited to one app's sends: the dispatcher's observers
 * see every send, an app's webhook and database only its own.
 */
export function forApp(app: string, observer: FeedbackObserver): FeedbackObserver {
  return {
    observe: (send, feedback) => (send.app === app ? observer.observe(send, feedback) : undefined),
    flush: observer.flush && (() => observer.flush!()),
    close: observer.close && (() => observer.close!()),
  };
}

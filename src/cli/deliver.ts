/**
 * The feedback loop shared by `send` and `demo`: every feedback is written to `--out` first
 * (so every device read gets its line, whatever fails later), then handed to the sink. When
 * the sink or the output fails, reading stops (the delivery is aborted) but the loop goes on
 * draining, so the devices already handed in still get their lines.
 *
 * An interrupt is two-stage. The first stops reading and lets the devices in flight finish
 * (`delivery.stop()`): a request already on its way gets its real answer instead of an
 * `aborted` line that cannot say whether it was delivered. The grace period bounds that
 * wait; when it runs out, or at the second interrupt, the rest is aborted.
 */
import type { PushClient } from '../client.js';
import type { Device } from '../device.js';
import type { Delivery } from '../engine/delivery.js';
import type { Summary } from '../engine/summary.js';
import type { PushError } from '../errors.js';
import type { Notification } from '../notification.js';
import type { FeedbackSink } from '../stores/feedback-sink.js';
import type { NdjsonFeedbackWriter } from '../stores/ndjson-writer.js';
import { formatCount } from './format.js';
import { Progress } from './progress.js';

export interface DeliverOptions {
  client: PushClient;
  notification: Notification;
  devices: AsyncIterable<Device>;
  out?: NdjsonFeedbackWriter;
  sink?: FeedbackSink;
  /** Shown on stderr while the send runs, unless undefined. */
  progress?: {
    stream: NodeJS.WritableStream;
    tty: boolean;
    total?: Promise<number | undefined>;
    lineMs?: number;
  };
  /** The first interrupt: read no more devices, let those in flight finish. */
  signal?: AbortSignal;
  /** The second interrupt: abort what is still in flight. */
  abortSignal?: AbortSignal;
  /** How long the devices in flight get after the first interrupt before they are aborted. Default 5 s. */
  graceMs?: number;
  /** Where the interrupt notices go (stderr), and whether it is a terminal (a progress bar to clear). */
  notices?: { stream: NodeJS.WritableStream; tty: boolean };
  dryRun?: boolean;
  /** Starts something else than a send of `notification` over the devices (`pushline subscribe`). */
  start?: (devices: AsyncIterable<Device>) => Delivery<Device>;
}

/** The default grace period: under `docker stop`'s 10 s, so the abort lines are written before a SIGKILL. */
export const DEFAULT_GRACE_MS = 5000;

export interface DeliverResult {
  summary: Summary;
  /** The device source failed (after the devices it gave had their feedback). */
  sourceError?: unknown;
  /** The sink could not apply a batch; applying stopped there. */
  sinkError?: unknown;
  /** `--out` could not be written. */
  outError?: unknown;
  /**
   * The first `auth` / `config` error a provider reported: it stopped that provider's lane
   * (only such errors stop a lane, so this is set exactly when a lane was stopped by our own
   * credentials or configuration).
   */
  providerConfigError?: PushError;
  /**
   * Failures that stopped nothing (a subscription's push service refused it, a bad request,
   * retries used up…), by provider and code, most frequent first, each with its first message.
   */
  failedBy: FailureGroup[];
  /** What the sink applied (after its final flush). */
  applied?: { removed: number; marked: number };
  /** Dead tokens seen, by device platform. */
  deadByPlatform: Record<string, number>;
  /** The send was interrupted by the signal. */
  interrupted: boolean;
}

/** Devices that failed with one code at one provider, and what the first of them said. */
export interface FailureGroup {
  provider: string;
  code: string;
  count: number;
  example: string;
}

export async function deliver(options: DeliverOptions): Promise<DeliverResult> {
  const delivery = options.start
    ? options.start(options.devices)
    : options.client.send(options.notification, options.devices, {
        ...(options.dryRun ? { dryRun: true } : {}),
      });
  const interrupts = handleInterrupts(delivery, options);
  let progress: Progress | undefined;
  if (options.progress) {
    progress = new Progress(() => delivery.summary, {
      stream: options.progress.stream,
      tty: options.progress.tty,
      ...(options.progress.lineMs !== undefined ? { lineMs: options.progress.lineMs } : {}),
    });
    progress.start();
    void options.progress.total?.then((total) => progress?.setTotal(total));
  }
  const result: Omit<DeliverResult, 'summary'> = { deadByPlatform: {}, interrupted: false, failedBy: [] };
  const groups = new Map<string, FailureGroup>();
  const { out, sink } = options;
  let writeOut = out !== undefined;
  let applying = sink !== undefined;
  try {
    for await (const feedback of delivery) {
      if (writeOut) {
        try {
          await out!.write(feedback);
        } catch (error) {
          result.outError = error;
          writeOut = false;
          delivery.abort('the feedback output failed');
        }
      }
      if (feedback.status === 'invalid-token') {
        const platform = String(feedback.device?.platform);
        result.deadByPlatform[platform] = (result.deadByPlatform[platform] ?? 0) + 1;
      } else if (feedback.error?.stopsLane) {
        result.providerConfigError ??= feedback.error;
      } else if (feedback.status === 'failed' && feedback.error !== undefined) {
        const provider = feedback.provider ?? feedback.error.provider ?? 'no provider';
        const key = `${provider}\0${feedback.error.code}`;
        const group = groups.get(key);
        if (group) group.count++;
        else
          groups.set(key, { provider, code: feedback.error.code, count: 1, example: feedback.error.message });
      }
      if (applying) {
        try {
          await sink!.write(feedback);
        } catch (error) {
          result.sinkError = error;
          applying = false;
          delivery.abort('applying the feedback failed');
        }
      }
    }
  } catch (error) {
    result.sourceError = error;
  } finally {
    interrupts.dispose();
    progress?.stop();
  }
  if (sink) {
    try {
      // Flushes what was taken in, unless the sink has already failed (then it rethrows that).
      await sink.close();
    } catch (error) {
      result.sinkError ??= error;
    }
    result.applied = { removed: sink.removed, marked: sink.marked };
  }
  if (out) {
    try {
      await out.close();
    } catch (error) {
      result.outError ??= error;
    }
  }
  result.interrupted = options.signal?.aborted === true;
  result.failedBy = [...groups.values()].sort((a, b) => b.count - a.count);
  return { summary: delivery.summary, ...result };
}

/** Wires the two interrupt signals to `stop()` and `abort()`; `dispose()` unwires them. */
function handleInterrupts(delivery: Delivery, options: DeliverOptions): { dispose(): void } {
  const { signal, abortSignal } = options;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const notices = options.notices;
  // On a terminal the progress bar is redrawn in place: clear it so the notice stands alone.
  const notice = (text: string) =>
    notices?.stream.write(`${notices.tty ? '\r\x1b[K' : ''}pushline: ${text}\n`);
  let grace: NodeJS.Timeout | undefined;
  const onStop = () => {
    const held = delivery.stop();
    if (held > 0) {
      notice(
        `stopping: no more devices are read; finishing the ${formatCount(held)} in flight (up to ${graceMs / 1000} s); interrupt again to abort them`,
      );
    }
    // Armed even with nothing held: a read still under way may yet hand in a device.
    grace = setTimeout(() => {
      const left = delivery.stop();
      if (left > 0)
        notice(
          `the ${graceMs / 1000} s grace period is over: aborting the ${formatCount(left)} still in flight`,
        );
      delivery.abort(`the ${graceMs / 1000} s grace period after the interrupt ran out`);
    }, graceMs);
  };
  const onAbort = () => {
    const left = delivery.stop();
    if (left > 0) notice(`aborting the ${formatCount(left)} still in flight (each is reported as aborted)`);
    delivery.abort('interrupted twice');
  };
  if (abortSignal?.aborted) onAbort();
  else if (signal?.aborted) onStop();
  signal?.addEventListener('abort', onStop, { once: true });
  abortSignal?.addEventListener('abort', onAbort, { once: true });
  return {
    dispose() {
      clearTimeout(grace);
      signal?.removeEventListener('abort', onStop);
      abortSignal?.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * The feedback loop shared by `send` and `demo`: every feedback is written to `--out` first
 * (so every device read gets its line, whatever fails later), then handed to the sink. When
 * the sink or the output fails, reading stops (the delivery is aborted) but the loop goes on
 * draining, so the devices already handed in still get their lines.
 */
import type { PushClient } from '../client.js';
import type { Device } from '../device.js';
import type { Summary } from '../engine/summary.js';
import type { PushError } from '../errors.js';
import type { Notification } from '../notification.js';
import type { FeedbackSink } from '../stores/feedback-sink.js';
import type { NdjsonFeedbackWriter } from '../stores/ndjson-writer.js';
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
  signal?: AbortSignal;
  dryRun?: boolean;
}

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
  const delivery = options.client.send(options.notification, options.devices, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
  });
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

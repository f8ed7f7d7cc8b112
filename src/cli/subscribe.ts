/**
 * `pushline subscribe` / `pushline unsubscribe`: every device of a source subscribed to (or
 * unsubscribed from) an FCM topic, streamed like `pushline send` (the same device sources,
 * `--out` feedback, `--apply-feedback` for the tokens FCM does not know, progress and
 * interrupts), through `client.subscribe` / `client.unsubscribe`.
 */
import { PushClient } from '../client.js';
import { type Emulator, startEmulator } from '../emulator/index.js';
import type { Provider, TopicOperation } from '../provider.js';
import { redactText } from '../redact.js';
import type { FeedbackSink } from '../stores/feedback-sink.js';
import { type NdjsonFeedbackWriter, ndjsonFeedbackWriter } from '../stores/ndjson-writer.js';
import { closeClient } from './close-client.js';
import { loadSendConfig } from './config.js';
import { deliver } from './deliver.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { formatCount } from './format.js';
import type { CliIO } from './io.js';
import { redrawsInPlace } from './progress.js';
import { providersForEmulator, providersFromConfig } from './providers.js';
import { runVerdict } from './report.js';
import { sanitize } from './sanitize.js';
import { checkSinkFits } from './sink-check.js';
import {
  countDevices,
  devicesSpec,
  openSink,
  openSource,
  redactUrl,
  type SinkFlags,
  type SourceFlags,
  sourceKind,
} from './source.js';
import { untilStopped } from './stop-reading.js';
import { summaryJson, summaryTable } from './summary-table.js';

export interface SubscribeFlags extends SinkFlags, Omit<SourceFlags, 'devices'> {
  topic?: string;
  devices?: string;
  devicesEnv?: string;
  config?: string;
  emulator?: boolean;
  applyFeedback?: boolean;
  out?: string;
  json?: boolean;
  window?: string;
  progress?: boolean;
}

export async function runSubscribe(
  operation: TopicOperation,
  given: SubscribeFlags,
  io: CliIO,
): Promise<ExitCode> {
  if (!given.topic) throw new CliError(`pushline ${operation} needs --topic <name>`, EXIT.usage);
  const flags = { ...given, devices: devicesSpec(given, io.env, io.stderr) };
  if (flags.emulator && flags.config) {
    throw new CliError('--emulator and --config do not mix: --emulator uses a built-in emulator', EXIT.usage);
  }
  if (!flags.applyFeedback && (flags.table || flags.markColumn)) {
    throw new CliError('--table and --mark-column apply with --apply-feedback only', EXIT.usage);
  }
  const window = flags.window === undefined ? undefined : Number(flags.window);
  if (window !== undefined && !(Number.isInteger(window) && window >= 1)) {
    throw new CliError(`--window must be a whole number ≥ 1, got '${sanitize(flags.window!)}'`, EXIT.usage);
  }
  const sourceFlags: SourceFlags = { ...flags, devices: flags.devices };

  let emulator: Emulator | undefined;
  let providers: Provider[];
  if (flags.emulator) {
    emulator = await startEmulator({ apns: { record: false } });
    providers = providersForEmulator(emulator);
  } else {
    providers = providersFromConfig(loadSendConfig(flags.config, io.env).providers);
  }
  const client = new PushClient({ providers, ...(window ? { window } : {}) });
  let sink: FeedbackSink | undefined;
  let out: NdjsonFeedbackWriter | undefined;
  try {
    const topic = flags.topic!;
    // A bad topic name or no FCM provider: refused here, before a device is read.
    const check = (operation === 'subscribe' ? client.subscribe : client.unsubscribe).call(client, topic, []);
    await check.done;
    const opened = openSource(sourceFlags, io.stdin);
    const devices = sourceKind(flags.devices).kind === 'stdin' ? untilStopped(opened, io.signal) : opened;
    if (flags.applyFeedback) {
      sink = openSink(flags.devices, flags);
      await checkSinkFits(sourceFlags, flags, sink);
    }
    if (flags.out) out = ndjsonFeedbackWriter(flags.out === '-' ? (io.stdout as never) : flags.out);
    const tty = redrawsInPlace(io.stderrIsTTY, io.env);
    const result = await deliver({
      client,
      notification: {},
      devices,
      start: (source) =>
        operation === 'subscribe' ? client.subscribe(topic, source) : client.unsubscribe(topic, source),
      ...(out ? { out } : {}),
      ...(sink ? { sink } : {}),
      signal: io.signal,
      ...(io.abortSignal ? { abortSignal: io.abortSignal } : {}),
      notices: { stream: io.stderr, tty },
      ...(flags.progress === false
        ? {}
        : { progress: { stream: io.stderr, tty, total: countDevices(sourceFlags) } }),
    });
    sink = undefined; // closed by deliver
    out = undefined;

    const { failures, exitCode } = runVerdict(result);
    const summary = result.summary;
    const report = flags.out === '-' ? io.stderr : io.stdout;
    const done = operation === 'subscribe' ? 'Subscribed to' : 'Unsubscribed from';
    if (flags.json) {
      report.write(
        `${JSON.stringify({
          operation,
          topic,
          summary: summaryJson(summary),
          deadByPlatform: result.deadByPlatform,
          ...(result.applied ? { feedback: result.applied } : {}),
          interrupted: result.interrupted,
          errors: failures.map((failure) => redactText(failure.message)),
          exitCode,
        })}\n`,
      );
    } else {
      report.write(`${done} ${sanitize(topic)}: ${sanitize(redactUrl(flags.devices))}\n`);
      report.write(`${summaryTable(summary)}\n`);
      if (result.applied) {
        const { removed, marked } = result.applied;
        report.write(
          flags.markColumn
            ? `  unknown tokens: ${formatCount(marked)} rows marked in ${sanitize(`${flags.table}.${flags.markColumn}`)}\n`
            : `  unknown tokens: ${formatCount(removed)} rows deleted from ${sanitize(String(flags.table))}\n`,
        );
      }
    }
    for (const failure of failures)
      io.stderr.write(`pushline: error: ${sanitize(redactText(failure.message))}\n`);
    return exitCode;
  } finally {
    await sink?.close().catch(() => undefined);
    await out?.close().catch(() => undefined);
    await closeClient(client);
    await emulator?.close();
  }
}

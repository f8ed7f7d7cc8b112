/**
 * `pushline send`: one notification to every device of a source, feedback to `--out` and
 * (with `--apply-feedback`) dead tokens removed or marked in the same database.
 */
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { PushClient } from '../client.js';
import { type Emulator, startEmulator } from '../emulator/index.js';
import type { Provider } from '../provider.js';
import { redactText } from '../redact.js';
import type { FeedbackSink } from '../stores/feedback-sink.js';
import { type NdjsonFeedbackWriter, ndjsonFeedbackWriter } from '../stores/ndjson-writer.js';
import { closeClient } from './close-client.js';
import { loadSendConfig, type SendConfig } from './config.js';
import { deliver } from './deliver.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { formatCount } from './format.js';
import type { CliIO } from './io.js';
import { type NotificationFlags, notificationFrom } from './notification-input.js';
import { redrawsInPlace } from './progress.js';
import { providersForEmulator, providersFromConfig } from './providers.js';
import { partialFailureMessage, providerStopMessage, runVerdict } from './report.js';
import { readResume, skipDone } from './resume.js';
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
import { dryRunChecks, dryRunLines, summaryJson, summaryTable } from './summary-table.js';

export interface SendFlags extends NotificationFlags, SinkFlags, Omit<SourceFlags, 'devices'> {
  devices?: string;
  /** The name of an environment variable holding the device source (keeps a password out of argv). */
  devicesEnv?: string;
  config?: string;
  emulator?: boolean;
  applyFeedback?: boolean;
  dryRun?: boolean;
  out?: string;
  json?: boolean;
  window?: string;
  delivery?: string;
  progress?: boolean;
  progressInterval?: string;
  gracePeriod?: string;
  resume?: string;
  resendUncertain?: boolean;
}

function positive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new CliError(`${flag} must be a number > 0, got '${value}'`, EXIT.usage);
  return number;
}

function nonNegative(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0)
    throw new CliError(`${flag} must be a number ≥ 0, got '${value}'`, EXIT.usage);
  return number;
}

function openOut(path: string, stdout: NodeJS.WritableStream, append = false): NdjsonFeedbackWriter {
  if (path === '-') return ndjsonFeedbackWriter(stdout as never);
  try {
    // Fail now, before sending anything, when the file cannot be created.
    closeSync(openSync(path, append ? 'a' : 'w'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unwritable';
    throw new CliError(
      `cannot write --out '${path}' (${code}): check the directory and its permissions`,
      EXIT.io,
      {
        cause: error,
      },
    );
  }
  return ndjsonFeedbackWriter(path, { append });
}

export async function runSend(given: SendFlags, io: CliIO): Promise<ExitCode> {
  const flags = { ...given, devices: devicesSpec(given, io.env, io.stderr) };
  if (flags.applyFeedback && flags.dryRun) {
    throw new CliError(
      '--dry-run and --apply-feedback do not mix: a dry run must change nothing',
      EXIT.usage,
    );
  }
  if (flags.emulator && flags.config) {
    throw new CliError(
      '--emulator and --config do not mix: --emulator sends to a built-in emulator',
      EXIT.usage,
    );
  }
  if (!flags.applyFeedback && (flags.table || flags.markColumn)) {
    throw new CliError('--table and --mark-column apply with --apply-feedback only', EXIT.usage);
  }
  const window = positive('--window', flags.window);
  if (window !== undefined && !Number.isInteger(window)) {
    throw new CliError(`--window must be a whole number ≥ 1, got '${flags.window}'`, EXIT.usage);
  }
  const delivery = flags.delivery;
  if (delivery !== undefined && delivery !== 'at-least-once' && delivery !== 'at-most-once') {
    throw new CliError(
      `--delivery must be at-least-once or at-most-once, got '${sanitize(delivery)}'`,
      EXIT.usage,
    );
  }
  const progressSeconds = positive('--progress-interval', flags.progressInterval);
  const graceSeconds = nonNegative('--grace-period', flags.gracePeriod);
  if (flags.resendUncertain && !flags.resume) {
    throw new CliError('--resend-uncertain applies with --resume only', EXIT.usage);
  }
  const notification = notificationFrom(flags);
  const sourceFlags: SourceFlags = { ...flags, devices: flags.devices };
  // --resume FILE: skip what FILE records as done, and add this run's lines to FILE (one
  // record of the whole send) unless --out names another file.
  const resume = flags.resume
    ? await readResume(flags.resume, {
        ...(flags.keyColumn ? { keyColumn: flags.keyColumn } : {}),
        ...(flags.resendUncertain ? { resendUncertain: true } : {}),
      })
    : undefined;
  const outPath = flags.out ?? flags.resume;
  const appendOut = resume !== undefined && outPath !== '-' && resolve(outPath!) === resolve(resume.file);
  const resumed = { skipped: 0 };

  let emulator: Emulator | undefined;
  let providers: Provider[];
  let clientConfig: SendConfig['client'] = {};
  if (flags.emulator) {
    emulator = await startEmulator({ apns: { record: false } });
    providers = providersForEmulator(emulator);
  } else {
    const config = loadSendConfig(flags.config, io.env);
    providers = providersFromConfig(config.providers);
    clientConfig = config.client;
  }
  // The config file's `client` section, then the flags over it.
  const client = new PushClient({
    ...clientConfig,
    providers,
    ...(window ? { window: Math.floor(window) } : {}),
    ...(delivery ? { delivery } : {}),
  });
  let sink: FeedbackSink | undefined;
  let out: NdjsonFeedbackWriter | undefined;
  try {
    const opened = openSource(sourceFlags, io.stdin);
    const source = sourceKind(flags.devices).kind === 'stdin' ? untilStopped(opened, io.signal) : opened;
    const devices = resume ? skipDone(source, resume.done, flags.keyColumn, resumed) : source;
    if (flags.applyFeedback) {
      sink = openSink(flags.devices, flags);
      await checkSinkFits(sourceFlags, flags, sink);
    }
    if (outPath) {
      // A run killed mid-write leaves a partial last line: start ours on a line of its own.
      if (appendOut && !resume!.endsWithNewline) appendFileSync(outPath, '\n');
      out = openOut(outPath, io.stdout, appendOut);
    }
    const toStdout = outPath === '-';
    const report = toStdout ? io.stderr : io.stdout;
    const result = await deliver({
      client,
      notification,
      devices,
      ...(out ? { out } : {}),
      ...(sink ? { sink } : {}),
      signal: io.signal,
      ...(io.abortSignal ? { abortSignal: io.abortSignal } : {}),
      ...(graceSeconds !== undefined ? { graceMs: graceSeconds * 1000 } : {}),
      notices: { stream: io.stderr, tty: redrawsInPlace(io.stderrIsTTY, io.env) },
      dryRun: flags.dryRun === true,
      ...(flags.progress === false
        ? {}
        : {
            progress: {
              stream: io.stderr,
              tty: redrawsInPlace(io.stderrIsTTY, io.env),
              // Resuming, the devices left are unknown until read: no total, no ETA.
              total: resume ? Promise.resolve(undefined) : countDevices(sourceFlags),
              ...(progressSeconds ? { lineMs: progressSeconds * 1000 } : {}),
            },
          }),
    });
    sink = undefined; // closed by deliver
    out = undefined;

    // The first failure decides the exit code; each is reported once, in this order.
    const { failures, exitCode } = runVerdict(result, (error) =>
      error.reason === 'DryRunUnsupported' ? error.message : providerStopMessage(error),
    );
    const summary = result.summary;
    const dryRun = flags.dryRun ? dryRunChecks(summary, providers) : undefined;

    const applied = result.applied
      ? { mode: flags.markColumn ? 'mark' : 'delete', table: flags.table, ...result.applied }
      : undefined;
    if (flags.json) {
      report.write(
        `${JSON.stringify({
          summary: summaryJson(summary),
          ...(dryRun ? { dryRun } : {}),
          deadByPlatform: result.deadByPlatform,
          ...(applied ? { feedback: applied } : {}),
          ...(outPath ? { out: outPath } : {}),
          ...(resume
            ? {
                resume: {
                  file: resume.file,
                  skipped: resumed.skipped,
                  done: resume.done.size,
                  uncertain: resume.uncertain,
                  resendUncertain: flags.resendUncertain === true,
                },
              }
            : {}),
          interrupted: result.interrupted,
          errors: failures.map((failure) => redactText(failure.message)),
          exitCode,
        })}\n`,
      );
    } else if (!(summary.total === 0 && result.sourceError !== undefined)) {
      // A source that failed before giving a device (a refused login, a query that does not
      // run) gets its one error line below and no table of zeros before it.
      if (dryRun) {
        report.write(`Dry run, nothing delivered: ${sanitize(redactUrl(flags.devices))}\n`);
        if (Object.keys(dryRun).length > 0)
          report.write(`${sanitize(dryRunLines(dryRun), { keepNewlines: true })}\n`);
      } else report.write(`Sent: ${sanitize(redactUrl(flags.devices))}\n`);
      report.write(`${summaryTable(summary, { dryRun: flags.dryRun === true })}\n`);
      if (applied) {
        const { mode, removed, marked } = applied;
        report.write(
          mode === 'delete'
            ? `  dead tokens: ${formatCount(removed)} rows deleted from ${sanitize(String(flags.table))}\n`
            : `  dead tokens: ${formatCount(marked)} rows marked in ${sanitize(`${flags.table}.${flags.markColumn}`)}\n`,
        );
      }
      if (outPath && outPath !== '-')
        report.write(`  feedback: ${sanitize(outPath)}${appendOut ? ' (appended)' : ''}\n`);
      if (resume) {
        const uncertain =
          resume.uncertain === 0
            ? ''
            : flags.resendUncertain
              ? `; ${formatCount(resume.uncertain)} possibly delivered sent again`
              : `; ${formatCount(resume.uncertain)} possibly delivered not sent again (--resend-uncertain sends them)`;
        report.write(
          `  resumed: ${formatCount(resumed.skipped)} devices skipped, done in ${sanitize(resume.file)}${uncertain}\n`,
        );
      }
      if (result.interrupted) {
        report.write(
          `  interrupted: the devices read so far have their feedback${outPath && outPath !== '-' ? `; run again with --resume ${sanitize(outPath)} to send the rest` : ''}\n`,
        );
      }
    }
    // A provider's or a database's own words are in these: scrubbed and escaped.
    for (const failure of failures)
      io.stderr.write(`pushline: error: ${sanitize(redactText(failure.message))}\n`);
    const partial = exitCode === EXIT.partial ? partialFailureMessage(result.failedBy) : undefined;
    if (partial !== undefined) io.stderr.write(`pushline: ${sanitize(partial)}\n`);
    return exitCode;
  } finally {
    await sink?.close().catch(() => undefined);
    await out?.close().catch(() => undefined);
    await closeClient(client);
    await emulator?.close();
  }
}

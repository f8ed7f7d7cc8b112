/**
 * `pushline send`: one notification to every device of a source, feedback to `--out` and
 * (with `--apply-feedback`) dead tokens removed or marked in the same database.
 */
import { closeSync, openSync } from 'node:fs';
import { PushClient } from '../client.js';
import { type Emulator, startEmulator } from '../emulator/index.js';
import type { Provider } from '../provider.js';
import type { FeedbackSink } from '../stores/feedback-sink.js';
import { type NdjsonFeedbackWriter, ndjsonFeedbackWriter } from '../stores/ndjson-writer.js';
import { closeClient } from './close-client.js';
import { loadProviderConfig } from './config.js';
import { deliver } from './deliver.js';
import { CliError, EXIT, type ExitCode } from './exit-codes.js';
import { formatCount } from './format.js';
import type { CliIO } from './io.js';
import { type NotificationFlags, notificationFrom } from './notification-input.js';
import { providersForEmulator, providersFromConfig } from './providers.js';
import { classify } from './report.js';
import { checkSinkFits } from './sink-check.js';
import { countDevices, openSink, openSource, redactUrl, type SinkFlags, type SourceFlags } from './source.js';
import { dryRunChecks, dryRunLines, summaryJson, summaryTable } from './summary-table.js';

export interface SendFlags extends NotificationFlags, SinkFlags, Omit<SourceFlags, 'devices'> {
  devices?: string;
  config?: string;
  emulator?: boolean;
  applyFeedback?: boolean;
  dryRun?: boolean;
  out?: string;
  json?: boolean;
  window?: string;
  progress?: boolean;
  progressInterval?: string;
}

function positive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new CliError(`${flag} must be a number > 0, got '${value}'`, EXIT.usage);
  return number;
}

function openOut(path: string, stdout: NodeJS.WritableStream): NdjsonFeedbackWriter {
  if (path === '-') return ndjsonFeedbackWriter(stdout as never);
  try {
    // Fail now, before sending anything, when the file cannot be created.
    closeSync(openSync(path, 'w'));
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
  return ndjsonFeedbackWriter(path);
}

export async function runSend(flags: SendFlags, io: CliIO): Promise<ExitCode> {
  if (!flags.devices) {
    throw new CliError(
      'give the devices with --devices: sqlite:path (with --query), postgres://… (with --query), a .ndjson/.jsonl/.csv file, or - for NDJSON on stdin',
      EXIT.usage,
    );
  }
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
  const progressSeconds = positive('--progress-interval', flags.progressInterval);
  const notification = notificationFrom(flags);
  const sourceFlags: SourceFlags = { ...flags, devices: flags.devices };

  let emulator: Emulator | undefined;
  let providers: Provider[];
  if (flags.emulator) {
    emulator = await startEmulator({ apns: { record: false } });
    providers = providersForEmulator(emulator);
  } else {
    providers = providersFromConfig(loadProviderConfig(flags.config, io.env));
  }
  const client = new PushClient({ providers, ...(window ? { window: Math.floor(window) } : {}) });
  let sink: FeedbackSink | undefined;
  let out: NdjsonFeedbackWriter | undefined;
  try {
    const devices = openSource(sourceFlags, io.stdin);
    if (flags.applyFeedback) {
      sink = openSink(flags.devices, flags);
      await checkSinkFits(sourceFlags, flags, sink);
    }
    if (flags.out) out = openOut(flags.out, io.stdout);
    const toStdout = flags.out === '-';
    const report = toStdout ? io.stderr : io.stdout;
    const result = await deliver({
      client,
      notification,
      devices,
      ...(out ? { out } : {}),
      ...(sink ? { sink } : {}),
      signal: io.signal,
      dryRun: flags.dryRun === true,
      ...(flags.progress === false
        ? {}
        : {
            progress: {
              stream: io.stderr,
              tty: io.stderrIsTTY,
              total: countDevices(sourceFlags),
              ...(progressSeconds ? { lineMs: progressSeconds * 1000 } : {}),
            },
          }),
    });
    sink = undefined; // closed by deliver
    out = undefined;

    // The first failure decides the exit code; each is reported once, in this order.
    const failures: { message: string; exitCode: ExitCode }[] = [];
    if (result.sourceError !== undefined) failures.push(classify(result.sourceError));
    if (result.sinkError !== undefined) failures.push(classify(result.sinkError));
    if (result.outError !== undefined) {
      failures.push({
        message: `writing --out failed: ${(result.outError as Error).message}`,
        exitCode: EXIT.io,
      });
    }
    if (result.providerConfigError) {
      const error = result.providerConfigError;
      failures.push({
        message:
          error.reason === 'DryRunUnsupported'
            ? error.message
            : `${error.provider ?? 'a provider'} stopped: ${error.message} (check its credentials in --config or the environment)`,
        exitCode: EXIT.config,
      });
    }
    const summary = result.summary;
    const dryRun = flags.dryRun ? dryRunChecks(summary, providers) : undefined;
    let exitCode: ExitCode = failures[0]?.exitCode ?? (summary.failed > 0 ? EXIT.partial : EXIT.ok);
    if (result.interrupted && failures.length === 0) exitCode = EXIT.interrupted;

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
          ...(flags.out ? { out: flags.out } : {}),
          interrupted: result.interrupted,
          errors: failures.map((failure) => failure.message),
          exitCode,
        })}\n`,
      );
    } else {
      if (dryRun) {
        report.write(`Dry run, nothing delivered: ${redactUrl(flags.devices)}\n`);
        if (Object.keys(dryRun).length > 0) report.write(`${dryRunLines(dryRun)}\n`);
      } else report.write(`Sent: ${redactUrl(flags.devices)}\n`);
      report.write(`${summaryTable(summary, { dryRun: flags.dryRun === true })}\n`);
      if (applied) {
        const { mode, removed, marked } = applied;
        report.write(
          mode === 'delete'
            ? `  dead tokens: ${formatCount(removed)} rows deleted from ${flags.table}\n`
            : `  dead tokens: ${formatCount(marked)} rows marked in ${flags.table}.${flags.markColumn}\n`,
        );
      }
      if (flags.out && flags.out !== '-') report.write(`  feedback: ${flags.out}\n`);
      if (result.interrupted) report.write('  interrupted: the devices read so far have their feedback\n');
    }
    for (const failure of failures) io.stderr.write(`pushline: error: ${failure.message}\n`);
    return exitCode;
  } finally {
    await sink?.close().catch(() => undefined);
    await out?.close().catch(() => undefined);
    await closeClient(client);
    await emulator?.close();
  }
}

/**
 * TEMPORARY — to be replaced by the in-process dispatcher of `src/queue/local.ts` (w14-local)
 * when it is merged; `pushline serve` (src/cli/serve.ts) builds this one until then, and
 * nothing else may depend on it. It is the smallest {@link Dispatcher} that lets the server
 * and its process tests run real sends: each send runs on its app's `PushClient`, its feedback
 * is appended to an NDJSON file in a private temp directory (not held in memory, so a
 * 100,000-device send costs what a 100-device one does) and read back from there.
 *
 * Not done here (the real one's job): database sources, feedback observers (metrics,
 * webhook, dead tokens), idempotency across processes.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PushClient } from '../client.js';
import type { Device } from '../device.js';
import type { Delivery } from '../engine/delivery.js';
import { PushError } from '../errors.js';
import type {
  Dispatcher,
  FeedbackQuery,
  FeedbackRecord,
  SendSpec,
  SendState,
  SendStatus,
} from '../queue/dispatch.js';
import { feedbackLine } from '../stores/ndjson-writer.js';

interface Run {
  spec: SendSpec;
  delivery: Delivery;
  state: SendState;
  accepted: number;
  /** Devices the engine has read: an aborted inline send leaves the rest unread. */
  read: number;
  /** Of those, the ones given their `aborted` feedback here (counted in the status). */
  unread: number;
  startedAt: string;
  finishedAt?: string;
  file: string;
  writer: WriteStream;
  /** Bytes of the feedback file that are written (readable). */
  written: number;
  ended: Promise<void>;
  wakers: Set<() => void>;
}

export class InterimDispatcher implements Dispatcher {
  private readonly runs = new Map<string, Run>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'pushline-serve-'));
  private closing = false;

  constructor(private readonly clients: Readonly<Record<string, PushClient>>) {}

  async submit(spec: SendSpec): Promise<SendStatus> {
    if (this.closing) throw new PushError('unavailable', 'the server is shutting down');
    const client = this.clients[spec.app];
    if (client === undefined) throw new PushError('config', `no app named '${spec.app}'`);
    if (spec.devices.kind === 'source') {
      throw new PushError(
        'config',
        'database sources are run by the in-process dispatcher (src/queue/local.ts)',
      );
    }
    const input = spec.devices;
    let sourceRead!: () => void;
    const read = new Promise<void>((resolve) => (sourceRead = resolve));
    const file = join(this.dir, `${spec.id}.ndjson`);
    const run = {
      spec,
      state: 'running',
      accepted: 0,
      read: 0,
      unread: 0,
      startedAt: new Date().toISOString(),
      file,
      writer: createWriteStream(file),
      written: 0,
      wakers: new Set<() => void>(),
    } as Omit<Run, 'delivery' | 'ended'> as Run;
    const counted = async function* (devices: AsyncIterable<Device>) {
      try {
        for await (const device of devices) {
          run.accepted++;
          run.read++;
          yield device;
        }
      } finally {
        sourceRead();
      }
    };
    // Inline devices are all accepted at once; a stream's as they are read.
    if (input.kind === 'inline') run.accepted = input.devices.length;
    const inline = async function* (devices: Device[]) {
      for (const device of devices) {
        run.read++;
        yield device;
      }
    };
    const devices = input.kind === 'inline' ? inline(input.devices) : counted(input.devices);
    run.delivery = client.send(spec.notification, devices, {
      ...(spec.dryRun ? { dryRun: true } : {}),
      ...(spec.delivery ? { delivery: spec.delivery } : {}),
    });
    run.ended = this.record(run);
    this.runs.set(spec.id, run);
    // A stream is accepted once read to its end (or once the send ends without reading it all).
    if (input.kind === 'stream') await Promise.race([read, run.ended]);
    return this.snapshot(run);
  }

  private async record(run: Run): Promise<void> {
    try {
      for await (const feedback of run.delivery) {
        const line = feedbackLine(feedback);
        const bytes = Buffer.byteLength(line);
        if (!run.writer.write(line)) await once(run.writer, 'drain');
        run.written += bytes;
        this.wake(run);
      }
      await run.delivery.done.catch(() => undefined);
      // Accepted devices the engine never read (an abort stops reading): each still gets its
      // feedback, `aborted`.
      const input = run.spec.devices;
      if (input.kind === 'inline') {
        for (const device of input.devices.slice(run.read)) {
          const line = feedbackLine({
            device,
            status: 'failed',
            attempts: 0,
            error: new PushError('aborted', 'the send was aborted before this device was sent'),
          });
          if (!run.writer.write(line)) await once(run.writer, 'drain');
          run.written += Buffer.byteLength(line);
          run.unread++;
        }
        this.wake(run);
      }
      if (run.state === 'running') run.state = 'done';
    } catch {
      run.state = 'failed';
    } finally {
      run.finishedAt = new Date().toISOString();
      await new Promise<void>((resolve) => run.writer.end(resolve));
      this.wake(run);
    }
  }

  private wake(run: Run): void {
    for (const wake of run.wakers) wake();
    run.wakers.clear();
  }

  private snapshot(run: Run): SendStatus {
    const {
      total,
      sent,
      validated,
      invalidToken,
      failed,
      errors,
      providers,
      retries,
      maybeDelivered,
      maybeDuplicates,
    } = run.delivery.summary;
    return {
      id: run.spec.id,
      app: run.spec.app,
      state: run.state,
      accepted: run.accepted,
      counts: {
        total: total + run.unread,
        sent,
        validated,
        invalidToken,
        failed: failed + run.unread,
        errors: run.unread > 0 ? { ...errors, aborted: (errors['aborted'] ?? 0) + run.unread } : errors,
        providers,
        retries,
        maybeDelivered,
        maybeDuplicates,
      },
      createdAt: run.spec.createdAt,
      startedAt: run.startedAt,
      ...(run.finishedAt === undefined ? {} : { finishedAt: run.finishedAt }),
    };
  }

  async status(id: string): Promise<SendStatus | undefined> {
    const run = this.runs.get(id);
    return run === undefined ? undefined : this.snapshot(run);
  }

  async settled(id: string): Promise<SendStatus> {
    const run = this.runs.get(id);
    if (run === undefined) throw new PushError('bad-request', `no send ${id}`);
    await run.ended;
    return this.snapshot(run);
  }

  async *feedback(id: string, query: FeedbackQuery = {}): AsyncIterable<FeedbackRecord> {
    const run = this.runs.get(id);
    if (run === undefined) return;
    const follow = query.follow !== false;
    const wanted = query.status === undefined ? undefined : new Set<string>(query.status);
    const handle = await open(run.file, 'r');
    try {
      let offset = 0;
      let rest = '';
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const finished = run.finishedAt !== undefined;
        const end = run.written;
        while (offset < end) {
          const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - offset), offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          const text = rest + buffer.toString('utf8', 0, bytesRead);
          const lines = text.split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) {
            const record = JSON.parse(line) as FeedbackRecord;
            if (wanted === undefined || wanted.has(record.status)) yield record;
          }
        }
        if (finished || !follow) return;
        // Checked and registered in one synchronous step: a wake-up cannot fall in between.
        if (run.written > offset || run.finishedAt !== undefined) continue;
        await new Promise<void>((resolve) => run.wakers.add(resolve));
      }
    } finally {
      await handle.close();
    }
  }

  async abort(id: string, reason?: string): Promise<boolean> {
    const run = this.runs.get(id);
    if (run === undefined || run.finishedAt !== undefined) return false;
    run.state = 'aborted';
    run.delivery.abort(reason);
    return true;
  }

  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const running = [...this.runs.values()].filter((run) => run.finishedAt === undefined);
    // A stream stops being read (what was not read was not accepted); inline devices were all
    // accepted, so their send goes on.
    for (const run of running) if (run.spec.devices.kind !== 'inline') run.delivery.stop();
    const all = Promise.all(running.map((run) => run.ended));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([all, late])) === 'late') {
      for (const run of running) {
        if (run.finishedAt === undefined) {
          run.state = 'aborted';
          run.delivery.abort('the server shut down before the send finished');
        }
      }
      await all;
    }
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

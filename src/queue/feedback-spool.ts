/**
 * One send's recorded feedback, as NDJSON lines in a temporary file instead of objects in
 * memory: a 10-million-device send would otherwise hold 10 million feedback objects for as
 * long as anyone may ask for them. The send appends lines; any number of readers read the file
 * from its start and, when they follow, wait at its end for more until the spool is finished
 * (tail -f). A reader has its own file descriptor and position, so a slow reader never holds
 * the send up, and one that connects late still gets every line from the first.
 *
 * Lines are written in batches of {@link BATCH_CHARS}, or what came within {@link BATCH_MS}
 * of the first line waiting, and only whole lines: a reader never sees half a line. An async
 * file write costs the event loop ~40 µs of CPU whatever its size (the hand-off to libuv's
 * thread pool and back), four times a synchronous one: one write per turn of the event loop
 * was ~2,000 writes for a 100,000-device send, a tenth of what the server spent on it beyond
 * the sending itself. `write` returns a promise only when the lines waiting for the disk are
 * many, so a send that outruns the disk waits for it.
 *
 * The first lines, up to {@link MEMORY_CHARS}, stay in memory, and the file is created only
 * when a send outgrows them: most sends a server takes are small (gorush's `/api/push` carries
 * a few tokens), and creating, writing, closing and deleting a file for each of them cost more
 * than the rest of the send (bench/server.ts: ~690 one-device sends/s with a file each on
 * ext4, where the client alone does ~2,500). The file then holds the lines after the memory part.
 */
import { type FileHandle, open, rm } from 'node:fs/promises';

/** Characters of the first lines kept in memory; past them the lines go to the file. */
const MEMORY_CHARS = 16 * 1024;
/** Characters of lines that make a batch: written at once. */
const BATCH_CHARS = 64 * 1024;
/** Longest a line waits for its batch to fill, ms: how far behind a follower may be. */
const BATCH_MS = 20;
/** Characters waiting for the disk before `write` makes its caller wait. */
const HIGH_WATER = 256 * 1024;
/** Bytes a reader reads at once. */
const READ_CHUNK = 64 * 1024;
const NEWLINE = 0x0a;
/** After `delete()`, how long readers still part-way through may keep the file. */
const ABANDONED_READER_MS = 60_000;

export class FeedbackSpool {
  /**
   * The first lines (each with its newline), up to MEMORY_CHARS: kept here, never in the file.
   * Replaced, never emptied, by `delete()`: a reader part-way through it keeps its own reference.
   */
  private head: string[] = [];
  private headChars = 0;
  /** A line went past the memory part: every later line goes to the file. */
  private spilled = false;
  /** The file, once the spool has spilled (created by the first flush). */
  private handle: FileHandle | undefined;
  /** Whole lines on disk, in bytes: what readers may read. */
  private size = 0;
  private buffer: string[] = [];
  private bufferedChars = 0;
  private flushing: Promise<void> | undefined;
  /** Ends the flush's wait for a full batch (see batchReady). */
  private batchWaiting: (() => void) | undefined;
  private batchTimer: NodeJS.Timeout | undefined;
  private ending: Promise<void> | undefined;
  /** Every line is on disk and the file is closed for writing. */
  private finished = false;
  private deleted = false;
  private failure: Error | undefined;
  private waiters: Array<() => void> = [];
  /** Readers part-way through `lines()`: a deleted spool's file stays until the last is done. */
  private readers = 0;
  /** Lines written so far. */
  written = 0;

  private constructor(
    /** The file's path (created only once the lines outgrow the memory part). */
    readonly path: string,
  ) {}

  /**
   * A spool whose file, if it needs one, will be `path` (which must not exist yet), readable
   * and writable by this user only.
   */
  static async create(path: string): Promise<FeedbackSpool> {
    return new FeedbackSpool(path);
  }

  /**
   * Appends one line (it must end with `\n`). Returns a promise to wait for when the lines
   * waiting for the disk are many; otherwise nothing.
   */
  write(line: string): Promise<void> | undefined {
    if (this.ending) throw new Error(`feedback spool ${this.path}: write() after end()`);
    this.written++;
    if (this.failure) return undefined; // already reported; the send goes on without its record
    if (!this.spilled && this.headChars + line.length <= MEMORY_CHARS) {
      this.head.push(line);
      this.headChars += line.length;
      this.notify();
      return undefined;
    }
    this.spilled = true;
    this.buffer.push(line);
    this.bufferedChars += line.length;
    this.flushing ??= this.flush();
    if (this.bufferedChars >= BATCH_CHARS) this.batchFull();
    return this.bufferedChars >= HIGH_WATER ? this.flushing : undefined;
  }

  /** Why writing failed (the disk is full…), if it did: the lines after it are not recorded. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Writes what is left, closes the file for writing; followers then end at the last line. */
  end(): Promise<void> {
    this.batchFull(); // what waits is the last batch: write it now
    this.ending ??= (async () => {
      await this.flushing;
      await this.handle?.close().catch(() => undefined);
      this.finished = true;
      this.notify();
    })();
    return this.ending;
  }

  /** Ends the spool and removes its file; readers waiting for more end now. */
  async delete(): Promise<void> {
    this.deleted = true;
    this.notify();
    await this.end();
    // A new array, not `length = 0`: a follower still in the memory part (the dispatcher
    // deletes its spools at shutdown while an HTTP client may still be reading a send's
    // feedback) must get the rest of its lines, not jump to the file past them.
    this.head = [];
    // Readers still reading finish what the spool held: the file goes with the last of them,
    // or after ABANDONED_READER_MS at the latest (a reader nobody resumes must not keep it).
    if (this.readers === 0) await this.removeFile();
    else setTimeout(() => void this.removeFile().catch(() => undefined), ABANDONED_READER_MS).unref();
  }

  private async removeFile(): Promise<void> {
    if (this.spilled) await rm(this.path, { force: true });
  }

  /**
   * Every line from the first, each without its newline. With `follow`, waits at the end for
   * more until the spool is ended (or deleted); without, ends at what was on disk when asked.
   * Throws the write failure, if any, after the last line recorded.
   */
  async *lines(follow: boolean): AsyncGenerator<string> {
    if (this.deleted) return;
    this.readers++;
    try {
      yield* this.read(follow);
    } finally {
      this.readers--;
      if (this.deleted && this.readers === 0) await this.removeFile();
    }
  }

  private async *read(follow: boolean): AsyncGenerator<string> {
    // The memory part first; then, once the spool has spilled, the file.
    const head = this.head;
    const stopLine = follow ? Number.POSITIVE_INFINITY : head.length;
    const fileStopAt = follow ? Number.POSITIVE_INFINITY : this.size;
    for (let next = 0; ; ) {
      while (next < Math.min(head.length, stopLine)) yield head[next++]!.slice(0, -1);
      if (next >= stopLine || this.spilled || this.finished || this.deleted) break;
      await this.changed();
    }
    if (!this.spilled || fileStopAt === 0) {
      if (this.failure) throw this.failure;
      return;
    }
    // Spilled: the file exists once its first batch is written (or the write failed).
    while (this.size === 0 && !this.finished && !this.deleted && !this.failure) await this.changed();
    if (this.size === 0) {
      if (this.failure) throw this.failure;
      return;
    }
    let file: FileHandle;
    try {
      file = await open(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && this.deleted) return;
      throw error;
    }
    const stopAt = fileStopAt;
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    let position = 0;
    let partial: Buffer | undefined;
    try {
      reading: for (;;) {
        const limit = Math.min(this.size, stopAt);
        while (position < limit) {
          const { bytesRead } = await file.read(chunk, 0, Math.min(READ_CHUNK, limit - position), position);
          if (bytesRead === 0) break reading; // the file was cut short under us: nothing more to read
          position += bytesRead;
          const read = chunk.subarray(0, bytesRead);
          let start = 0;
          for (let end = read.indexOf(NEWLINE); end !== -1; end = read.indexOf(NEWLINE, start)) {
            const piece = read.subarray(start, end);
            const line = partial ? Buffer.concat([partial, piece]).toString('utf8') : piece.toString('utf8');
            partial = undefined;
            start = end + 1;
            yield line;
          }
          // The rest of this read starts a line the next read finishes (copied: `chunk` is reused).
          if (start < bytesRead) {
            const rest = Buffer.from(read.subarray(start));
            partial = partial ? Buffer.concat([partial, rest]) : rest;
          }
        }
        if (position >= stopAt || (this.finished && position >= this.size)) break;
        if (position >= this.size) await this.changed();
      }
    } finally {
      await file.close().catch(() => undefined);
    }
    if (this.failure) throw this.failure;
  }

  private async flush(): Promise<void> {
    while (this.buffer.length > 0 && !this.failure) {
      await this.batchReady();
      const bytes = Buffer.from(this.buffer.join(''), 'utf8');
      this.buffer = [];
      this.bufferedChars = 0;
      try {
        this.handle ??= await open(this.path, 'wx', 0o600);
        let offset = 0;
        while (offset < bytes.length) {
          const { bytesWritten } = await this.handle.write(
            bytes,
            offset,
            bytes.length - offset,
            this.size + offset,
          );
          offset += bytesWritten;
        }
        this.size += bytes.length;
      } catch (error) {
        this.failure = error as Error;
        this.buffer = [];
        this.bufferedChars = 0;
      }
      this.notify();
    }
    this.flushing = undefined;
  }

  /** Resolves when the lines waiting make a batch, BATCH_MS have passed, or the spool ends. */
  private batchReady(): Promise<void> | undefined {
    if (this.bufferedChars >= BATCH_CHARS || this.ending !== undefined) return undefined;
    return new Promise((resolve) => {
      this.batchWaiting = resolve;
      this.batchTimer = setTimeout(() => this.batchFull(), BATCH_MS);
    });
  }

  private batchFull(): void {
    clearTimeout(this.batchTimer);
    const waiting = this.batchWaiting;
    this.batchWaiting = undefined;
    waiting?.();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * A BullMQ `Worker` whose close cannot hang the shutdown.
 *
 * `Worker.close()` disconnects the worker's blocking connection and waits for its `end` event.
 * A connection caught between two reconnection attempts (Redis just restarted, or still down)
 * has no socket to close, so `end` never comes and `close()` never resolves, while the lock
 * renewal timer keeps the process alive (taskforcesh/bullmq#4656, #2430 — open in 5.x).
 * Measured here: Redis down 1.5 s, back, the worker closed at once → hung every time.
 *
 * So, before closing, the blocking connection gets until the deadline to be back (it retries
 * every ≤ 2 s), and the close itself is bounded by the same deadline; past it the worker is
 * abandoned: lock renewal stops, and the stalled checker ends after its current interval.
 * Abandoning is safe: a chunk whose job could not be released is taken over by another worker
 * when its lock expires, and that worker skips every recorded device.
 */
import { type Processor, type RedisConnection, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { QuietClosingConnection, quietWhenClosing } from './bullmq-connection.js';
import { whenReady } from './redis-connection.js';

/** True when `promise` settles before `deadline` (epoch ms). */
async function settlesBefore(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

export class ClosableWorker<Data> extends Worker<Data> {
  private blocking: Redis | undefined;

  constructor(queue: string, processor: Processor<Data>, options: WorkerOptions) {
    super(queue, processor, options, QuietClosingConnection);
    // BullMQ makes the blocking connection a plain RedisConnection, ignoring the class above, and
    // keeps it private; closed during its init it would crash the process (bullmq-connection.ts).
    quietWhenClosing((this as unknown as { blockingConnection: RedisConnection }).blockingConnection);
    // BullMQ's public waitUntilReady() resolves to the blocking connection: keep hold of it.
    this.waitUntilReady().then(
      (client) => {
        this.blocking = client as unknown as Redis; // BullMQ types it as its own client interface
      },
      () => undefined, // closed before it was ever ready: nothing to wait for
    );
  }

  /**
   * Closes, giving up at `deadline` (epoch ms). Resolves true when BullMQ closed cleanly, false
   * when the worker was abandoned (Redis unreachable until the deadline).
   */
  async closeBy(deadline: number): Promise<boolean> {
    const client = this.blocking;
    if (client !== undefined && client.status !== 'end') {
      // Not back by the deadline: close anyway, bounded below (a timeout here is no error).
      await whenReady(client, 'the queue', Math.max(0, deadline - Date.now())).catch(() => undefined);
    }
    const closed = this.close();
    closed.catch(() => undefined); // an abandoned close may still fail later: nobody is listening
    if (await settlesBefore(closed, deadline)) return true;
    await this.lockManager.close();
    return false;
  }
}

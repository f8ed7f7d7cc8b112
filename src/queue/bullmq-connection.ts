/**
 * BullMQ's `RedisConnection`, minus a crash at shutdown.
 *
 * A `RedisConnection` starts an `init()` (wait for ready, then `INFO` for the version) in its
 * constructor and reports a failed init by emitting `'error'`. Closed while that `INFO` is
 * still out — a worker stopped within a second of starting — it disconnects its client, drops
 * every listener, and only then does the `INFO` fail with "Connection is closed.": the
 * `'error'` is emitted with nobody listening, which Node turns into an uncaught exception that
 * kills the process (bullmq 5.81, `redis-connection.js`, `initializing.catch(...)`).
 *
 * An error from a connection that is closing or closed has nobody left to tell and nothing
 * left to do, so it is dropped here; every other error is emitted as BullMQ meant.
 * Every `Queue` and `Worker` pushline makes is given this class.
 */
import { RedisConnection } from 'bullmq';

export class QuietClosingConnection extends RedisConnection {
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && this.closing && this.listenerCount('error') === 0) return false;
    return super.emit(event, ...args);
  }
}

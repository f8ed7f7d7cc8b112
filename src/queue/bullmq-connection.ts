/**
 * BullMQ's `RedisConnection`, minus a crash at shutdown.
 *
 * A `RedisConnection` starts an `init()` (wait for ready, then `INFO` for the version) in its
 * constructor and reports a failed init by emitting `'error'`. Closed while that init is still
 * out — a worker stopped within a second of starting — it disconnects its client, drops every
 * listener, and only then does the init fail with "Connection is closed.": the `'error'` is
 * emitted with nobody listening, which Node turns into an uncaught exception that kills the
 * process (bullmq 5.81, `redis-connection.js`, `initializing.catch(...)`).
 *
 * An error from a connection that is closing or closed has nobody left to tell and nothing
 * left to do, so it is dropped here; every other error is emitted as BullMQ meant.
 * Every `Queue` and `Worker` pushline makes is given this class, and a Worker's blocking
 * connection — which BullMQ always makes as a plain `RedisConnection`, whatever class it is
 * given — is made quiet in place by `quietWhenClosing`.
 */
import { RedisConnection } from 'bullmq';

/** True for an `'error'` nobody can hear: the connection is closing and has no listener left. */
function unheard(connection: RedisConnection, event: string | symbol): boolean {
  return event === 'error' && connection.closing && connection.listenerCount('error') === 0;
}

export class QuietClosingConnection extends RedisConnection {
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (unheard(this, event)) return false;
    return super.emit(event, ...args);
  }
}

/**
 * Makes a connection BullMQ built itself drop what `QuietClosingConnection` drops. Called right
 * after the connection is made: its init can only fail asynchronously, so none is missed.
 */
export function quietWhenClosing(connection: RedisConnection): void {
  const emit = connection.emit;
  connection.emit = function (this: RedisConnection, event: string | symbol, ...args: unknown[]): boolean {
    if (unheard(this, event)) return false;
    return emit.call(this, event, ...args);
  };
}

/**
 * The transport's `node:diagnostics_channel` channels, so a user or a metrics library can watch
 * every pool without an option on each (undici's lib/core/diagnostics.js is the model). A
 * message is the same object `onEvent` receives. Publishing costs one `hasSubscribers` check
 * when nobody listens.
 *
 *   import diagnostics from 'node:diagnostics_channel';
 *   diagnostics.subscribe('pushline:pool:goaway', (event) => log.warn(event));
 *
 * | channel | when |
 * |---|---|
 * | `pushline:pool:connect` | a connection is ready (TLS and first SETTINGS done) |
 * | `pushline:pool:connect-error` | a connect failed; `retryInMs` says when the next is due |
 * | `pushline:pool:disconnect` | a connection closed (`error` when it was lost) |
 * | `pushline:pool:goaway` | the server sent GOAWAY (code, last stream id, APNs reason) |
 * | `pushline:pool:ping-timeout` | a PING went unanswered: the connection is replaced |
 * | `pushline:pool:settings` | the server's SETTINGS_MAX_CONCURRENT_STREAMS changed |
 * | `pushline:pool:resend` | a request the server provably did not process is sent again |
 * | `pushline:request:end` | a request settled: its status or error code, and how long it took |
 */
import diagnostics from 'node:diagnostics_channel';
import type { TransportEvent } from './types.js';

export type TransportEventType = TransportEvent['type'];

const CHANNELS: Record<TransportEventType, diagnostics.Channel> = {
  connect: diagnostics.channel('pushline:pool:connect'),
  'connect-error': diagnostics.channel('pushline:pool:connect-error'),
  disconnect: diagnostics.channel('pushline:pool:disconnect'),
  goaway: diagnostics.channel('pushline:pool:goaway'),
  'ping-timeout': diagnostics.channel('pushline:pool:ping-timeout'),
  settings: diagnostics.channel('pushline:pool:settings'),
  resend: diagnostics.channel('pushline:pool:resend'),
};

/** Publishes `event` on its channel, when anyone subscribed. */
export function publish(event: TransportEvent): void {
  const channel = CHANNELS[event.type];
  if (channel.hasSubscribers) channel.publish(event);
}

/** What `pushline:request:end` carries: one message per request the pool settles. */
export interface RequestEndEvent {
  origin: string;
  /** The response's HTTP status, when a response came. */
  status?: number;
  /** The PushError code, when the request failed (`timeout`, `unavailable`, `aborted`, …). */
  error?: string;
  /** From `request()` to the outcome, queueing and transparent re-sends included. */
  durationMs: number;
}

const requestEnd = diagnostics.channel('pushline:request:end');

/** True when someone listens for request ends: check it before building the message. */
export function requestEndWatched(): boolean {
  return requestEnd.hasSubscribers;
}

export function publishRequestEnd(event: RequestEndEvent): void {
  requestEnd.publish(event);
}

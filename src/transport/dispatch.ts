/**
 * Sends a request through any {@link Pool} with its answer handed to a {@link ResponseSink}:
 * the pool's own `dispatch` when it has one (pushline's pools), else `request()` and its promise.
 */
import type { Pool, ResponseSink, TransportRequest } from './types.js';

export function dispatchOn<T>(
  pool: Pick<Pool, 'request' | 'dispatch'>,
  request: TransportRequest,
  sink: ResponseSink<T>,
  token: T,
): void {
  if (pool.dispatch !== undefined) {
    pool.dispatch(request, sink, token);
    return;
  }
  let answer: ReturnType<Pool['request']>;
  try {
    answer = pool.request(request);
  } catch (error) {
    answer = Promise.reject(error);
  }
  answer.then(
    (response) => sink.onResponse(response, token),
    (error: unknown) => sink.onError(error, token),
  );
}

/** Hands `error` to the sink in a microtask: a refusal is never answered during `dispatch()`. */
export function refuseLater<T>(sink: ResponseSink<T>, error: unknown, token: T): void {
  queueMicrotask(() => sink.onError(error, token));
}

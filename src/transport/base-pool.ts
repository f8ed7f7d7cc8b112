/**
 * What every pool shares whatever the protocol: the bounded FIFO of waiting requests, one
 * sweeping deadline timer per pool (no timer per request), abort handling, and the
 * close (drain) / destroy (abort) life cycle. Subclasses supply connections and streams.
 */
import { PushError } from '../errors.js';
import { publishRequestEnd, requestEndWatched } from './diagnostics.js';
import { refuseLater } from './dispatch.js';
import { lostError } from './errors.js';
import { AdaptiveLimit, FixedLimit, type Limiter, type OverloadSignal } from './limiter.js';
import { emit, type ResolvedOptions } from './options.js';
import {
  type AbortTarget,
  msNow,
  PendingRequest,
  type Settle,
  SignalWatch,
  Timeline,
  WaitQueue,
} from './pending.js';
import type { Pool, PoolStats, ResponseSink, TransportRequest, TransportResponse } from './types.js';

/** A request the server refused unprocessed this many times in a row is reported, not re-sent again. */
const MAX_RESENDS = 5;
/** Said in the message of a failure that may have been delivered. */
const AFTER_SENDING = 'after the request was sent; it may have been delivered';

export abstract class BasePool implements Pool, AbortTarget {
  readonly origin: string;
  protected readonly options: ResolvedOptions;
  protected readonly waiting = new WaitQueue();
  /** 'closing': draining after close(); 'closed': connections closing or gone, nothing accepted. */
  protected state: 'open' | 'closing' | 'closed' = 'open';
  /** When the last request was accepted (epoch ms); the registry closes pools idle long enough. */
  lastRequestAt = 0;
  /** How many requests may be in flight: fixed `concurrency`, or adaptive (limiter.ts). */
  protected readonly limiter: Limiter;

  private readonly timeline = new Timeline();
  /** One abort listener per distinct signal of the unsettled requests (see SignalWatch). */
  private readonly watches = new Map<AbortSignal, SignalWatch>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly sweepEveryMs: number;
  private closing: Promise<void> | null = null;
  private destroying: Promise<void> | null = null;
  private resolveClosing: (() => void) | null = null;
  /** Answers of dispatched requests waiting for the microtask that hands them over, in order. */
  private answersHead: PendingRequest | null = null;
  private answersTail: PendingRequest | null = null;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.origin = options.target.origin;
    // Deadlines are checked this often: a timeout fires at most ~10% late.
    this.sweepEveryMs = Math.min(1000, Math.max(10, Math.floor(options.timeoutMs / 10)));
    this.limiter =
      options.concurrency !== undefined
        ? new FixedLimit(options.concurrency)
        : new AdaptiveLimit({ initial: options.initialConcurrency, max: options.maxConcurrency });
  }

  /** Requests allowed in flight now (see Pool.limit). */
  get limit(): number {
    return this.limiter.limit;
  }

  /** Requests started on a connection and not settled. */
  protected get inFlight(): number {
    return this.timeline.size - this.waiting.size;
  }

  /** How many more requests the in-flight limit lets start now. */
  protected get room(): number {
    return this.limiter.limit - this.inFlight;
  }

  /** Tells the limiter the server signalled overload (429, refused stream, GOAWAY, timeout). */
  protected overloaded(signal: OverloadSignal): void {
    this.limiter.overload(signal);
  }

  /** Starts `request` on a connection now; false when no connection has room. */
  protected abstract start(request: PendingRequest): boolean;
  /** Called while requests wait: open connections, or fail the waiters if none can come. */
  protected abstract wantCapacity(): void;
  /** Stops an in-flight request on the wire (RST_STREAM CANCEL, socket destroy). */
  protected abstract cancel(request: PendingRequest): void;
  /** Closes every connection gracefully; resolves when they are all gone. */
  protected abstract closeConnections(): Promise<void>;
  /** Drops every connection now; resolves (never rejects) when their sockets have closed. */
  protected abstract destroyConnections(): Promise<void>;
  protected abstract connectionCount(): number;
  /**
   * Whether any byte of an in-flight request (one with a carrier) was handed to its socket:
   * from then on the server may have processed it although no answer comes back.
   */
  protected abstract wrote(request: PendingRequest): boolean;

  /**
   * True when a request failing now without a complete answer may nevertheless have been
   * processed by the server (a push delivered): it is in flight, its bytes were written, and no
   * error status came back. Queued requests and refused ones are not.
   */
  protected maybeDelivered(request: PendingRequest): boolean {
    if (request.settled || request.queued || request.carrier === null) return false;
    // An error status is the server's answer: it did not take the request, even if the rest was lost.
    if (request.status >= 400) return false;
    return this.wrote(request);
  }

  get stats(): PoolStats {
    return {
      connections: this.connectionCount(),
      inFlight: this.timeline.size - this.waiting.size,
      queued: this.waiting.size,
    };
  }

  request(request: TransportRequest): Promise<TransportResponse> {
    const refused = this.refusal(request);
    if (refused !== undefined) return Promise.reject(refused);
    let settle: Settle | undefined;
    const answer = new Promise<TransportResponse>((resolve, reject) => {
      settle = { resolve, reject };
    });
    this.admit(request, null, settle);
    return answer;
  }

  dispatch<T>(request: TransportRequest, sink: ResponseSink<T>, token: T): void {
    const refused = this.refusal(request);
    if (refused !== undefined) refuseLater(sink, refused, token);
    else this.admit(request, sink as ResponseSink<unknown>, token);
  }

  /** Why the pool takes no request now (closed, or the request's signal already aborted). */
  private refusal(request: TransportRequest): PushError | undefined {
    if (this.state !== 'open') {
      return new PushError('closed', `pool for ${this.origin} is closed`, { retryable: false });
    }
    const signal = request.signal;
    if (signal?.aborted) {
      return new PushError('aborted', 'request aborted before it was sent', { cause: signal.reason });
    }
    return undefined;
  }

  /** Takes a request: starts it now when the limit and a connection allow, else queues it. */
  private admit(
    request: TransportRequest,
    sink: ResponseSink<unknown> | null,
    token: unknown,
  ): PendingRequest {
    const now = msNow();
    this.lastRequestAt = Date.now();
    // Before this request joins the timeline (where it would count as in flight).
    const underLimit = this.room > 0;
    const pending = new PendingRequest(
      request,
      now + this.options.timeoutMs,
      this.options.maxResponseBodyBytes,
      sink,
      token,
    );
    this.timeline.push(pending);
    if (this.sweepTimer === null) this.startSweeping();
    const signal = request.signal;
    if (signal !== undefined) this.watch(signal, pending);
    if (this.waiting.size === 0 && underLimit) {
      pending.sentAt = now;
      if (this.startOrFail(pending)) return pending;
    }
    if (this.waiting.size >= this.options.maxQueued) {
      this.fail(
        pending,
        new PushError('unavailable', `too many requests waiting for ${this.origin}`, {
          reason: 'queue-full',
        }),
      );
      return pending;
    }
    this.waiting.push(pending);
    // Over the in-flight limit, a request waits for an answer, not for another connection.
    if (this.room > 0) this.wantCapacity();
    return pending;
  }

  /**
   * `start`, with a throw — a bug, e.g. a BodyWriter that throws — failing that request
   * `internal` before anything of it was sent, instead of leaving it to time out as if it might
   * have been delivered (and the caller's code, or the other requests, never seeing why).
   */
  private startOrFail(request: PendingRequest): boolean {
    try {
      return this.start(request);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      this.fail(
        request,
        new PushError('internal', `the request to ${this.origin} could not be started: ${message}`, {
          cause,
        }),
      );
      return true;
    }
  }

  /** Starts waiting requests while connections have room; asks for capacity if some still wait. */
  protected pump(): void {
    let next = this.waiting.head;
    const now = next === null ? 0 : msNow();
    while (next !== null && this.room > 0) {
      this.waiting.remove(next);
      next.sentAt = now;
      if (!this.startOrFail(next)) {
        this.waiting.unshift(next);
        break;
      }
      next = this.waiting.head;
    }
    if (this.waiting.size > 0 && this.room > 0) this.wantCapacity();
  }

  protected succeed(request: PendingRequest, response: TransportResponse): void {
    // Sampled before settling: the in-flight count is the one this answer came back under.
    if (!request.settled) this.answered(request, response.status);
    if (!this.settle(request)) return;
    if (requestEndWatched()) this.publishEnd(request, response.status, undefined);
    if (request.sink === null) (request.token as Settle).resolve(response);
    else this.handOver(request, response);
  }

  protected fail(request: PendingRequest, error: PushError): void {
    if (!this.settle(request)) return;
    if (requestEndWatched()) this.publishEnd(request, undefined, error.code);
    if (request.sink === null) (request.token as Settle).reject(error);
    else this.handOver(request, error);
  }

  /**
   * Queues a dispatched request's answer for its sink. They are handed over together in one
   * microtask, as a promise's reactions run: after the code that settled them (a frame reader
   * part-way through a read, a sweep, destroy()), never inside it, and in the order settled.
   */
  private handOver(request: PendingRequest, answer: TransportResponse | PushError): void {
    request.answer = answer;
    if (this.answersTail === null) {
      this.answersHead = request;
      queueMicrotask(this.handAnswers);
    } else this.answersTail.nextAnswer = request;
    this.answersTail = request;
  }

  private readonly handAnswers = (): void => {
    let request = this.answersHead;
    this.answersHead = null;
    this.answersTail = null;
    while (request !== null) {
      const next = request.nextAnswer;
      const answer = request.answer!;
      request.nextAnswer = null;
      request.answer = null;
      try {
        if (answer instanceof PushError) request.sink!.onError(answer, request.token);
        else request.sink!.onResponse(answer, request.token);
      } catch (error) {
        // A sink that throws is a bug of its own: it surfaces as an uncaught exception (as a
        // rejected promise nobody handles would), and the other answers are still handed over.
        queueMicrotask(() => {
          throw error;
        });
      }
      request = next;
    }
  };

  /**
   * Feeds the limiter: the round trip from leaving the queue (time spent waiting for the limit
   * or a connection is not the server's) and, for a 429, the overload.
   */
  private answered(request: PendingRequest, status: number): void {
    if (!this.limiter.adaptive) return;
    if (status === 429) this.limiter.overload('429');
    else this.limiter.sample(msNow() - request.sentAt, this.inFlight);
  }

  /** One message per settled request (no spread of an outcome object: this runs per request). */
  private publishEnd(request: PendingRequest, status: number | undefined, error: string | undefined): void {
    const durationMs = msNow() - (request.deadline - this.options.timeoutMs);
    publishRequestEnd(
      status !== undefined
        ? { origin: this.origin, status, durationMs }
        : { origin: this.origin, error: error!, durationMs },
    );
  }

  /** Fails every waiting request with `error` (the origin cannot be reached now). */
  protected failWaiting(error: PushError): void {
    let next = this.waiting.head;
    while (next !== null) {
      this.fail(next, error);
      next = this.waiting.head;
    }
  }

  /**
   * Puts back a request the server provably did not process (refused stream, above a GOAWAY's
   * last-stream-id) at the front of the queue, in arrival order among the re-sent: it is older
   * than everything never sent, and it is not an attempt. The caller pumps afterwards.
   */
  protected resend(request: PendingRequest, reason: string): void {
    request.resetResponse(this.options.maxResponseBodyBytes);
    if (++request.resends > MAX_RESENDS) {
      this.fail(request, lostError(reason, this.origin));
      return;
    }
    emit(this.options, { type: 'resend', origin: this.origin, reason });
    this.limiter.overload(reason === 'goaway' ? 'goaway' : 'refused');
    this.waiting.requeue(request);
  }

  abortRequest(request: PendingRequest): void {
    if (request.settled) return;
    const maybeDelivered = this.maybeDelivered(request);
    if (!request.queued && request.carrier !== null) this.cancel(request);
    this.fail(
      request,
      new PushError('aborted', maybeDelivered ? `request aborted ${AFTER_SENDING}` : 'request aborted', {
        cause: request.signal?.reason,
        retryable: false,
        maybeDelivered,
      }),
    );
  }

  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'closing';
    this.closing = new Promise<void>((resolve) => {
      this.resolveClosing = resolve;
    });
    if (this.timeline.size === 0) this.finishClose();
    return this.closing;
  }

  destroy(): Promise<void> {
    if (this.destroying !== null) return this.destroying;
    this.state = 'closed';
    this.stopSweeping();
    const error = new PushError('closed', `pool for ${this.origin} was destroyed`, { retryable: false });
    let next = this.timeline.head;
    while (next !== null) {
      const maybeDelivered = this.maybeDelivered(next);
      if (!next.queued && next.carrier !== null) this.cancel(next);
      this.fail(
        next,
        maybeDelivered ? error.with({ message: `${error.message} ${AFTER_SENDING}`, maybeDelivered }) : error,
      );
      next = this.timeline.head;
    }
    this.destroying = this.destroyConnections();
    // A close() still draining is over now.
    this.resolveClosed();
    return this.destroying;
  }

  private settle(request: PendingRequest): boolean {
    if (request.settled) return false;
    request.settled = true;
    if (request.queued) this.waiting.remove(request);
    this.timeline.remove(request);
    const watch = request.watch;
    if (watch !== null) {
      watch.remove(request);
      if (watch.size === 0) {
        watch.signal.removeEventListener('abort', watch);
        this.watches.delete(watch.signal);
      }
    }
    request.carrier = null;
    request.connection = null;
    if (this.timeline.size === 0) {
      this.stopSweeping();
      if (this.state === 'closing') queueMicrotask(() => this.finishClose());
    }
    return true;
  }

  private watch(signal: AbortSignal, request: PendingRequest): void {
    let watch = this.watches.get(signal);
    if (watch === undefined) {
      watch = new SignalWatch(signal, this);
      this.watches.set(signal, watch);
      signal.addEventListener('abort', watch);
    }
    watch.add(request);
  }

  private finishClose(): void {
    if (this.state !== 'closing' || this.timeline.size > 0) return;
    this.state = 'closed';
    this.stopSweeping();
    this.closeConnections().then(
      () => this.resolveClosed(),
      () => this.resolveClosed(),
    );
  }

  private resolveClosed(): void {
    const resolve = this.resolveClosing;
    this.resolveClosing = null;
    resolve?.();
  }

  private startSweeping(): void {
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepEveryMs);
    // Deadlines alone must not keep the process alive: open sockets do that while requests fly.
    this.sweepTimer.unref();
  }

  private stopSweeping(): void {
    if (this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  private sweep(): void {
    const now = msNow();
    let head = this.timeline.head;
    if (head !== null && head.deadline <= now && !head.queued) this.limiter.overload('timeout');
    while (head !== null && head.deadline <= now) {
      const maybeDelivered = this.maybeDelivered(head);
      if (!head.queued && head.carrier !== null) this.cancel(head);
      const message = `no response from ${this.origin} within ${this.options.timeoutMs} ms`;
      this.fail(
        head,
        new PushError('timeout', maybeDelivered ? `${message} ${AFTER_SENDING}` : message, {
          reason: head.queued ? 'queued' : 'in-flight',
          maybeDelivered,
        }),
      );
      head = this.timeline.head;
    }
  }
}

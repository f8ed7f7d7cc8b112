/**
 * One request's bookkeeping while it is queued or in flight, and the two intrusive lists
 * that hold it. Intrusive links make removal O(1) (abort, timeout, completion) without a
 * per-request closure or array splice on the hot path.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { PushError } from '../errors.js';
import type { RequestBody, ResponseSink, TransportRequest, TransportResponse } from './types.js';

/** What a pool does when a request's signal fires. */
export interface AbortTarget {
  abortRequest(request: PendingRequest): void;
}

/** Bits of PendingRequest's `flags`. */
const QUEUED = 1;
const SETTLED = 2;
const WRITTEN = 4;

/** Arrival order across every pool of the process (only compared within one pool). */
let arrivals = 0;

/**
 * The clock requests' times are kept in: milliseconds since this module loaded. An epoch time
 * (~1.7e12) is no small integer, so each field holding one cost V8 a heap number per request
 * in flight; these stay small integers for 24 days of uptime (and are no less right after).
 */
const ORIGIN = Date.now();
export function msNow(): number {
  return Date.now() - ORIGIN;
}

/** What `request()` answers: its promise's settle functions (a dispatched request has a sink). */
export interface Settle {
  resolve(response: TransportResponse): void;
  reject(error: PushError): void;
}

export class PendingRequest {
  /** Arrival order: re-sent requests go back into the queue in this order (see WaitQueue.requeue). */
  readonly seq = ++arrivals;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string> | undefined;
  readonly body: RequestBody | undefined;
  readonly signal: AbortSignal | undefined;
  /** When it times out, on the {@link msNow} clock. */
  readonly deadline: number;
  /**
   * Where the answer goes: the sink of a dispatched request, with its token; for `request()`,
   * no sink and a {@link Settle} as the token (a dispatched request holds no promise).
   */
  readonly sink: ResponseSink<unknown> | null;
  readonly token: unknown;
  /** A dispatched request's answer, while it waits in the pool's list of answers to hand over. */
  answer: TransportResponse | PushError | null = null;
  nextAnswer: PendingRequest | null = null;

  /** Links in the pool's timeline (every unsettled request, oldest deadline first). */
  prev: PendingRequest | null = null;
  next: PendingRequest | null = null;
  /** Links in the pool's wait queue (requests not yet on a connection). */
  qPrev: PendingRequest | null = null;
  qNext: PendingRequest | null = null;
  /**
   * `queued`, `settled` and `written` as bits of one field: one of these lives per request in
   * flight (10,000 at a time at real round trips), so each field costs 80 KB there.
   */
  private flags = 0;
  /** In the pool's wait queue. */
  get queued(): boolean {
    return (this.flags & QUEUED) !== 0;
  }
  set queued(on: boolean) {
    this.flags = on ? this.flags | QUEUED : this.flags & ~QUEUED;
  }
  /** Answered or failed: nothing more happens to it. */
  get settled(): boolean {
    return (this.flags & SETTLED) !== 0;
  }
  set settled(on: boolean) {
    this.flags = on ? this.flags | SETTLED : this.flags & ~SETTLED;
  }
  /** HTTP/1.1: the request got its socket, so its bytes went out (HTTP/2 asks the stream instead). */
  get written(): boolean {
    return (this.flags & WRITTEN) !== 0;
  }
  set written(on: boolean) {
    this.flags = on ? this.flags | WRITTEN : this.flags & ~WRITTEN;
  }
  /** Times re-sent because the server provably did not process it (not attempts). */
  resends = 0;
  /** When it last left the queue for a connection ({@link msNow}): its round trip starts there. */
  sentAt = 0;
  /** Links in the {@link SignalWatch} of this request's signal (requests sharing that signal). */
  watch: SignalWatch | null = null;
  sPrev: PendingRequest | null = null;
  sNext: PendingRequest | null = null;

  /** Transport-specific state while in flight: the stream or ClientRequest, and its connection. */
  carrier: unknown = null;
  connection: unknown = null;
  status = 0;
  responseHeaders: IncomingHttpHeaders | null = null;
  firstChunk: Buffer | null = null;
  chunks: Buffer[] | null = null;
  error: unknown = null;
  /** What is left of the response body bytes kept (the pool's `maxResponseBodyBytes`). */
  private bodyRoom: number;

  constructor(
    request: TransportRequest,
    deadline: number,
    maxBody = Number.POSITIVE_INFINITY,
    sink: ResponseSink<unknown> | null = null,
    token: unknown = undefined,
  ) {
    this.bodyRoom = maxBody;
    this.method = request.method ?? 'POST';
    this.path = request.path;
    this.headers = request.headers;
    this.body = request.body;
    this.signal = request.signal;
    this.deadline = deadline;
    this.sink = sink;
    this.token = token;
  }

  /**
   * Keeps a piece of the response body, up to the pool's `maxResponseBodyBytes` in all: what
   * comes beyond is read and dropped, so a server streaming a body for the whole timeout costs no
   * memory. Providers read a status and a short reason; nothing they use is that long.
   */
  addChunk(chunk: Buffer): void {
    if (chunk.length > this.bodyRoom) {
      if (this.bodyRoom === 0) return;
      chunk = chunk.subarray(0, this.bodyRoom);
    }
    this.bodyRoom -= chunk.length;
    if (this.firstChunk === null) this.firstChunk = chunk;
    else if (this.chunks === null) this.chunks = [this.firstChunk, chunk];
    else this.chunks.push(chunk);
  }

  /** The request body's bytes, for writing: a `BodyWriter`'s are made now (see BodyWriter). */
  bodyBytes(): Buffer | string | undefined {
    const body = this.body;
    return body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : body.body();
  }

  /** The response body: most push responses are empty or one small chunk, so avoid concat. */
  takeBody(): Buffer {
    const body = this.chunks !== null ? Buffer.concat(this.chunks) : (this.firstChunk ?? EMPTY);
    this.firstChunk = null;
    this.chunks = null;
    return body;
  }

  /** Forgets response state before a transparent re-send (`maxBody`: as given to the constructor). */
  resetResponse(maxBody: number): void {
    this.carrier = null;
    this.connection = null;
    this.status = 0;
    this.responseHeaders = null;
    this.firstChunk = null;
    this.chunks = null;
    this.bodyRoom = maxBody;
    this.error = null;
    this.written = false;
  }
}

const EMPTY = Buffer.alloc(0);

/** A connection that a response can retire. */
export interface Retirable {
  retire(): void;
}

export class PooledResponse implements TransportResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  private readonly connection: Retirable | null;

  constructor(status: number, headers: IncomingHttpHeaders, body: Buffer, connection: Retirable | null) {
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.connection = connection;
  }

  retireConnection(): void {
    this.connection?.retire();
  }
}

/** Every unsettled request in arrival order. One timeout per pool means arrival order is deadline order. */
export class Timeline {
  head: PendingRequest | null = null;
  tail: PendingRequest | null = null;
  size = 0;

  push(request: PendingRequest): void {
    request.prev = this.tail;
    request.next = null;
    if (this.tail === null) this.head = request;
    else this.tail.next = request;
    this.tail = request;
    this.size++;
  }

  remove(request: PendingRequest): void {
    if (request.prev === null) this.head = request.next;
    else request.prev.next = request.next;
    if (request.next === null) this.tail = request.prev;
    else request.next.prev = request.prev;
    request.prev = null;
    request.next = null;
    this.size--;
  }
}

/** FIFO of requests waiting for a stream; re-sent requests go back to the front, oldest first. */
export class WaitQueue {
  head: PendingRequest | null = null;
  tail: PendingRequest | null = null;
  size = 0;
  /** The last request requeue() placed: where the next one, usually just younger, goes after. */
  private requeued: PendingRequest | null = null;

  push(request: PendingRequest): void {
    request.qPrev = this.tail;
    request.qNext = null;
    if (this.tail === null) this.head = request;
    else this.tail.qNext = request;
    this.tail = request;
    request.queued = true;
    this.size++;
  }

  unshift(request: PendingRequest): void {
    request.qNext = this.head;
    request.qPrev = null;
    if (this.head === null) this.tail = request;
    else this.head.qPrev = request;
    this.head = request;
    request.queued = true;
    this.size++;
  }

  /**
   * Puts back a request that was sent and provably not processed, before every request that
   * arrived after it. Everything never sent is younger than everything sent, so re-sent
   * requests gather at the front in arrival order. Plain unshift() would reverse them: a GOAWAY
   * leaves streams last-stream-id+1.. unprocessed, they close in stream order, and the
   * reversed batch puts the oldest on the highest stream ids of the next connection — beyond
   * the next GOAWAY's last-stream-id again when the server limits requests per connection
   * (nginx keepalive_requests), until they run out of re-sends.
   */
  requeue(request: PendingRequest): void {
    // Streams close in stream-id order, so the batch arrives oldest first: start from the
    // previous insertion instead of the head (O(1) per request for the common case).
    const hint = this.requeued;
    let before = hint?.queued && hint.seq < request.seq ? hint.qNext : this.head;
    while (before !== null && before.seq < request.seq) before = before.qNext;
    this.requeued = request;
    if (before === null) {
      this.push(request);
      return;
    }
    request.qNext = before;
    request.qPrev = before.qPrev;
    if (before.qPrev === null) this.head = request;
    else before.qPrev.qNext = request;
    before.qPrev = request;
    request.queued = true;
    this.size++;
  }

  shift(): PendingRequest | null {
    const request = this.head;
    if (request !== null) this.remove(request);
    return request;
  }

  remove(request: PendingRequest): void {
    if (request.qPrev === null) this.head = request.qNext;
    else request.qPrev.qNext = request.qNext;
    if (request.qNext === null) this.tail = request.qPrev;
    else request.qNext.qPrev = request.qPrev;
    request.qPrev = null;
    request.qNext = null;
    request.queued = false;
    this.size--;
  }
}

/**
 * The requests of one pool that share an AbortSignal, behind ONE listener on that signal.
 * Callers usually pass the same signal with every request of a send (the engine does), and
 * Node's EventTarget walks all of a signal's listeners on every add and remove, so a listener
 * per request made each request O(in-flight): 7% of the client's CPU at 1000 in flight.
 * Linking and unlinking here is O(1); the listener goes when the last request settles.
 */
export class SignalWatch {
  readonly signal: AbortSignal;
  private readonly target: AbortTarget;
  head: PendingRequest | null = null;
  tail: PendingRequest | null = null;
  size = 0;

  constructor(signal: AbortSignal, target: AbortTarget) {
    this.signal = signal;
    this.target = target;
  }

  /** EventListener for the signal (an object listener: no closure). Aborts every request, oldest first. */
  handleEvent(): void {
    let request = this.head;
    while (request !== null) {
      // Aborting settles the request, which unlinks it; read the next one first.
      const next = request.sNext;
      this.target.abortRequest(request);
      request = next;
    }
  }

  add(request: PendingRequest): void {
    request.watch = this;
    request.sPrev = this.tail;
    request.sNext = null;
    if (this.tail === null) this.head = request;
    else this.tail.sNext = request;
    this.tail = request;
    this.size++;
  }

  remove(request: PendingRequest): void {
    if (request.sPrev === null) this.head = request.sNext;
    else request.sPrev.sNext = request.sNext;
    if (request.sNext === null) this.tail = request.sPrev;
    else request.sNext.sPrev = request.sPrev;
    request.sPrev = null;
    request.sNext = null;
    request.watch = null;
    this.size--;
  }
}

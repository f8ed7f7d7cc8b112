/**
 * The feedback queue between the engine and the one consumer of a delivery. It is an
 * AsyncIterator written by hand (no async generator) because every device passes through it:
 * a ready item costs one resolved promise, nothing more.
 *
 * The engine watches `backlog` to stop reading devices while feedback piles up unread
 * (bounded memory), and is told through `onTake` when the consumer makes room.
 */
export class Channel<T> implements AsyncIterator<T> {
  private buffer: T[] = [];
  private head = 0;
  private waiter: ((result: IteratorResult<T>) => void) | undefined;
  private failWaiter: ((error: unknown) => void) | undefined;
  private ended = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly onTake: () => void,
    private readonly onReturn: () => void,
  ) {}

  /** Items written and not yet taken. */
  get backlog(): number {
    return this.buffer.length - this.head;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  push(item: T): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.failWaiter = undefined;
      waiter({ value: item, done: false });
      this.onTake();
      return;
    }
    this.buffer.push(item);
  }

  /** No more items; a consumer gets what is buffered, then the end (or `error`, when given). */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (error !== undefined) this.failure = { error };
    if (this.waiter) {
      const waiter = this.waiter;
      const failWaiter = this.failWaiter!;
      this.waiter = undefined;
      this.failWaiter = undefined;
      if (this.failure) failWaiter(this.failure.error);
      else waiter({ value: undefined, done: true });
    }
  }

  /** Drops whatever is buffered (a delivery nobody iterates, once `done` is awaited). */
  discard(): void {
    this.buffer = [];
    this.head = 0;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head]!;
      this.buffer[this.head] = undefined as T; // let it be collected
      this.head++;
      // Taken slots are compacted away in bulk, not whenever the buffer runs empty: a consumer
      // that keeps up empties it after every item, and a new array each time was garbage per item.
      if (this.head >= 4096 && this.head * 2 >= this.buffer.length) {
        this.buffer = this.buffer.slice(this.head);
        this.head = 0;
      }
      this.onTake();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined; // thrown once
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failWaiter = reject;
    });
  }

  /** The consumer left the loop early (`break`, `throw`). */
  return(): Promise<IteratorResult<T>> {
    this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }
}

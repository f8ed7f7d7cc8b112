/**
 * The source behind a push-style session: the caller pushes devices, the engine pulls them
 * when it has room, and each `push()` resolves only when its device was taken — the
 * backpressure of the Go original's unbuffered channel.
 */
import { PushError } from '../errors.js';
import type { Pulled, Puller } from './source.js';

interface Waiting<D> {
  device: D;
  taken: () => void;
  refused: (error: PushError) => void;
}

export class PushSource<D> implements Puller<D> {
  private readonly waiting: Waiting<D>[] = [];
  private reader: ((pulled: Pulled<D>) => void) | undefined;
  private ended = false;
  private closed = false;

  push(device: D): Promise<void> {
    if (this.ended || this.closed) {
      return Promise.reject(
        new PushError(
          this.closed ? 'aborted' : 'closed',
          this.closed ? 'the session was stopped' : 'push() after end()',
        ),
      );
    }
    if (this.reader) {
      const reader = this.reader;
      this.reader = undefined;
      reader({ done: false, value: device });
      return Promise.resolve();
    }
    return new Promise((taken, refused) => this.waiting.push({ device, taken, refused }));
  }

  end(): void {
    this.ended = true;
    if (this.reader && this.waiting.length === 0) {
      const reader = this.reader;
      this.reader = undefined;
      reader({ done: true });
    }
  }

  next(): Pulled<D> | Promise<Pulled<D>> {
    const first = this.waiting.shift();
    if (first) {
      first.taken();
      return { done: false, value: first.device };
    }
    if (this.ended || this.closed) return { done: true };
    return new Promise((resolve) => {
      this.reader = resolve;
    });
  }

  /** The engine stopped reading (abort, close): devices still waiting were never handed in. */
  close(): void {
    this.closed = true;
    const refused = new PushError('aborted', 'the session stopped before this device was taken');
    for (const waiting of this.waiting.splice(0)) waiting.refused(refused);
    if (this.reader) {
      const reader = this.reader;
      this.reader = undefined;
      reader({ done: true });
    }
  }
}

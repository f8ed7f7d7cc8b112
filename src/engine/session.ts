import type { Device } from '../device.js';
import type { Feedback } from '../feedback.js';
import type { Delivery } from './delivery.js';
import type { PushSource } from './push-source.js';
import type { Summary } from './summary.js';

/**
 * A push-style send, for callers that receive devices in callbacks:
 * `await session.push(device)` resolves when the engine has room for it.
 * Iterate the session (or await `done`) for feedback, exactly as with a {@link Delivery}.
 */
export interface Session<D extends Device = Device> extends Delivery<D> {
  /** Hands in one device; resolves once the engine has taken it (backpressure). Rejects after `end()`. */
  push(device: D): Promise<void>;
  /** No more devices: the session finishes once every device handed in has its feedback. */
  end(): void;
}

export class SessionHandle<D extends Device> implements Session<D> {
  constructor(
    private readonly source: PushSource<D>,
    private readonly delivery: Delivery<D>,
  ) {}

  push(device: D): Promise<void> {
    return this.source.push(device);
  }

  end(): void {
    this.source.end();
  }

  get summary(): Summary {
    return this.delivery.summary;
  }

  get done(): Promise<Summary> {
    return this.delivery.done;
  }

  abort(reason?: string): void {
    this.delivery.abort(reason);
  }

  stop(): number {
    return this.delivery.stop();
  }

  [Symbol.asyncIterator](): AsyncIterator<Feedback<D>> {
    return this.delivery[Symbol.asyncIterator]();
  }
}

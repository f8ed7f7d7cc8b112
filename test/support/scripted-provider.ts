/**
 * An in-memory provider that answers each device from a script carried on the device itself,
 * so tests (and property tests) state exactly what the "provider" will say at each attempt.
 */
import type { Device, Platform } from '../../src/device.js';
import { PushError } from '../../src/errors.js';
import type { Notification } from '../../src/notification.js';
import type { Outcome, PreparedSend, Provider, SendContext } from '../../src/provider.js';

/** What the provider does at one attempt. */
export type Step =
  | 'ok'
  | 'invalid' // invalid-token
  | 'retry' // unavailable, retryable, no Retry-After
  | { retryAfterMs: number } // rate-limited with Retry-After
  | 'bad' // bad-request (permanent)
  | 'config' // auth error that stops the lane
  | 'throw' // send() throws synchronously
  | 'reject' // send() returns a rejected promise
  | 'hang'; // never answers until aborted

export interface ScriptedDevice extends Device {
  id: number;
  /** Step per attempt; the last one repeats. */
  script: Step[];
  /** Milliseconds before answering (0 = in a microtask). */
  delayMs?: number;
}

export interface ScriptedOptions {
  name?: string;
  platforms?: Platform[];
  app?: string;
  concurrency?: number;
  batchSize?: number;
  /** Makes prepare() throw this. */
  prepareError?: Error;
  /** Makes every sendBatch() reject with this. */
  batchFailure?: Error;
  /** Makes prepare() throw what this returns for a notification (personalised sends). */
  rejectNotification?: (notification: Notification) => Error | undefined;
}

export class ScriptedProvider implements Provider {
  readonly name: string;
  readonly platforms: Platform[];
  readonly app: string | undefined;
  readonly concurrency: number | undefined;
  readonly batchSize: number | undefined;
  /** Attempts seen per device id. */
  readonly attempts = new Map<number, number>();
  /** Timestamps (ms) of each attempt per device id. */
  readonly attemptTimes = new Map<number, number[]>();
  readonly batches: number[] = [];
  /** The notification each attempt was sent with, per device id. */
  readonly sentWith = new Map<number, Notification[]>();
  inFlight = 0;
  maxInFlight = 0;
  requests = 0;
  prepares = 0;
  closed = false;
  private readonly hanging = new Set<() => void>();

  constructor(private readonly options: ScriptedOptions = {}) {
    this.name = options.name ?? 'scripted';
    this.platforms = options.platforms ?? ['android'];
    this.app = options.app;
    this.concurrency = options.concurrency;
    this.batchSize = options.batchSize;
  }

  prepare(notification: Notification = {}): PreparedSend {
    this.prepares++;
    if (this.options.prepareError) throw this.options.prepareError;
    const rejected = this.options.rejectNotification?.(notification);
    if (rejected) throw rejected;
    const one = (device: Device, ctx: SendContext) => {
      const id = (device as ScriptedDevice).id;
      this.sentWith.set(id, [...(this.sentWith.get(id) ?? []), notification]);
      return this.answer(device as ScriptedDevice, ctx);
    };
    if ((this.batchSize ?? 1) > 1) {
      return {
        // A device scripted to throw/reject fails alone (as an `internal` outcome); the
        // `batchFailure` option makes the whole request fail instead.
        sendBatch: (devices, ctx) => {
          this.batches.push(devices.length);
          if (this.options.batchFailure) return Promise.reject(this.options.batchFailure);
          return Promise.all(
            devices.map((device) => {
              try {
                return one(device, ctx).catch((error: Error) => this.internal(error));
              } catch (error) {
                return Promise.resolve(this.internal(error as Error));
              }
            }),
          );
        },
      };
    }
    return { send: one };
  }

  /** Answers every hanging request (as `unavailable`). */
  releaseHanging(): void {
    for (const release of this.hanging) release();
    this.hanging.clear();
  }

  private answer(device: ScriptedDevice, ctx: SendContext): Promise<Outcome> {
    const attempt = (this.attempts.get(device.id) ?? 0) + 1;
    this.attempts.set(device.id, attempt);
    const times = this.attemptTimes.get(device.id) ?? [];
    times.push(Date.now());
    this.attemptTimes.set(device.id, times);
    this.requests++;
    const step = device.script[Math.min(attempt, device.script.length) - 1] ?? 'ok';
    if (step === 'throw') throw new Error('scripted provider blew up');
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const settle = (outcome: Outcome): Outcome => {
      this.inFlight--;
      return outcome;
    };
    if (step === 'hang') {
      return new Promise((resolve) => {
        const release = () => {
          ctx.signal.removeEventListener('abort', onAbort);
          resolve(
            settle({ ok: false, error: new PushError('unavailable', 'released', { provider: this.name }) }),
          );
        };
        const onAbort = () => {
          this.hanging.delete(release);
          resolve(
            settle({
              ok: false,
              error: new PushError('aborted', 'aborted in flight', { provider: this.name }),
            }),
          );
        };
        this.hanging.add(release);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    if (step === 'reject') {
      this.inFlight--;
      return Promise.reject(new Error('scripted provider rejected'));
    }
    const outcome = this.outcomeFor(step);
    if (!device.delayMs) return Promise.resolve(settle(outcome));
    return new Promise((resolve) => setTimeout(() => resolve(settle(outcome)), device.delayMs));
  }

  private internal(error: Error): Outcome {
    return { ok: false, error: new PushError('internal', error.message, { provider: this.name }) };
  }

  private outcomeFor(step: Exclude<Step, 'throw' | 'reject' | 'hang'>): Outcome {
    const provider = this.name;
    if (step === 'ok') return { ok: true, messageId: 'm', httpStatus: 200 };
    if (step === 'invalid')
      return { ok: false, error: new PushError('invalid-token', 'gone', { provider, httpStatus: 410 }) };
    if (step === 'retry')
      return { ok: false, error: new PushError('unavailable', 'try later', { provider, httpStatus: 503 }) };
    if (step === 'bad')
      return { ok: false, error: new PushError('bad-request', 'bad', { provider, httpStatus: 400 }) };
    if (step === 'config')
      return { ok: false, error: new PushError('auth', 'bad key', { provider, httpStatus: 403 }) };
    return {
      ok: false,
      error: new PushError('rate-limited', 'slow down', {
        provider,
        httpStatus: 429,
        retryAfterMs: step.retryAfterMs,
      }),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async destroy(): Promise<void> {
    this.closed = true;
  }
}

/** Devices 0..n-1 with the given script for each. */
export function* scriptedDevices(
  n: number,
  scriptFor: (i: number) => Step[] = () => ['ok'],
  platform: Platform = 'android',
): Generator<ScriptedDevice> {
  for (let id = 0; id < n; id++) yield { platform, token: `t${id}`, id, script: scriptFor(id) };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

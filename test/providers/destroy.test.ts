/**
 * `PushClient.destroy()` is a promise that resolves once the providers hold nothing: client
 * sockets closed (APNs on its emulator), encryption workers exited (Web Push), and it settles
 * for every provider even when one provider's destroy fails.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { startApnsEmulator } from '../../src/emulator/apns/index.js';
import { startWebPushEmulator } from '../../src/emulator/webpush/index.js';
import { apns, type Device, type Feedback, PushClient, webPush } from '../../src/index.js';
import type { Outcome, Provider } from '../../src/provider.js';

const token = (i: number) => i.toString(16).padStart(8, '0').repeat(8);

function* iosDevices(n: number): Generator<Device> {
  for (let i = 0; i < n; i++) yield { platform: 'ios', token: token(i) };
}

/**
 * Counts the client sockets opened (TLS sockets connect through net.Socket#connect) and those
 * that emitted 'close' (`socket.closed` turns true at destroy(), before the socket is released).
 */
function watchClientSockets(): { opened: number; open: () => number; restore: () => void } {
  let opened = 0;
  let closed = 0;
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    opened++;
    this.once('close', () => closed++);
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
  return {
    get opened() {
      return opened;
    },
    open: () => opened - closed,
    restore: () => (net.Socket.prototype.connect = original),
  };
}

describe('PushClient.destroy()', () => {
  it('resolves only once the APNs connections are closed, and the send ends', async (t) => {
    const emulator = await startApnsEmulator({ record: false });
    t.after(() => emulator.close());
    const watch = watchClientSockets();
    t.after(watch.restore);
    const client = new PushClient({ providers: [apns({ ...emulator.providerOptions, production: false })] });
    // For an assertion failing before destroy() (a second destroy is harmless, as tested below).
    t.after(() => client.destroy());
    const delivery = client.send({ title: 'Hi', body: 'destroy me' }, iosDevices(5000));
    const feedback = delivery[Symbol.asyncIterator]();
    const first = await feedback.next();
    assert.equal(first.done, false);
    watch.restore();

    await client.destroy();
    assert.ok(watch.opened >= 1, 'the provider connected');
    assert.equal(watch.open(), 0, `${watch.open()} of ${watch.opened} sockets still open`);

    // The send ends (devices handed in and unanswered are answered `aborted`).
    for (let next = await feedback.next(); !next.done; next = await feedback.next());
    // A second destroy is harmless.
    await client.destroy();
  });

  it('resolves only once the Web Push encryption workers have exited', async (t) => {
    const emulator = await startWebPushEmulator({ origins: 1 });
    t.after(() => emulator.close());
    let terminated = 0;
    let exited = 0;
    const terminate = Worker.prototype.terminate;
    Worker.prototype.terminate = function (this: Worker) {
      terminated++;
      this.once('exit', () => exited++);
      return terminate.call(this);
    };
    t.after(() => {
      Worker.prototype.terminate = terminate;
    });
    const client = new PushClient({
      providers: [webPush({ ...emulator.providerOptions, encryptionThreads: 1 })],
    });
    t.after(() => client.destroy());
    const subscription = emulator.subscribe({ origin: 0 });
    const devices: Device[] = [{ platform: 'web', token: subscription }];
    let feedback: Feedback | undefined;
    for await (const answer of client.send({ title: 'Hi', body: 'encrypted on a worker' }, devices))
      feedback = answer;
    assert.equal(feedback?.status, 'sent', feedback?.error?.message);

    await client.destroy();
    assert.ok(terminated >= 1, 'the provider encrypted on a worker');
    assert.equal(exited, terminated, 'every worker has exited when destroy resolves');
  });

  it("runs every provider's destroy to the end, then rejects with an AggregateError of the failures", async () => {
    const sent: Promise<Outcome> = Promise.resolve({ ok: true, httpStatus: 200 });
    let slowDone = false;
    const slow: Provider = {
      name: 'slow',
      platforms: ['ios'],
      prepare: () => ({ send: () => sent }),
      close: async () => {},
      destroy: () =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            slowDone = true;
            resolve();
          }, 30),
        ),
    };
    const rejecting: Provider = {
      name: 'rejecting',
      platforms: ['android'],
      prepare: () => ({ send: () => sent }),
      close: async () => {},
      destroy: () => Promise.reject(new Error('rejecting: boom')),
    };
    const throwing: Provider = {
      name: 'throwing',
      platforms: ['web'],
      prepare: () => ({ send: () => sent }),
      close: async () => {},
      destroy: () => {
        throw new Error('throwing: boom');
      },
    };
    const client = new PushClient({ providers: [rejecting, throwing, slow] });
    const destroyed = client.destroy();
    assert.equal(client.destroy(), destroyed, 'a second call returns the same promise');
    await assert.rejects(destroyed, (error: unknown) => {
      assert.ok(error instanceof AggregateError);
      assert.deepEqual(
        error.errors.map((e: Error) => e.message),
        ['rejecting: boom', 'throwing: boom'],
      );
      return true;
    });
    assert.equal(slowDone, true, "the slow provider's destroy finished before the client's settled");
  });
});

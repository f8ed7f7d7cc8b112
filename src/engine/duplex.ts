/**
 * The `stream.pipeline()` form of a send: devices written in, feedback read out, both in
 * object mode. Writes resolve at the engine's pace (backpressure), so a pipeline from a
 * database stream never buffers more than the engine's window.
 */
import { Duplex } from 'node:stream';
import type { Device } from '../device.js';
import type { Feedback } from '../feedback.js';
import type { Session } from './session.js';

export function sessionDuplex<D extends Device>(session: Session<D>): Duplex {
  const feedback = session[Symbol.asyncIterator]();
  let reading = false;
  const duplex: Duplex = new Duplex({
    objectMode: true,
    // One device in the writable buffer: the session itself is the buffer.
    writableHighWaterMark: 1,
    write(device: D, _encoding, callback) {
      session.push(device).then(() => callback(), callback);
    },
    final(callback) {
      session.end();
      callback();
    },
    read() {
      if (reading) return;
      reading = true;
      const pump = (): void => {
        feedback.next().then(
          (result: IteratorResult<Feedback<D>>) => {
            if (result.done) {
              reading = false;
              duplex.push(null);
              return;
            }
            if (duplex.push(result.value)) pump();
            else reading = false;
          },
          (error: unknown) => {
            reading = false;
            duplex.destroy(error instanceof Error ? error : new Error(String(error)));
          },
        );
      };
      pump();
    },
    destroy(error, callback) {
      session.abort(error ? error.message : 'the stream was destroyed');
      callback(error);
    },
  });
  return duplex;
}

/**
 * The wire client (src/transport/wire/, pushline's own HTTP/2 framing) behind the pool's seam
 * (h2-client.ts). Thin on purpose: WireSession already speaks the pool's terms.
 */
import type { Socket } from 'node:net';
import {
  CANCEL,
  type H2Client,
  type H2ConnectOptions,
  type H2Session,
  type H2Stream,
  type H2Written,
} from './h2-client.js';
import { DirectReader } from './wire/direct-reader.js';
import { WireSession } from './wire/session.js';
import type { WireStream } from './wire/stream.js';

class WireH2Session implements H2Session {
  private readonly wire: WireSession;

  constructor(wire: WireSession, options: H2ConnectOptions) {
    this.wire = wire;
    const events = options.events;
    wire.on('remoteSettings', events.settings);
    wire.on('goaway', events.goaway);
    wire.on('error', events.error);
    wire.on('close', events.close);
  }

  get closed(): boolean {
    return this.wire.closed;
  }

  get destroyed(): boolean {
    return this.wire.destroyed;
  }

  request(
    method: string,
    path: string,
    headers: Record<string, string> | undefined,
    body: Buffer | string | undefined,
  ): H2Stream {
    // The wire session caches the encoding of `headers` by identity: pass it as is.
    return this.wire.request(method, path, headers, body);
  }

  wrote(stream: H2Stream): H2Written {
    const wire = this.wire;
    if (wire.wrote(stream as WireStream)) return 'sent';
    // Its HEADERS are still queued in the session and go out at the next flush, even if the
    // stream is cancelled meanwhile — unless the session dies first.
    return wire.destroyed ? 'unsent' : 'queued';
  }

  cancel(stream: H2Stream): void {
    const wire = stream as WireStream;
    if (!wire.closed && !wire.destroyed) wire.close(CANCEL);
  }

  ping(callback: (error: Error | null) => void): boolean {
    return this.wire.ping(callback);
  }

  close(): void {
    this.wire.close();
  }

  destroy(error?: Error): void {
    this.wire.destroy(error);
  }

  ref(): void {
    this.wire.ref();
  }

  unref(): void {
    this.wire.unref();
  }
}

/** pushline's own HTTP/2 client: reads the socket through `onread` when it can. */
export const wireH2: H2Client = {
  createReader: () => new DirectReader(),
  connect(socket: Socket, options: H2ConnectOptions): H2Session {
    const wire = new WireSession(socket, {
      authority: options.authority,
      scheme: options.scheme,
      handlers: options.handlers,
      maxHeaderListSize: options.maxHeaderListSize,
      // The reader is the one createReader made above.
      ...(options.reader === undefined ? {} : { reader: options.reader as DirectReader }),
    });
    return new WireH2Session(wire, options);
  },
};

/**
 * A hand-written HTTP/2 server (cleartext, prior knowledge) for misbehaviour no real server
 * produces on request: header bombs, endless CONTINUATION, oversized frames, endless bodies.
 * It speaks just enough HTTP/2 to be a peer — preface, SETTINGS and their ACKs, request
 * HEADERS — and hands each request stream to the test's `answer`, which writes whatever
 * frames it likes. It counts what it received and sent, so a test can see losses and bound
 * what a client swallowed before it gave up.
 */
import net, { type AddressInfo } from 'node:net';
import * as F from '../../../src/transport/wire/frames.js';
import { ByteWriter, HpackEncoder } from '../../../src/transport/wire/hpack-encoder.js';

export function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  F.writeFrameHeader(header, 0, payload.length, type, flags, id);
  return Buffer.concat([header, payload]);
}

export interface HostileConnection {
  readonly socket: net.Socket;
  /** Bytes written to this connection after the request arrived. */
  sentAfterRequest: number;
  /** Writes frames unless the client is gone; false once it is (or the socket is backed up). */
  write(bytes: Buffer): boolean;
  /** A header block fragment encoded by this connection's own HPACK encoder. */
  block(fields: Array<[string, string]>): Buffer;
  /** The GOAWAY error code the client sent, if any. */
  goawayCode: number | undefined;
}

export type Answer = (conn: HostileConnection, streamId: number) => void;

export interface HostileServer {
  origin: string;
  /** Requests (HEADERS frames) received, over all connections. */
  requests: number;
  connections: HostileConnection[];
  close(): Promise<void>;
}

export async function startHostileServer(answer: Answer): Promise<HostileServer> {
  const sockets = new Set<net.Socket>();
  const result: HostileServer = {
    origin: '',
    requests: 0,
    connections: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const encoder = new HpackEncoder();
    const conn: HostileConnection = {
      socket,
      sentAfterRequest: 0,
      goawayCode: undefined,
      write(bytes) {
        if (socket.destroyed || !socket.writable) return false;
        return socket.write(bytes);
      },
      block(fields) {
        const w = new ByteWriter();
        encoder.beginBlock(w);
        for (const [name, value] of fields) encoder.field(w, name, value, 'without');
        return w.take();
      },
    };
    result.connections.push(conn);
    const write = conn.write;
    let requested = false;
    conn.write = (bytes) => {
      if (requested) conn.sentAfterRequest += bytes.length;
      return write(bytes);
    };
    socket.write(frame(F.SETTINGS, 0, 0));
    let buf = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!prefaceSeen) {
        if (buf.length < F.PREFACE.length) return;
        buf = buf.subarray(F.PREFACE.length);
        prefaceSeen = true;
      }
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const id = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + length);
        buf = buf.subarray(9 + length);
        if (type === F.SETTINGS && (flags & F.FLAG_ACK) === 0) socket.write(frame(F.SETTINGS, F.FLAG_ACK, 0));
        else if (type === F.PING && (flags & F.FLAG_ACK) === 0)
          socket.write(frame(F.PING, F.FLAG_ACK, 0, payload));
        else if (type === F.GOAWAY && payload.length >= 8) conn.goawayCode = payload.readUInt32BE(4);
        else if (type === F.HEADERS) {
          result.requests++;
          requested = true;
          answer(conn, id);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  result.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return result;
}

/**
 * Writes `next()` frames as fast as the client reads them until it closes the connection or
 * `maxBytes` went out; resolves with the bytes written. A server "streaming forever", bounded.
 */
export function flood(conn: HostileConnection, next: () => Buffer, maxBytes: number): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    const pump = (): void => {
      while (sent < maxBytes) {
        if (conn.socket.destroyed || !conn.socket.writable) {
          resolve(sent);
          return;
        }
        const bytes = next();
        sent += bytes.length;
        if (!conn.write(bytes)) {
          conn.socket.once('drain', pump);
          return;
        }
      }
      resolve(sent);
    };
    conn.socket.once('close', () => resolve(sent));
    pump();
  });
}

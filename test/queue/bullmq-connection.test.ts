/**
 * A BullMQ connection closed while its start-up `INFO` is still out must not crash the
 * process (src/queue/bullmq-connection.ts). The Redis here is a fake that answers ioredis's
 * ready check and then never answers BullMQ's own `INFO`, which holds the connection in that
 * window every time instead of once in a while. With BullMQ's own `RedisConnection` in place of
 * ours the test fails: the process sees an uncaught "Connection is closed.".
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import type { RedisConnection } from 'bullmq';
import { QuietClosingConnection } from '../../src/queue/bullmq-connection.js';

const INFO = '# Server\r\nredis_version:7.2.0\r\nloading:0\r\n';

/** The commands in `buffer` (RESP arrays of bulk strings), and the bytes left over. */
function parseCommands(buffer: string): { commands: string[][]; rest: string } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    const header = /^\*(\d+)\r\n/.exec(buffer.slice(at));
    if (!header) break;
    let cursor = at + header[0].length;
    const args: string[] = [];
    for (let i = 0; i < Number(header[1]); i += 1) {
      const length = /^\$(\d+)\r\n/.exec(buffer.slice(cursor));
      if (!length || buffer.length < cursor + length[0].length + Number(length[1]) + 2) break;
      cursor += length[0].length;
      args.push(buffer.slice(cursor, cursor + Number(length[1])));
      cursor += Number(length[1]) + 2;
    }
    if (args.length !== Number(header[1])) break;
    commands.push(args);
    at = cursor;
  }
  return { commands, rest: buffer.slice(at) };
}

/** A RESP server that answers the first INFO and then goes silent; counts the INFOs it got. */
async function stallingRedis(): Promise<{ port: number; infos: () => number; close: () => void }> {
  let infos = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let pending = '';
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      const { commands, rest } = parseCommands(pending + data.toString('latin1'));
      pending = rest;
      for (const [name] of commands) {
        if (name?.toLowerCase() !== 'info') socket.write('+OK\r\n');
        else if (++infos === 1) socket.write(`$${Buffer.byteLength(INFO)}\r\n${INFO}\r\n`);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    infos: () => infos,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** Opens a connection of `Connection`, closes it while its version INFO is out, returns what escaped. */
async function closeDuringInit(Connection: typeof RedisConnection): Promise<unknown[]> {
  const redis = await stallingRedis();
  const escaped: unknown[] = [];
  const onEscape = (error: unknown) => escaped.push(error);
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  try {
    const connection = new Connection({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null });
    connection.on('error', () => undefined); // what Queue/Worker attach; close() removes it
    const deadline = Date.now() + 5000;
    while (redis.infos() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(redis.infos(), 2, 'BullMQ sent its version INFO after the ready check');
    assert.equal(connection.status, 'initializing');
    await connection.close();
    // The init fails once the client's socket has closed: give that time to happen.
    await connection.client.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    return escaped;
  } finally {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
    redis.close();
  }
}

test('a connection closed while BullMQ waits for its version INFO: nothing escapes', async () => {
  const escaped = await closeDuringInit(QuietClosingConnection);
  assert.deepEqual(escaped, []);
});

/**
 * A BullMQ connection closed while its start-up `INFO` is still out must not crash the
 * process (src/queue/bullmq-connection.ts). The Redis here is a fake that answers ioredis's
 * ready check and then never answers BullMQ's own `INFO`, which holds the connection in that
 * window every time instead of once in a while. With BullMQ's own `RedisConnection` in place of
 * ours the test fails: the process sees an uncaught "Connection is closed.". The same holds for
 * a Worker's blocking connection, which BullMQ makes itself (it failed a CI run: a worker
 * stopped by SIGTERM just after it started).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { RedisConnection } from 'bullmq';
import { ClosableWorker } from '../../src/queue/bullmq-close.js';
import { QuietClosingConnection, quietWhenClosing } from '../../src/queue/bullmq-connection.js';

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

/** A RESP server that answers each connection's first INFO and then goes silent; counts the INFOs. */
async function stallingRedis(): Promise<{ port: number; infos: () => number; close: () => void }> {
  let infos = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let pending = '';
    let answered = false;
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      const { commands, rest } = parseCommands(pending + data.toString('latin1'));
      pending = rest;
      for (const [name] of commands) {
        if (name?.toLowerCase() !== 'info') {
          socket.write('+OK\r\n');
          continue;
        }
        infos += 1;
        if (answered) continue;
        answered = true;
        socket.write(`$${Buffer.byteLength(INFO)}\r\n${INFO}\r\n`);
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

/** Runs `body` against a stalling Redis; returns the errors that escaped to the process. */
async function escapedFrom(
  body: (redis: { port: number; infos: () => number }) => Promise<void>,
): Promise<unknown[]> {
  const redis = await stallingRedis();
  const escaped: unknown[] = [];
  const onEscape = (error: unknown) => escaped.push(error);
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  try {
    await body(redis);
    // The init fails once the client's socket has closed: give that time to happen.
    await new Promise((r) => setTimeout(r, 100));
    return escaped;
  } finally {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
    redis.close();
  }
}

async function untilInfos(redis: { infos: () => number }, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (redis.infos() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(redis.infos(), count, 'BullMQ sent its version INFO after the ready check');
}

/** Opens a connection, lets `prepare` treat it, closes it while its version INFO is out. */
function closeDuringInit(Connection: typeof RedisConnection, prepare = (_: RedisConnection) => {}) {
  return escapedFrom(async (redis) => {
    const connection = new Connection({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null });
    prepare(connection);
    connection.on('error', () => undefined); // what Queue/Worker attach; close() removes it
    await untilInfos(redis, 2);
    assert.equal(connection.status, 'initializing');
    await connection.close();
    await connection.client.catch(() => undefined);
  });
}

test('a connection closed while BullMQ waits for its version INFO: nothing escapes', async () => {
  assert.deepEqual(await closeDuringInit(QuietClosingConnection), []);
});

test('a plain RedisConnection made quiet in place: nothing escapes either', async () => {
  assert.deepEqual(await closeDuringInit(RedisConnection, quietWhenClosing), []);
});

test('a Worker closed while both its connections wait for their version INFO: nothing escapes', async () => {
  const escaped = await escapedFrom(async (redis) => {
    const worker = new ClosableWorker('q', async () => undefined, {
      connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null },
    });
    worker.on('error', () => undefined); // what pushline's worker attaches
    await untilInfos(redis, 4); // the worker's own connection and its blocking one, two each
    assert.equal(await worker.closeBy(Date.now() + 1000), true);
  });
  assert.deepEqual(escaped, []);
});

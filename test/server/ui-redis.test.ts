/**
 * The dashboard on the BullMQ dispatcher: progress and counts come from Redis (what the
 * workers recorded), so two server instances on one Redis show the same send — the one that
 * accepted it lists it, the other opens it by id and follows it live. Skipped loudly without
 * Debian's redis-server.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { startEmulator } from '../../src/emulator/index.js';
import { apns, PushClient } from '../../src/index.js';
import { BullMQDispatcher } from '../../src/queue/bullmq.js';
import { startWorker } from '../../src/queue/worker.js';
import { redisUnavailable, startRedis } from '../queue/redis-server.js';
import { bearer, KEYS, testServer } from './support.js';

const skip = redisUnavailable();

async function login(app: FastifyInstance): Promise<string> {
  const answer = await app.inject({
    method: 'POST',
    url: '/ui/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ key: KEYS.admin }).toString(),
  });
  assert.equal(answer.statusCode, 303);
  return String(answer.headers['set-cookie']).split(';')[0]!;
}

/** The `done` counts of every `live` patch of a send's event stream, until its state is final. */
function followSend(base: string, id: string, cookie: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const seen: number[] = [];
    const req = httpRequest(`${base}/ui/sends/${id}/events`, { headers: { cookie } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`the event stream answered ${res.statusCode}`));
        res.resume();
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        let end = text.indexOf('\n\n');
        while (end !== -1) {
          const event = text.slice(0, end);
          text = text.slice(end + 2);
          end = text.indexOf('\n\n');
          const data = /^data: (.*)$/m.exec(event)?.[1];
          if (data === undefined) continue;
          const live = (JSON.parse(data) as Array<{ target: string; html: string }>).find(
            (p) => p.target === 'live',
          );
          if (live === undefined) continue;
          seen.push(Number(/data-done="(\d+)"/.exec(live.html)![1]));
          if (/data-state="(done|aborted|failed)"/.test(live.html)) {
            resolve(seen);
            req.destroy();
          }
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('two servers on one Redis: the send listed by one, opened by id and followed live on the other', {
  skip,
  timeout: 120_000,
}, async (t) => {
  // Closed in this order (t.after hooks run first-registered first): servers, worker, Redis.
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });
  const redis = await startRedis();
  cleanups.push(() => redis.close());
  const emulator = await startEmulator({ fcm: false, webpush: false, hms: false });
  cleanups.push(() => emulator.close());
  emulator.apns.setScenarios({ latencyMs: 40 });
  const client = new PushClient({
    providers: [apns({ ...emulator.apns.providerOptions, production: false })],
  });
  cleanups.push(() => client.destroy());
  const prefix = `ui${randomUUID().slice(0, 8)}`;
  const worker = startWorker({ redis: redis.url, prefix, clients: () => client, concurrency: 1 });
  cleanups.push(() => worker.close(1000));

  const servers: FastifyInstance[] = [];
  for (let i = 0; i < 2; i++) {
    const dispatcher = new BullMQDispatcher({ redis: redis.url, prefix, chunkSize: 100, apps: ['shop'] });
    cleanups.push(() => dispatcher.close(0));
    const { app } = await testServer({ dispatcher, ui: { intervalMs: 50 } });
    cleanups.push(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    servers.push(app);
  }
  const [a, b] = servers as [FastifyInstance, FastifyInstance];
  const baseB = `http://127.0.0.1:${(b.server.address() as { port: number }).port}`;

  const devices = Array.from({ length: 1500 }, (_, i) => ({
    platform: 'ios',
    token: i.toString(16).padStart(64, '0'),
  }));
  const created = await a.inject({
    method: 'POST',
    url: '/v1/sends',
    headers: bearer(KEYS.admin),
    payload: { app: 'shop', notification: { title: 'Queued' }, devices },
  });
  assert.equal(created.statusCode, 202, created.body);
  const id = (created.json() as { id: string }).id;

  const cookieA = await login(a);
  const listA = await a.inject({ method: 'GET', url: '/ui', headers: { cookie: cookieA } });
  assert.ok(listA.body.includes(`id="send-${id}"`), 'listed where it was accepted');
  const cookieB = await login(b);
  const listB = await b.inject({ method: 'GET', url: '/ui', headers: { cookie: cookieB } });
  assert.ok(!listB.body.includes(`id="send-${id}"`), 'not listed by the other instance…');

  const seen = await followSend(baseB, id, cookieB); // …which opens it by id and follows it
  assert.equal(seen.at(-1), 1500);
  assert.ok(
    seen.some((done) => done > 0 && done < 1500),
    `progress seen on the way: ${seen.join(' → ')}`,
  );
  const api = (
    await b.inject({ method: 'GET', url: `/v1/sends/${id}`, headers: bearer(KEYS.admin) })
  ).json() as {
    counts: { sent: number };
  };
  const page = await b.inject({ method: 'GET', url: `/ui/sends/${id}`, headers: { cookie: cookieB } });
  assert.match(page.body, new RegExp(`<b id="count-sent">${api.counts.sent.toLocaleString('en-US')}</b>`));
  assert.equal(api.counts.sent, 1500);
});

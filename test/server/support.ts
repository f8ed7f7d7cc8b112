/**
 * What the server's tests share: a fake {@link Dispatcher} that records what it is given and
 * answers every device `sent` (the real ones are tested on their own), API keys of each scope,
 * and `buildServer` with them.
 */
import type { FastifyInstance } from 'fastify';
import type { Device } from '../../src/device.js';
import type {
  Dispatcher,
  FeedbackQuery,
  FeedbackRecord,
  SendSpec,
  SendStatus,
} from '../../src/queue/dispatch.js';
import { buildServer } from '../../src/server/app.js';
import { hashApiKey } from '../../src/server/auth.js';
import type { ApiKeyOptions, ServerOptions } from '../../src/server/options.js';

const counts = (total: number): SendStatus['counts'] => ({
  total,
  sent: total,
  validated: 0,
  invalidToken: 0,
  failed: 0,
  errors: {},
  providers: {},
  retries: 0,
  maybeDelivered: 0,
  maybeDuplicates: 0,
});

/** Records specs; every device is `sent` at once; `hold` keeps sends running until `finish(id)`. */
export class FakeDispatcher implements Dispatcher {
  readonly specs: SendSpec[] = [];
  readonly records = new Map<string, FeedbackRecord[]>();
  readonly statuses = new Map<string, SendStatus>();
  readonly aborted: string[] = [];
  /** Devices read from stream inputs, per send. */
  readonly streamed = new Map<string, number>();
  closedWith: number | undefined;
  hold = false;
  /** Makes `submit` reject with this. */
  refuse: Error | undefined;
  private readonly waiters = new Map<string, Array<() => void>>();

  async submit(spec: SendSpec): Promise<SendStatus> {
    if (this.refuse) throw this.refuse;
    this.specs.push(spec);
    const devices: Device[] = [];
    const input = spec.devices;
    if (input.kind === 'inline') devices.push(...input.devices);
    if (input.kind === 'stream') {
      let n = 0;
      for await (const device of input.devices) {
        n++;
        // Keep only a few: the tests that stream many check counts, not devices.
        if (devices.length < 1000) devices.push(device);
      }
      this.streamed.set(spec.id, n);
    }
    const accepted = input.kind === 'stream' ? this.streamed.get(spec.id)! : devices.length;
    this.records.set(
      spec.id,
      devices.map((device) => ({ device, status: 'sent', provider: 'fake', attempts: 1 })),
    );
    const status: SendStatus = {
      id: spec.id,
      app: spec.app,
      state: this.hold ? 'running' : 'done',
      accepted,
      counts: counts(this.hold ? 0 : accepted),
      createdAt: spec.createdAt,
    };
    this.statuses.set(spec.id, status);
    return status;
  }

  async status(id: string): Promise<SendStatus | undefined> {
    return this.statuses.get(id);
  }

  async settled(id: string): Promise<SendStatus> {
    return this.statuses.get(id)!;
  }

  finish(id: string): void {
    const status = this.statuses.get(id);
    if (status) status.state = 'done';
    for (const wake of this.waiters.get(id) ?? []) wake();
    this.waiters.delete(id);
  }

  async *feedback(id: string, query: FeedbackQuery = {}): AsyncIterable<FeedbackRecord> {
    for (const record of this.records.get(id) ?? []) {
      if (query.status === undefined || query.status.includes(record.status)) yield record;
    }
    if (query.follow !== false && this.statuses.get(id)?.state === 'running') {
      await new Promise<void>((resolve) => this.waiters.set(id, [...(this.waiters.get(id) ?? []), resolve]));
    }
  }

  async abort(id: string): Promise<boolean> {
    const status = this.statuses.get(id);
    if (status === undefined || status.state !== 'running') return false;
    this.aborted.push(id);
    status.state = 'aborted';
    this.finish(id);
    status.state = 'aborted';
    return true;
  }

  async close(graceMs: number): Promise<void> {
    this.closedWith = graceMs;
    for (const id of this.statuses.keys()) this.finish(id);
  }
}

/** The keys the tests use, by scope, each with its hash in the server's config. */
export const KEYS = {
  admin: 'pl_test_admin_key_0123456789abcdefghijklmnopqrstuvw',
  shopSender: 'pl_test_shop_sender_0123456789abcdefghijklmnopqrstu',
  shopReader: 'pl_test_shop_reader_0123456789abcdefghijklmnopqrstu',
  newsSender: 'pl_test_news_sender_0123456789abcdefghijklmnopqrstu',
} as const;

export const API_KEYS: Record<keyof typeof KEYS, ApiKeyOptions> = {
  admin: { hash: hashApiKey(KEYS.admin), apps: ['*'], permissions: ['send', 'read'], defaultApp: 'shop' },
  shopSender: { hash: hashApiKey(KEYS.shopSender), apps: ['shop'], permissions: ['send'] },
  shopReader: { hash: hashApiKey(KEYS.shopReader), apps: ['shop'], permissions: ['read'] },
  newsSender: { hash: hashApiKey(KEYS.newsSender), apps: ['news'], permissions: ['send', 'read'] },
};

export const APPS: ServerOptions['apps'] = {
  shop: { platforms: ['ios', 'android', 'web'], apnsTopics: ['com.example.shop'] },
  news: { platforms: ['ios', 'android', 'web'], apnsTopics: ['com.example.news'] },
};

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** A server on the fake dispatcher (not listening: use `app.inject`). */
export async function testServer(
  more: Partial<ServerOptions> = {},
): Promise<{ app: FastifyInstance; dispatcher: FakeDispatcher }> {
  const dispatcher = (more.dispatcher as FakeDispatcher | undefined) ?? new FakeDispatcher();
  const app = await buildServer({
    apiKeys: API_KEYS,
    apps: APPS,
    databases: ['main'],
    version: '0.0.0-test',
    logger: false,
    ...more,
    dispatcher,
  });
  return { app, dispatcher };
}

export const IOS_TOKEN = 'a'.repeat(64);

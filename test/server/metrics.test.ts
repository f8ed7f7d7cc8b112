import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import type { Platform } from '../../src/device.js';
import { PushError, type PushErrorCode } from '../../src/errors.js';
import type { Feedback, FeedbackStatus } from '../../src/feedback.js';
import { createMetrics, type ServerMetrics } from '../../src/server/metrics.js';
import { publishRequestEnd } from '../../src/transport/diagnostics.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition: every sample line, and each metric's `# TYPE`. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples, types };
}

/** The value of the one sample with exactly these labels (0 when absent). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} is ambiguous`);
  return found[0]?.value ?? 0;
}

const PROVIDER: Record<Platform, string> = { ios: 'apns', android: 'fcm', huawei: 'hms', web: 'webpush' };

function feedbackOf(platform: Platform, status: FeedbackStatus, extra: Partial<Feedback> = {}): Feedback {
  const code: PushErrorCode | undefined =
    status === 'invalid-token' ? 'invalid-token' : status === 'failed' ? 'unavailable' : undefined;
  return {
    device: { platform, token: 't' },
    status,
    provider: PROVIDER[platform],
    attempts: 1,
    ...(code ? { error: new PushError(code, 'x') } : {}),
    ...extra,
  };
}

async function scrape(metrics: ServerMetrics) {
  return parse(await metrics.metricsText());
}

describe('ServerMetrics', () => {
  test('counts every feedback by app, provider, platform, status and code; retries; maybe-delivered', async (t) => {
    const metrics = createMetrics({ processMetrics: false });
    t.after(() => metrics.close());
    const shop = { app: 'shop' };
    const news = { app: 'news' };
    for (let i = 0; i < 5; i++) metrics.observe(shop, feedbackOf('ios', 'sent'));
    for (let i = 0; i < 3; i++) metrics.observe(shop, feedbackOf('ios', 'invalid-token'));
    for (let i = 0; i < 2; i++)
      metrics.observe(news, feedbackOf('android', 'failed', { attempts: 4, maybeDelivered: true }));
    metrics.observe(news, feedbackOf('android', 'sent', { attempts: 2, maybeDuplicate: true }));
    metrics.observe(news, {
      device: { platform: 'web', token: 't' },
      status: 'failed',
      attempts: 0,
      error: new PushError('no-provider', 'x'),
    });
    // The platform is the caller's data: a made-up one must not become a label value.
    for (const platform of ['evil-1', 'evil-2']) {
      metrics.observe(news, {
        device: { platform: platform as Platform, token: 't' },
        status: 'failed',
        attempts: 0,
        error: new PushError('invalid-device', 'x'),
      });
    }
    const { samples, types } = await scrape(metrics);
    const pushes = 'pushline_pushes_total';
    assert.equal(
      value(samples, pushes, {
        app: 'news',
        provider: 'none',
        platform: 'unknown',
        status: 'failed',
        code: 'invalid-device',
      }),
      2,
    );
    assert.ok(!samples.some((s) => s.labels['platform']?.startsWith('evil')));
    assert.equal(types.get(pushes), 'counter');
    assert.equal(
      value(samples, pushes, { app: 'shop', provider: 'apns', platform: 'ios', status: 'sent' }),
      5,
    );
    assert.equal(
      value(samples, pushes, {
        app: 'shop',
        provider: 'apns',
        platform: 'ios',
        status: 'invalid-token',
        code: 'invalid-token',
      }),
      3,
    );
    assert.equal(
      value(samples, pushes, {
        app: 'news',
        provider: 'fcm',
        platform: 'android',
        status: 'failed',
        code: 'unavailable',
      }),
      2,
    );
    assert.equal(
      value(samples, pushes, {
        app: 'news',
        provider: 'none',
        platform: 'web',
        status: 'failed',
        code: 'no-provider',
      }),
      1,
    );
    assert.equal(
      samples.filter((s) => s.name === pushes).reduce((sum, s) => sum + s.value, 0),
      14,
      'every feedback counted once',
    );
    assert.equal(value(samples, 'pushline_push_retries_total', { app: 'news', provider: 'fcm' }), 2 * 3 + 1);
    assert.equal(value(samples, 'pushline_push_retries_total', { app: 'shop', provider: 'apns' }), 0);
    assert.equal(
      value(samples, 'pushline_pushes_maybe_delivered_total', { app: 'news', provider: 'fcm' }),
      2,
    );
    assert.equal(
      value(samples, 'pushline_pushes_maybe_duplicate_total', { app: 'news', provider: 'fcm' }),
      1,
    );
  });

  test("gorush's metric names and types, counted per device by platform, tasks from sends", async (t) => {
    const metrics = createMetrics({ processMetrics: false });
    t.after(() => metrics.close());
    const app = { app: 'shop' };
    for (let i = 0; i < 4; i++) metrics.observe(app, feedbackOf('ios', 'sent'));
    metrics.observe(app, feedbackOf('ios', 'validated'));
    for (let i = 0; i < 2; i++) metrics.observe(app, feedbackOf('ios', 'invalid-token'));
    for (let i = 0; i < 3; i++) metrics.observe(app, feedbackOf('android', 'sent'));
    metrics.observe(app, feedbackOf('android', 'failed'));
    for (let i = 0; i < 6; i++) metrics.observe(app, feedbackOf('huawei', 'sent'));
    for (let i = 0; i < 5; i++) metrics.observe(app, feedbackOf('huawei', 'invalid-token'));
    metrics.observe(app, feedbackOf('web', 'sent'));
    for (let i = 0; i < 3; i++) metrics.sendAccepted(app);
    metrics.sendSettled({ app: 'shop', state: 'done' });
    metrics.sendSettled({ app: 'shop', state: 'aborted' });
    const { samples, types } = await scrape(metrics);
    const expected: Record<string, [string, number]> = {
      gorush_total_push_count: ['counter', 23],
      gorush_ios_success: ['counter', 5],
      gorush_ios_error: ['counter', 2],
      gorush_android_success: ['counter', 3],
      gorush_android_fail: ['counter', 1],
      gorush_huawei_success: ['counter', 6],
      gorush_huawei_fail: ['counter', 5],
      gorush_submitted_tasks: ['counter', 3],
      gorush_success_tasks: ['counter', 1],
      gorush_failure_tasks: ['counter', 1],
      gorush_busy_workers: ['gauge', 1],
    };
    for (const [name, [type, count]] of Object.entries(expected)) {
      assert.equal(types.get(name), type, `${name} type`);
      assert.equal(value(samples, name), count, name);
    }
    assert.equal(value(samples, 'pushline_sends_submitted_total', { app: 'shop' }), 3);
    assert.equal(value(samples, 'pushline_sends_settled_total', { app: 'shop', state: 'aborted' }), 1);
    assert.equal(value(samples, 'pushline_sends_running'), 1);
  });

  test("gorush's metrics read from another source's counters, or left out", async (t) => {
    const stats = { total_count: 7, busy_workers: 2 };
    // Shaped like the gorush routes' GORUSH_METRICS: typed on their own stats object.
    interface Stats {
      total_count: number;
      busy_workers: number;
    }
    const definitions: ReadonlyArray<{
      name: string;
      help: string;
      type: 'counter' | 'gauge';
      value(stats: Stats): number;
    }> = [
      {
        name: 'gorush_total_push_count',
        help: 'Number of push count',
        type: 'counter',
        value: (s) => s.total_count,
      },
      {
        name: 'gorush_busy_workers',
        help: 'Length of busy workers',
        type: 'gauge',
        value: (s) => s.busy_workers,
      },
    ];
    const fromRoutes = createMetrics({
      processMetrics: false,
      gorush: { stats: () => stats, metrics: definitions },
    });
    const none = createMetrics({ processMetrics: false, gorush: false });
    t.after(() => Promise.all([fromRoutes.close(), none.close()]));
    fromRoutes.observe({ app: 'a' }, feedbackOf('ios', 'sent'));
    let scraped = await scrape(fromRoutes);
    assert.equal(value(scraped.samples, 'gorush_total_push_count'), 7);
    assert.equal(value(scraped.samples, 'gorush_busy_workers'), 2);
    assert.equal(scraped.types.get('gorush_total_push_count'), 'counter');
    assert.equal(scraped.types.has('gorush_ios_success'), false);
    stats.total_count = 9;
    scraped = await scrape(fromRoutes);
    assert.equal(value(scraped.samples, 'gorush_total_push_count'), 9, 'read at each scrape');
    none.observe({ app: 'a' }, feedbackOf('ios', 'sent'));
    const text = await none.metricsText();
    assert.doesNotMatch(text, /gorush_/);
  });

  test('request latency and outcome per push service, from pushline:request:end', async (t) => {
    const metrics = createMetrics({ processMetrics: false, origins: { 'https://127.0.0.1:4443': 'apns' } });
    t.after(() => metrics.close());
    publishRequestEnd({ origin: 'https://api.push.apple.com', status: 200, durationMs: 3 });
    publishRequestEnd({ origin: 'https://api.push.apple.com', status: 410, durationMs: 40 });
    publishRequestEnd({ origin: 'https://127.0.0.1:4443', status: 200, durationMs: 700 });
    publishRequestEnd({ origin: 'https://fcm.googleapis.com', error: 'timeout', durationMs: 30_000 });
    publishRequestEnd({ origin: 'https://wns2-by3p.notify.windows.com', status: 201, durationMs: 20 });
    publishRequestEnd({ origin: 'https://push.example.net', status: 201, durationMs: 20 });
    const { samples, types } = await scrape(metrics);
    const histogram = 'pushline_provider_request_duration_seconds';
    assert.equal(types.get(histogram), 'histogram');
    assert.equal(value(samples, `${histogram}_count`, { provider: 'apns' }), 3);
    assert.equal(value(samples, `${histogram}_bucket`, { provider: 'apns', le: '0.005' }), 1);
    assert.equal(value(samples, `${histogram}_bucket`, { provider: 'apns', le: '0.05' }), 2);
    assert.equal(value(samples, `${histogram}_bucket`, { provider: 'apns', le: '1' }), 3);
    assert.ok(Math.abs(value(samples, `${histogram}_sum`, { provider: 'apns' }) - 0.743) < 1e-9);
    assert.equal(value(samples, `${histogram}_count`, { provider: 'fcm' }), 1);
    assert.equal(value(samples, `${histogram}_bucket`, { provider: 'fcm', le: '10' }), 0);
    assert.equal(value(samples, 'pushline_provider_requests_total', { provider: 'apns', outcome: '200' }), 2);
    assert.equal(value(samples, 'pushline_provider_requests_total', { provider: 'apns', outcome: '410' }), 1);
    assert.equal(
      value(samples, 'pushline_provider_requests_total', { provider: 'fcm', outcome: 'timeout' }),
      1,
    );
    assert.equal(
      value(samples, 'pushline_provider_requests_total', { provider: 'webpush', outcome: '201' }),
      1,
    );
    assert.equal(
      value(samples, 'pushline_provider_requests_total', { provider: 'other', outcome: '201' }),
      1,
    );
    // close() stops listening.
    await metrics.close();
    publishRequestEnd({ origin: 'https://api.push.apple.com', status: 200, durationMs: 3 });
    assert.equal(value((await scrape(metrics)).samples, `${histogram}_count`, { provider: 'apns' }), 3);
    assert.equal(diagnostics.hasSubscribers('pushline:request:end'), false);
  });

  test('gauges (set or read at scrape), webhook deliveries, HTTP requests; its own registry', async (t) => {
    const metrics = createMetrics();
    const other = createMetrics({ processMetrics: false });
    t.after(() => Promise.all([metrics.close(), other.close()]));
    let depth = 5;
    metrics.setQueueDepth(() => depth);
    metrics.setQueueDepth(async () => 11, 'chunks');
    metrics.setInFlight(42);
    metrics.webhookDelivery('shop', {
      batchId: 'b1',
      records: 10,
      attempt: 1,
      outcome: 'retry',
      durationMs: 5,
      httpStatus: 500,
    });
    metrics.webhookDelivery('shop', {
      batchId: 'b1',
      records: 10,
      attempt: 2,
      outcome: 'delivered',
      durationMs: 5,
    });
    metrics.webhookDelivery('shop', {
      batchId: 'b2',
      records: 3,
      attempt: 8,
      outcome: 'failed',
      durationMs: 5,
    });
    metrics.httpRequest({ method: 'POST', route: '/api/push', statusCode: 200, durationMs: 2 });
    metrics.httpRequest({ method: 'POST', route: '/api/push', statusCode: 200, durationMs: 4 });
    metrics.httpRequest({ method: 'GET', route: '/v1/sends/:id', statusCode: 404, durationMs: 1 });
    let { samples } = await scrape(metrics);
    assert.equal(value(samples, 'pushline_queue_depth', { queue: 'sends' }), 5);
    assert.equal(value(samples, 'pushline_queue_depth', { queue: 'chunks' }), 11);
    assert.equal(value(samples, 'pushline_devices_in_flight'), 42);
    assert.equal(value(samples, 'pushline_webhook_deliveries_total', { app: 'shop', outcome: 'retry' }), 1);
    assert.equal(
      value(samples, 'pushline_webhook_deliveries_total', { app: 'shop', outcome: 'delivered' }),
      1,
    );
    assert.equal(value(samples, 'pushline_webhook_deliveries_total', { app: 'shop', outcome: 'failed' }), 1);
    assert.equal(value(samples, 'pushline_webhook_records_total', { app: 'shop', outcome: 'delivered' }), 10);
    assert.equal(value(samples, 'pushline_webhook_records_total', { app: 'shop', outcome: 'failed' }), 3);
    assert.equal(
      value(samples, 'pushline_http_requests_total', { method: 'POST', route: '/api/push', status: '200' }),
      2,
    );
    assert.equal(
      value(samples, 'pushline_http_requests_total', {
        method: 'GET',
        route: '/v1/sends/:id',
        status: '404',
      }),
      1,
    );
    assert.equal(
      value(samples, 'pushline_http_request_duration_seconds_count', { method: 'POST', route: '/api/push' }),
      2,
    );
    assert.ok(
      samples.some((s) => s.name === 'process_cpu_user_seconds_total'),
      'process metrics by default',
    );
    depth = 6;
    ({ samples } = await scrape(metrics));
    assert.equal(value(samples, 'pushline_queue_depth', { queue: 'sends' }), 6, 'read again at each scrape');
    const alone = await scrape(other);
    assert.equal(
      value(alone.samples, 'pushline_http_requests_total', {
        method: 'POST',
        route: '/api/push',
        status: '200',
      }),
      0,
    );
    assert.ok(!alone.samples.some((s) => s.name.startsWith('process_')));
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
  });

  test('a gauge whose source fails (Redis down) is left out of the scrape; the rest is served', async (t) => {
    const metrics = createMetrics({ processMetrics: false });
    t.after(() => metrics.close());
    metrics.setQueueDepth(() => Promise.reject(new Error('Redis is unavailable')), 'chunks');
    metrics.setInFlight(7);
    const { samples } = await scrape(metrics);
    assert.ok(!samples.some((s) => s.name === 'pushline_queue_depth'));
    assert.equal(value(samples, 'pushline_devices_in_flight'), 7);
  });
});

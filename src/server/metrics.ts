/**
 * The server's Prometheus metrics (prom-client), in a registry of their own (never the global
 * one, so a host application's metrics and ours cannot collide, and tests can make many).
 *
 * What feeds them:
 * - every final feedback, as a {@link FeedbackObserver} (`observe`): pushes by app, provider,
 *   platform, status and error code; retries; possibly-delivered and possible duplicates;
 * - the transport's `pushline:request:end` diagnostics channel: request latency and outcome
 *   per push service (the channel names an origin; {@link MetricsOptions.origins} maps it);
 * - the server and the dispatcher, through setters: sends accepted/settled, queue depth,
 *   devices in flight, HTTP API requests, webhook deliveries.
 *
 * Plus gorush's metrics under gorush's names and types (`gorush_total_push_count`,
 * `gorush_ios_success`, `gorush_ios_error`, `gorush_android_success`, `gorush_android_fail`,
 * `gorush_huawei_success`, `gorush_huawei_fail`, `gorush_success_tasks`,
 * `gorush_failure_tasks`, `gorush_submitted_tasks` counters, `gorush_busy_workers` gauge;
 * no `_total` suffix, `_error` for iOS and `_fail` for the others, as gorush has them), so
 * dashboards built on gorush keep working. They are counted per device for every platform
 * (gorush counts Huawei per request).
 *
 * Label values are bounded: apps and providers come from the config, statuses and error codes
 * are fixed sets, a route is the route's pattern (never the URL), a push service is named by
 * {@link MetricsOptions.origins} or a built-in list, everything else is `other`.
 */
import diagnostics from 'node:diagnostics_channel';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { PLATFORMS } from '../device.js';
import type { Feedback, FeedbackStatus } from '../feedback.js';
import type { FeedbackObserver, SendSpec, SendState } from '../queue/dispatch.js';
import type { WebhookDeliveryEvent } from '../stores/webhook-sink.js';
import type { RequestEndEvent } from '../transport/diagnostics.js';
import { Tally, TallyHistogram } from './metrics-tally.js';

/** A gauge's value: a number set now, or a function read at each scrape (may be async). */
export type GaugeValue = number | (() => number | Promise<number>);

/** One of gorush's metrics read from a stats object (e.g. the gorush routes' `GORUSH_METRICS`). */
export interface GorushMetricDefinition<S> {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value(stats: S): number;
}

export interface MetricsOptions {
  /**
   * Push service names by origin (`https://host[:port]`), added to the built-in list (APNs,
   * FCM, HMS and the big Web Push services): e.g. the emulators' origins. An origin in
   * neither is labelled `other`.
   */
  origins?: Readonly<Record<string, string>>;
  /**
   * gorush's metrics: `'feedback'` (default) counts them here from feedback and from
   * `sendAccepted`/`sendSettled`; a `{ metrics, stats }` source reads them at each scrape from
   * the gorush routes' own counters instead (so `/metrics` and `/api/stat/app` agree);
   * `false` leaves them out.
   */
  gorush?: 'feedback' | false | { metrics: readonly GorushMetricDefinition<unknown>[]; stats: () => unknown };
  /** Node's process metrics (`process_*`, `nodejs_*`), as gorush exposes Go's. Default true. */
  processMetrics?: boolean;
  /** Buckets of the latency histograms, in seconds. */
  latencyBuckets?: readonly number[];
}

/** What the HTTP layer reports per request (Fastify's `onResponse`). */
export interface HttpRequestSample {
  method: string;
  /** The route's pattern (`/v1/sends/:id`), `unmatched` for a 404 with no route: never the URL. */
  route: string;
  statusCode: number;
  durationMs: number;
}

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Push services by host; the suffix rules below catch the ones with many hosts. */
const KNOWN_HOSTS: Readonly<Record<string, string>> = {
  'api.push.apple.com': 'apns',
  'api.sandbox.push.apple.com': 'apns',
  'api.development.push.apple.com': 'apns',
  // Also Chrome's Web Push endpoint: one origin, one pool, counted as fcm.
  'fcm.googleapis.com': 'fcm',
  'oauth2.googleapis.com': 'fcm-oauth',
  'push-api.cloud.huawei.com': 'hms',
  'oauth-login.cloud.huawei.com': 'hms-oauth',
  'updates.push.services.mozilla.com': 'webpush',
  'web.push.apple.com': 'webpush',
};
const KNOWN_SUFFIXES: ReadonlyArray<[string, string]> = [
  ['.notify.windows.com', 'webpush'],
  ['.push.hicloud.com', 'hms'],
];

const SUCCESS: ReadonlySet<FeedbackStatus> = new Set(['sent', 'validated']);
const GORUSH_PLATFORMS = {
  ios: ['gorush_ios_success', 'gorush_ios_error', 'Number of iOS success count', 'Number of iOS fail count'],
  android: [
    'gorush_android_success',
    'gorush_android_fail',
    'Number of android success count',
    'Number of android fail count',
  ],
  huawei: [
    'gorush_huawei_success',
    'gorush_huawei_fail',
    'Number of huawei success count',
    'Number of huawei fail count',
  ],
} as const;

/** Registers a gauge whose value is set or read at scrape time. */
function settableGauge(registry: Registry, name: string, help: string, labelNames: string[] = []) {
  const values = new Map<string, { labels: Record<string, string>; value: GaugeValue }>();
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      for (const { labels, value } of values.values()) {
        let number: number;
        try {
          number = typeof value === 'function' ? await value() : value;
        } catch {
          // A source that cannot answer now (Redis down) leaves its series out of this scrape:
          // the rest of /metrics is still served.
          continue;
        }
        if (Number.isFinite(number)) this.set(labels, number);
      }
    },
  });
  return (value: GaugeValue, labels: Record<string, string> = {}) => {
    values.set(JSON.stringify(labels), { labels, value });
  };
}

/** A prom-client counter whose values are copied in from our own tallies at each scrape. */
function counterFrom(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => Iterable<{ labels: Readonly<Record<string, string>>; value: number }>,
): void {
  new Counter({
    name,
    help,
    labelNames: [...labelNames],
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of read()) if (value > 0) this.inc(labels, value);
    },
  });
}

/** Per app and provider: the counts that are not per status. */
interface ProviderTotals {
  retries: number;
  maybeDelivered: number;
  maybeDuplicates: number;
}

/** gorush's counters, counted here (`gorush: 'feedback'`). */
interface GorushCounts {
  total: number;
  ios: [number, number];
  android: [number, number];
  huawei: [number, number];
  submitted: number;
  succeeded: number;
  failed: number;
}

const PLATFORM_LABEL: ReadonlySet<string> = new Set(PLATFORMS);

export class ServerMetrics implements FeedbackObserver {
  /** The registry holding every metric here (not prom-client's global one). */
  readonly registry = new Registry();
  /** The `Content-Type` of {@link metricsText}'s answer (Prometheus text format 0.0.4). */
  readonly contentType: string;

  private readonly origins: Map<string, string>;
  /** Devices by app, provider, platform, status, code. */
  private readonly pushes = new Tally<number>(['app', 'provider', 'platform', 'status', 'code'], () => 0);
  private readonly perProvider = new Tally<ProviderTotals>(['app', 'provider'], () => ({
    retries: 0,
    maybeDelivered: 0,
    maybeDuplicates: 0,
  }));
  private readonly requests = new Tally<number>(['provider', 'outcome'], () => 0);
  private readonly requestDuration: TallyHistogram;
  private readonly sendsSubmitted = new Tally<number>(['app'], () => 0);
  private readonly sendsSettled = new Tally<number>(['app', 'state'], () => 0);
  private readonly webhookTries = new Tally<number>(['app', 'outcome'], () => 0);
  private readonly webhookRecords = new Tally<number>(['app', 'outcome'], () => 0);
  private readonly webhookDuration: TallyHistogram;
  private readonly httpRequests = new Tally<number>(['method', 'route', 'status'], () => 0);
  private readonly httpDuration: TallyHistogram;
  private readonly queueDepthGauge: (value: GaugeValue, labels?: Record<string, string>) => void;
  private readonly inFlightGauge: (value: GaugeValue, labels?: Record<string, string>) => void;
  /** Counted here only with `gorush: 'feedback'`. */
  private readonly gorush: GorushCounts | undefined;
  private busySends = 0;
  private readonly onRequestEnd = (message: unknown) => this.requestEnded(message as RequestEndEvent);

  constructor(options: MetricsOptions = {}) {
    const registry = this.registry;
    this.contentType = registry.contentType;
    this.origins = new Map(Object.entries(options.origins ?? {}));
    const buckets = [...(options.latencyBuckets ?? DEFAULT_BUCKETS)];
    const registers = [registry];
    const count = (tally: Tally<number>) => () => tally.series;
    const field = (key: keyof ProviderTotals) => () =>
      this.perProvider.series.map(({ labels, value }) => ({ labels, value: value[key] }));

    counterFrom(
      registry,
      'pushline_pushes_total',
      'Devices with a final feedback, by app, provider, platform, status and error code (absent on success)',
      ['app', 'provider', 'platform', 'status', 'code'],
      count(this.pushes),
    );
    counterFrom(
      registry,
      'pushline_push_retries_total',
      'Requests made again after a retryable failure (attempts beyond the first), by app and provider',
      ['app', 'provider'],
      field('retries'),
    );
    counterFrom(
      registry,
      'pushline_pushes_maybe_delivered_total',
      'Devices not sent whose push may nevertheless have been delivered (a request got no answer)',
      ['app', 'provider'],
      field('maybeDelivered'),
    );
    counterFrom(
      registry,
      'pushline_pushes_maybe_duplicate_total',
      'Devices sent after an attempt that may have been delivered too: possible duplicates',
      ['app', 'provider'],
      field('maybeDuplicates'),
    );
    this.requestDuration = new TallyHistogram(
      registry,
      'pushline_provider_request_duration_seconds',
      'Requests to push services, from request() to the outcome (queueing and transparent re-sends included)',
      ['provider'],
      buckets,
    );
    counterFrom(
      registry,
      'pushline_provider_requests_total',
      "Requests to push services by outcome: the response's HTTP status, or the error code of a request without one",
      ['provider', 'outcome'],
      count(this.requests),
    );
    counterFrom(
      registry,
      'pushline_sends_submitted_total',
      'Sends accepted, by app',
      ['app'],
      count(this.sendsSubmitted),
    );
    counterFrom(
      registry,
      'pushline_sends_settled_total',
      'Sends finished, by app and final state (done, aborted, failed)',
      ['app', 'state'],
      count(this.sendsSettled),
    );
    counterFrom(
      registry,
      'pushline_webhook_deliveries_total',
      'Webhook POSTs, by app and outcome (delivered; retry: failed, tried again; failed: failed, batch given up)',
      ['app', 'outcome'],
      count(this.webhookTries),
    );
    counterFrom(
      registry,
      'pushline_webhook_records_total',
      'Feedback records by app and fate: delivered to the webhook, or given up after its retries',
      ['app', 'outcome'],
      count(this.webhookRecords),
    );
    this.webhookDuration = new TallyHistogram(
      registry,
      'pushline_webhook_request_duration_seconds',
      'Webhook POSTs, from sending to the complete answer (or the failure)',
      ['app'],
      buckets,
    );
    counterFrom(
      registry,
      'pushline_http_requests_total',
      "Requests to the server's HTTP API, by method, route pattern and status",
      ['method', 'route', 'status'],
      count(this.httpRequests),
    );
    this.httpDuration = new TallyHistogram(
      registry,
      'pushline_http_request_duration_seconds',
      "Requests to the server's HTTP API, by method and route pattern",
      ['method', 'route'],
      buckets,
    );
    this.queueDepthGauge = settableGauge(
      registry,
      'pushline_queue_depth',
      'Work not finished, by queue: sends waiting to run (queue="sends", in-process), or chunk jobs waiting or running on any worker (queue="chunks", Redis)',
      ['queue'],
    );
    this.inFlightGauge = settableGauge(
      registry,
      'pushline_devices_in_flight',
      'Devices taken from their input whose final feedback is not in yet',
    );
    const running = () => this.busySends;
    new Gauge({
      name: 'pushline_sends_running',
      help: 'Sends accepted and not yet settled',
      registers,
      collect() {
        this.set(running());
      },
    });
    this.gorush = this.registerGorush(options.gorush ?? 'feedback');
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
    diagnostics.subscribe('pushline:request:end', this.onRequestEnd);
  }

  /** Counts one final feedback (the {@link FeedbackObserver} side; never waits, never throws). */
  observe(send: Pick<SendSpec, 'app'>, feedback: Feedback): void {
    const provider = feedback.provider ?? 'none';
    const raw = feedback.device?.platform;
    // The platform comes from the caller's data: only the four known ones become label values.
    const platform = typeof raw === 'string' && PLATFORM_LABEL.has(raw) ? raw : 'unknown';
    this.pushes.at(send.app, provider, platform, feedback.status, feedback.error?.code).value++;
    if (feedback.attempts > 1 || feedback.maybeDelivered || feedback.maybeDuplicate) {
      const totals = this.perProvider.at(send.app, provider).value;
      if (feedback.attempts > 1) totals.retries += feedback.attempts - 1;
      if (feedback.maybeDelivered) totals.maybeDelivered++;
      if (feedback.maybeDuplicate) totals.maybeDuplicates++;
    }
    const gorush = this.gorush;
    if (gorush) {
      gorush.total++;
      if (platform === 'ios' || platform === 'android' || platform === 'huawei') {
        gorush[platform][SUCCESS.has(feedback.status) ? 0 : 1]++;
      }
    }
  }

  /** A send was accepted (gorush: a task submitted, a worker busy). */
  sendAccepted(send: Pick<SendSpec, 'app'>): void {
    this.sendsSubmitted.at(send.app).value++;
    this.busySends++;
    if (this.gorush) this.gorush.submitted++;
  }

  /** A send settled (gorush: a task succeeded when `done`, failed otherwise). */
  sendSettled(send: { app: string; state: SendState }): void {
    this.sendsSettled.at(send.app, send.state).value++;
    this.busySends = Math.max(0, this.busySends - 1);
    if (!this.gorush) return;
    if (send.state === 'done') this.gorush.succeeded++;
    else this.gorush.failed++;
  }

  /** Sends or jobs waiting to run: a number now, or a function read at each scrape. */
  setQueueDepth(value: GaugeValue, queue = 'sends'): void {
    this.queueDepthGauge(value, { queue });
  }

  /** Devices taken whose final feedback is not in yet: a number now, or a function read at each scrape. */
  setInFlight(value: GaugeValue): void {
    this.inFlightGauge(value);
  }

  /** One HTTP API request (call from Fastify's `onResponse` with `request.routeOptions.url`). */
  httpRequest(sample: HttpRequestSample): void {
    const route = sample.route || 'unmatched';
    this.httpRequests.at(sample.method, route, String(sample.statusCode)).value++;
    this.httpDuration.observe(sample.durationMs / 1000, sample.method, route);
  }

  /** One webhook try (pass as the sink's `onDelivery`: `(e) => metrics.webhookDelivery(app, e)`). */
  webhookDelivery(app: string, event: WebhookDeliveryEvent): void {
    this.webhookTries.at(app, event.outcome).value++;
    this.webhookDuration.observe(event.durationMs / 1000, app);
    if (event.outcome !== 'retry') this.webhookRecords.at(app, event.outcome).value += event.records;
  }

  /** The exposition text for `GET /metrics` (with {@link contentType}). */
  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  /** Stops listening to the transport's channel. Nothing else to release. */
  async close(): Promise<void> {
    diagnostics.unsubscribe('pushline:request:end', this.onRequestEnd);
  }

  /** The push service an origin belongs to. */
  providerOf(origin: string): string {
    const named = this.origins.get(origin);
    if (named !== undefined) return named;
    let host: string;
    try {
      host = new URL(origin).hostname.toLowerCase();
    } catch {
      return 'other';
    }
    const known = KNOWN_HOSTS[host];
    if (known !== undefined) return known;
    for (const [suffix, name] of KNOWN_SUFFIXES) if (host.endsWith(suffix)) return name;
    return 'other';
  }

  private requestEnded(event: RequestEndEvent): void {
    // A subscriber that throws surfaces as an uncaught exception: take nothing for granted.
    if (!event || typeof event.origin !== 'string') return;
    let provider = this.providerByOrigin.get(event.origin);
    if (provider === undefined) {
      provider = this.providerOf(event.origin);
      // Origins are few (one pool each); the cache is bounded all the same.
      if (this.providerByOrigin.size < 1000) this.providerByOrigin.set(event.origin, provider);
    }
    if (Number.isFinite(event.durationMs) && event.durationMs >= 0) {
      this.requestDuration.observe(event.durationMs / 1000, provider);
    }
    const outcome =
      typeof event.status === 'number'
        ? String(event.status)
        : typeof event.error === 'string'
          ? event.error
          : 'unknown';
    this.requests.at(provider, outcome).value++;
  }

  private readonly providerByOrigin = new Map<string, string>();

  private registerGorush(mode: NonNullable<MetricsOptions['gorush']>): GorushCounts | undefined {
    if (mode === false) return undefined;
    const registers = [this.registry];
    const define = (name: string, help: string, type: 'counter' | 'gauge', read: () => number) => {
      if (type === 'gauge') {
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(read());
          },
        });
      } else {
        new Counter({
          name,
          help,
          registers,
          collect() {
            this.reset();
            this.inc(Math.max(0, read()));
          },
        });
      }
    };
    if (mode !== 'feedback') {
      for (const metric of mode.metrics)
        define(metric.name, metric.help, metric.type, () => metric.value(mode.stats()));
      return undefined;
    }
    const counts: GorushCounts = {
      total: 0,
      ios: [0, 0],
      android: [0, 0],
      huawei: [0, 0],
      submitted: 0,
      succeeded: 0,
      failed: 0,
    };
    define('gorush_total_push_count', 'Number of push count', 'counter', () => counts.total);
    for (const [platform, [success, error, successHelp, errorHelp]] of Object.entries(GORUSH_PLATFORMS)) {
      const pair = counts[platform as keyof typeof GORUSH_PLATFORMS];
      define(success, successHelp, 'counter', () => pair[0]);
      define(error, errorHelp, 'counter', () => pair[1]);
    }
    define('gorush_busy_workers', 'Length of busy workers', 'gauge', () => this.busySends);
    define('gorush_success_tasks', 'Length of Success Tasks', 'counter', () => counts.succeeded);
    define('gorush_failure_tasks', 'Length of Failure Tasks', 'counter', () => counts.failed);
    define('gorush_submitted_tasks', 'Length of Submitted Tasks', 'counter', () => counts.submitted);
    return counts;
  }
}

/** The server's metrics: see {@link ServerMetrics}. */
export function createMetrics(options: MetricsOptions = {}): ServerMetrics {
  return new ServerMetrics(options);
}

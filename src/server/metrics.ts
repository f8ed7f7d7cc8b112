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
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Feedback, FeedbackStatus } from '../feedback.js';
import type { FeedbackObserver, SendSpec, SendState } from '../queue/dispatch.js';
import type { WebhookDeliveryEvent } from '../stores/webhook-sink.js';
import type { RequestEndEvent } from '../transport/diagnostics.js';

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
        const number = typeof value === 'function' ? await value() : value;
        if (Number.isFinite(number)) this.set(labels, number);
      }
    },
  });
  return (value: GaugeValue, labels: Record<string, string> = {}) => {
    values.set(JSON.stringify(labels), { labels, value });
  };
}

export class ServerMetrics implements FeedbackObserver {
  /** The registry holding every metric here (not prom-client's global one). */
  readonly registry = new Registry();
  /** The `Content-Type` of {@link metricsText}'s answer (Prometheus text format 0.0.4). */
  readonly contentType: string;

  private readonly origins: Map<string, string>;
  private readonly pushes: Counter<'app' | 'provider' | 'platform' | 'status' | 'code'>;
  private readonly retries: Counter<'app' | 'provider'>;
  private readonly maybeDelivered: Counter<'app' | 'provider'>;
  private readonly maybeDuplicates: Counter<'app' | 'provider'>;
  private readonly requestDuration: Histogram<'provider'>;
  private readonly requests: Counter<'provider' | 'outcome'>;
  private readonly sendsSubmitted: Counter<'app'>;
  private readonly sendsSettled: Counter<'app' | 'state'>;
  private readonly webhookTries: Counter<'app' | 'outcome'>;
  private readonly webhookRecords: Counter<'app' | 'outcome'>;
  private readonly webhookDuration: Histogram<'app'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;
  private readonly queueDepthGauge: (value: GaugeValue, labels?: Record<string, string>) => void;
  private readonly inFlightGauge: (value: GaugeValue, labels?: Record<string, string>) => void;
  private readonly gorush:
    | {
        total: Counter;
        byPlatform: Record<keyof typeof GORUSH_PLATFORMS, [Counter, Counter]>;
        submitted: Counter;
        succeeded: Counter;
        failed: Counter;
      }
    | undefined;
  private busySends = 0;
  private readonly onRequestEnd = (message: unknown) => this.requestEnded(message as RequestEndEvent);

  constructor(options: MetricsOptions = {}) {
    const registry = this.registry;
    this.contentType = registry.contentType;
    this.origins = new Map(Object.entries(options.origins ?? {}));
    const buckets = [...(options.latencyBuckets ?? DEFAULT_BUCKETS)];
    const registers = [registry];
    this.pushes = new Counter({
      name: 'pushline_pushes_total',
      help: 'Devices with a final feedback, by app, provider, platform, status and error code (absent on success)',
      labelNames: ['app', 'provider', 'platform', 'status', 'code'],
      registers,
    });
    this.retries = new Counter({
      name: 'pushline_push_retries_total',
      help: 'Requests made again after a retryable failure (attempts beyond the first), by app and provider',
      labelNames: ['app', 'provider'],
      registers,
    });
    this.maybeDelivered = new Counter({
      name: 'pushline_pushes_maybe_delivered_total',
      help: 'Devices not sent whose push may nevertheless have been delivered (a request got no answer)',
      labelNames: ['app', 'provider'],
      registers,
    });
    this.maybeDuplicates = new Counter({
      name: 'pushline_pushes_maybe_duplicate_total',
      help: 'Devices sent after an attempt that may have been delivered too: possible duplicates',
      labelNames: ['app', 'provider'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'pushline_provider_request_duration_seconds',
      help: 'Requests to push services, from request() to the outcome (queueing and transparent re-sends included)',
      labelNames: ['provider'],
      buckets,
      registers,
    });
    this.requests = new Counter({
      name: 'pushline_provider_requests_total',
      help: "Requests to push services by outcome: the response's HTTP status, or the error code of a request without one",
      labelNames: ['provider', 'outcome'],
      registers,
    });
    this.sendsSubmitted = new Counter({
      name: 'pushline_sends_submitted_total',
      help: 'Sends accepted, by app',
      labelNames: ['app'],
      registers,
    });
    this.sendsSettled = new Counter({
      name: 'pushline_sends_settled_total',
      help: 'Sends finished, by app and final state (done, aborted, failed)',
      labelNames: ['app', 'state'],
      registers,
    });
    this.webhookTries = new Counter({
      name: 'pushline_webhook_deliveries_total',
      help: 'Webhook POSTs, by app and outcome (delivered; retry: failed, tried again; failed: failed, batch given up)',
      labelNames: ['app', 'outcome'],
      registers,
    });
    this.webhookRecords = new Counter({
      name: 'pushline_webhook_records_total',
      help: 'Feedback records by app and fate: delivered to the webhook, or given up after its retries',
      labelNames: ['app', 'outcome'],
      registers,
    });
    this.webhookDuration = new Histogram({
      name: 'pushline_webhook_request_duration_seconds',
      help: 'Webhook POSTs, from sending to the complete answer (or the failure)',
      labelNames: ['app'],
      buckets,
      registers,
    });
    this.httpRequests = new Counter({
      name: 'pushline_http_requests_total',
      help: "Requests to the server's HTTP API, by method, route pattern and status",
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'pushline_http_request_duration_seconds',
      help: "Requests to the server's HTTP API, by method and route pattern",
      labelNames: ['method', 'route'],
      buckets,
      registers,
    });
    this.queueDepthGauge = settableGauge(
      registry,
      'pushline_queue_depth',
      'Sends (in-process) or jobs (Redis) waiting to run, by queue',
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
    const platform = typeof feedback.device?.platform === 'string' ? feedback.device.platform : 'unknown';
    const labels: Record<string, string> = { app: send.app, provider, platform, status: feedback.status };
    if (feedback.error?.code) labels['code'] = feedback.error.code;
    this.pushes.inc(labels);
    if (feedback.attempts > 1) this.retries.inc({ app: send.app, provider }, feedback.attempts - 1);
    if (feedback.maybeDelivered) this.maybeDelivered.inc({ app: send.app, provider });
    if (feedback.maybeDuplicate) this.maybeDuplicates.inc({ app: send.app, provider });
    const gorush = this.gorush;
    if (gorush) {
      gorush.total.inc();
      const counters = gorush.byPlatform[platform as keyof typeof GORUSH_PLATFORMS];
      if (counters) counters[SUCCESS.has(feedback.status) ? 0 : 1].inc();
    }
  }

  /** A send was accepted (gorush: a task submitted, a worker busy). */
  sendAccepted(send: Pick<SendSpec, 'app'>): void {
    this.sendsSubmitted.inc({ app: send.app });
    this.busySends++;
    this.gorush?.submitted.inc();
  }

  /** A send settled (gorush: a task succeeded when `done`, failed otherwise). */
  sendSettled(send: { app: string; state: SendState }): void {
    this.sendsSettled.inc({ app: send.app, state: send.state });
    this.busySends = Math.max(0, this.busySends - 1);
    if (send.state === 'done') this.gorush?.succeeded.inc();
    else this.gorush?.failed.inc();
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
    this.httpRequests.inc({ method: sample.method, route, status: String(sample.statusCode) });
    this.httpDuration.observe({ method: sample.method, route }, sample.durationMs / 1000);
  }

  /** One webhook try (pass as the sink's `onDelivery`: `(e) => metrics.webhookDelivery(app, e)`). */
  webhookDelivery(app: string, event: WebhookDeliveryEvent): void {
    this.webhookTries.inc({ app, outcome: event.outcome });
    this.webhookDuration.observe({ app }, event.durationMs / 1000);
    if (event.outcome === 'delivered') this.webhookRecords.inc({ app, outcome: 'delivered' }, event.records);
    else if (event.outcome === 'failed') this.webhookRecords.inc({ app, outcome: 'failed' }, event.records);
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
    const provider = this.providerOf(event.origin);
    if (Number.isFinite(event.durationMs) && event.durationMs >= 0) {
      this.requestDuration.observe({ provider }, event.durationMs / 1000);
    }
    const outcome =
      typeof event.status === 'number'
        ? String(event.status)
        : typeof event.error === 'string'
          ? event.error
          : 'unknown';
    this.requests.inc({ provider, outcome });
  }

  private registerGorush(mode: NonNullable<MetricsOptions['gorush']>): ServerMetrics['gorush'] {
    if (mode === false) return undefined;
    const registers = [this.registry];
    if (mode !== 'feedback') {
      for (const metric of mode.metrics) {
        const read = () => metric.value(mode.stats());
        if (metric.type === 'gauge') {
          new Gauge({
            name: metric.name,
            help: metric.help,
            registers,
            collect() {
              this.set(read());
            },
          });
        } else {
          new Counter({
            name: metric.name,
            help: metric.help,
            registers,
            collect() {
              this.reset();
              this.inc(Math.max(0, read()));
            },
          });
        }
      }
      return undefined;
    }
    const counter = (name: string, help: string) => new Counter({ name, help, registers });
    const byPlatform = {} as Record<keyof typeof GORUSH_PLATFORMS, [Counter, Counter]>;
    const total = counter('gorush_total_push_count', 'Number of push count');
    for (const [platform, [success, error, successHelp, errorHelp]] of Object.entries(GORUSH_PLATFORMS)) {
      byPlatform[platform as keyof typeof GORUSH_PLATFORMS] = [
        counter(success, successHelp),
        counter(error, errorHelp),
      ];
    }
    const busy = () => this.busySends;
    new Gauge({
      name: 'gorush_busy_workers',
      help: 'Length of busy workers',
      registers,
      collect() {
        this.set(busy());
      },
    });
    return {
      total,
      byPlatform,
      succeeded: counter('gorush_success_tasks', 'Length of Success Tasks'),
      failed: counter('gorush_failure_tasks', 'Length of Failure Tasks'),
      submitted: counter('gorush_submitted_tasks', 'Length of Submitted Tasks'),
    };
  }
}

/** The server's metrics: see {@link ServerMetrics}. */
export function createMetrics(options: MetricsOptions = {}): ServerMetrics {
  return new ServerMetrics(options);
}

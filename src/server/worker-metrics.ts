/**
 * `pushline worker --metrics-port`: the worker's Prometheus metrics on a plain `node:http`
 * server (no Fastify in a worker), `GET /metrics` only.
 *
 * The metrics are the server's ({@link ServerMetrics}, without gorush's names): pushes by app,
 * provider, platform, status and error code, counted from the feedback this worker records
 * (it is one of the worker's observers); requests to push services and their latency; webhook
 * deliveries; Node's process metrics. Plus what only a worker knows: devices it has in flight
 * and chunks it processed. Each worker counts its own: Prometheus sums them across workers.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter } from 'prom-client';
import type { PushlineWorker } from '../queue/worker.js';
import { createMetrics, type MetricsOptions, type ServerMetrics } from './metrics.js';

export interface WorkerMetricsOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Address to bind. Default `127.0.0.1` (metrics say what is sent: not for everyone by default). */
  host?: string;
  /** Push service names by origin (see {@link MetricsOptions.origins}). */
  origins?: MetricsOptions['origins'];
}

export interface WorkerMetricsServer {
  /** The metrics: pass as the worker's first observer (and to the webhook sinks). */
  readonly metrics: ServerMetrics;
  /** `http://host:port` of the listening server. */
  readonly url: string;
  /** Reads in-flight devices and processed chunks from the worker once it is started. */
  attach(worker: PushlineWorker): void;
  /** Stops listening (open scrapes are cut) and releases the metrics. */
  close(): Promise<void>;
}

/** Starts the worker's metrics server; rejects when the port cannot be bound. */
export async function startWorkerMetrics(options: WorkerMetricsOptions): Promise<WorkerMetricsServer> {
  const metrics = createMetrics({ gorush: false, ...(options.origins ? { origins: options.origins } : {}) });
  let worker: PushlineWorker | undefined;
  new Counter({
    name: 'pushline_worker_chunks_total',
    help: 'Chunk jobs this worker processed to the end (acknowledged)',
    registers: [metrics.registry],
    collect() {
      this.reset();
      if (worker && worker.chunks > 0) this.inc(worker.chunks);
    },
  });
  metrics.setInFlight(() => worker?.devicesInFlight() ?? 0);

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end();
      return;
    }
    metrics.metricsText().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  });
  const host = options.host ?? '127.0.0.1';
  server.listen(options.port, host);
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => {
        throw error;
      }),
    ]);
  } catch (error) {
    await metrics.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    metrics,
    url: `http://${shown}:${address.port}`,
    attach(started) {
      worker = started;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await metrics.close();
    },
  };
}

/**
 * `buildServer()`: the Fastify instance of `pushline serve`, with everything every route
 * shares — JSON logs with request ids (and no token or key in them), API keys, per-key rate
 * limits, body limits, validation answered as a 400 naming the field, one error shape, the
 * OpenAPI document, `/healthz`, `/version` — the native API (sends.ts), gorush's API
 * (gorush/) and, when given, the Prometheus metrics.
 *
 * There is deliberately no route that shows the config: gorush's `/api/config` leaked
 * certificates (gorush #491), and nothing a client needs is in it.
 */
import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { SendSpec } from '../queue/dispatch.js';
import { ApiKeyring, authorizeApps, registerAuth } from './auth.js';
import { type GorushDeps, GorushStats, gorushDirectory, gorushRoutes } from './gorush/index.js';
import { errorBody, errorBodySchema, HttpError } from './http-error.js';
import { IdempotencyTable } from './idempotency.js';
import { logCensor, REDACTED_PATHS } from './mask.js';
import { type RateLimit, SERVER_DEFAULTS, type ServerOptions } from './options.js';
import { sendsRoutes } from './sends.js';
import { SendDirectory } from './ui/directory.js';
import { uiRoutes } from './ui/routes.js';
import { SessionStore } from './ui/sessions.js';
import { type SchemaError, validationField } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Graceful stop: new requests get 503 at once (and `/healthz` says so, for load
     * balancers), accepted sends get `graceMs` to finish (`dispatcher.close(graceMs)`; what is
     * left is aborted, each device still gets its feedback), open responses (feedback streams)
     * end with their sends, then the listener closes. Resolves when all of that is done.
     */
    shutdown(graceMs?: number): Promise<void>;
  }
}

/** Request ids a client may choose (`X-Request-Id`), else one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Routes left out of the access log, as gorush does: probes would drown the rest. */
const QUIET_ROUTES = new Set(['/healthz', '/metrics']);

function loggerOptions(logger: ServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === false) return false;
  const given = typeof logger === 'object' ? logger : {};
  return {
    level: given.level ?? 'info',
    ...(given.stream === undefined ? {} : { stream: given.stream }),
    // Belt and braces: the server never logs a header or a device, but a plugin might.
    redact: { paths: REDACTED_PATHS, censor: logCensor },
    serializers: {
      req: (request) => ({ method: request.method, url: request.url, remoteAddress: request.ip }),
      res: (reply) => ({ statusCode: reply.statusCode }),
    },
  };
}

/** Builds the server (not listening yet: `await app.listen({ host, port })`). */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const settings = { ...SERVER_DEFAULTS, ...options.server };
  const appNames = Object.keys(options.apps);
  const keyring = new ApiKeyring(options.apiKeys, appNames);
  const publicRoutes = new Set(['/healthz', ...(settings.public ?? [])]);

  const app = Fastify({
    logger: loggerOptions(options.logger),
    // One access line per request, written by the onResponse hook below (with the key's id).
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: settings.bodyLimit,
    // Ajv as strict as the API: no silent type coercion, no silently dropped unknown fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ...(settings.tls === undefined ? {} : { https: { cert: settings.tls.cert, key: settings.tls.key } }),
  }) as unknown as FastifyInstance;

  let closing = false;
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) {
      reply.header('connection', 'close').header('retry-after', '5');
      throw new HttpError(
        503,
        'shutting-down',
        'the server is shutting down: send this request to another instance',
      );
    }
  });
  registerAuth(app, keyring, publicRoutes);
  app.addHook('onResponse', async (request, reply) => {
    if (QUIET_ROUTES.has(request.routeOptions.url ?? '')) return;
    request.log.info(
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        ...(request.apiKey === null ? {} : { key: request.apiKey.id }),
      },
      'request',
    );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError) return reply.code(error.statusCode).send(error.body());
    if (error.validation) {
      const { field, message } = validationField(
        error.validation as unknown as SchemaError[],
        error.validationContext ?? 'body',
      );
      return reply.code(400).send(errorBody(400, 'invalid-request', message, field));
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply
          .code(413)
          .send(
            errorBody(
              413,
              'body-too-large',
              `the body is over ${settings.bodyLimit} bytes (server.bodyLimit): stream many devices as application/x-ndjson`,
            ),
          );
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply
          .code(415)
          .send(errorBody(415, 'unsupported-media-type', 'send application/json (or application/x-ndjson)'));
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.code(400).send(errorBody(400, 'invalid-request', `the body is not valid JSON`, 'body'));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send(errorBody(status, 'invalid-request', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return reply
      .code(500)
      .send(
        errorBody(500, 'internal', `internal error; the server's log has it under request id ${request.id}`),
      );
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(errorBody(404, 'not-found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  // The OpenAPI document says which routes need a key from the same rule the auth hook
  // applies (every route but the public ones), for every route, a plugin's included.
  app.addHook('onRoute', (route) => {
    const open = publicRoutes.has(route.url) || route.config?.permission === 'public';
    const { security: _declared, ...schema } = route.schema ?? {};
    route.schema = open ? schema : { ...schema, security: [{ apiKey: [] }] };
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'pushline',
        version: options.version,
        description:
          "pushline's HTTP API: the native `/v1/sends` and gorush's `/api/push`. Every route but /healthz needs `Authorization: Bearer <key>`.",
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    },
  });

  if (settings.rateLimit !== false) {
    const fallback: RateLimit = settings.rateLimit;
    const budget = (request: { apiKey: { rateLimit: RateLimit | undefined } | null }) =>
      request.apiKey?.rateLimit ?? fallback;
    await app.register(rateLimit, {
      global: true,
      // Per key; a public route counts per client address.
      keyGenerator: (request) => (request.apiKey === null ? `ip:${request.ip}` : `key:${request.apiKey.id}`),
      max: (request) => budget(request).max,
      timeWindow: (request) => budget(request).timeWindowMs,
      errorResponseBuilder: (_request, context) =>
        new HttpError(429, 'rate-limited', `too many requests: at most ${context.max} per ${context.after}`),
    });
  }

  app.get(
    '/healthz',
    {
      config: { permission: 'public', rateLimit: false },
      schema: {
        summary:
          'Liveness: 200 with an empty body; 503 once shutting down or while the queue (Redis) is down',
        tags: ['server'],
      },
    },
    async (_request, reply) => {
      // What runs the sends is down (Redis): a load balancer should send elsewhere.
      if (options.healthy !== undefined && !(await options.healthy())) {
        return reply
          .code(503)
          .send(errorBody(503, 'unavailable', 'the queue (Redis) does not answer: sends are refused'));
      }
      return reply.code(200).send();
    },
  );
  app.get(
    '/version',
    {
      config: { permission: 'any' },
      schema: {
        summary: "pushline's version (gorush's /version shape)",
        tags: ['server'],
        security: [{ apiKey: [] }],
        response: {
          200: {
            type: 'object',
            required: ['source', 'version'],
            properties: { source: { type: 'string' }, version: { type: 'string' } },
          },
          401: errorBodySchema,
        },
      },
    },
    async () => ({ source: 'pushline', version: options.version }),
  );
  app.get(
    '/openapi.json',
    {
      config: { permission: 'any' },
      schema: {
        summary: 'This document',
        tags: ['server'],
        security: [{ apiKey: [] }],
        response: { 200: { type: 'object', additionalProperties: true }, 401: errorBodySchema },
      },
    },
    async () => app.swagger(),
  );

  // The dashboard sees every send accepted here, whichever route made it.
  const ui = options.ui === false ? undefined : typeof options.ui === 'object' ? options.ui : {};
  const directory =
    ui === undefined
      ? undefined
      : new SendDirectory(
          options.dispatcher,
          ui.intervalMs === undefined ? {} : { intervalMs: ui.intervalMs },
        );
  const dispatcher = directory?.track() ?? options.dispatcher;

  const followSends = options.metricsFollowSends ?? true;
  await app.register(sendsRoutes, {
    dispatcher,
    ...(options.metrics === undefined
      ? {}
      : {
          onAccepted: (spec: SendSpec) => {
            const metrics = options.metrics!;
            metrics.sendAccepted(spec);
            if (followSends) {
              dispatcher.settled(spec.id).then(
                (status) => metrics.sendSettled({ app: spec.app, state: status.state }),
                () => metrics.sendSettled({ app: spec.app, state: 'failed' }),
              );
            }
          },
        }),
    apps: options.apps,
    databases: options.databases ?? [],
    idempotency: new IdempotencyTable(settings.idempotencyTtlMs, settings.idempotencyMaxKeys),
    maxInlineDevices: settings.maxInlineDevices,
  });

  // gorush's API. Auth needs nothing more: the hook above runs first on its routes too (GET
  // needs `read`, POST `send`), and the onRoute hook documents their key.
  await app.register(gorushRoutes, {
    dispatcher,
    directory: gorushDirectory(options.apps),
    settings: {
      sync: false,
      maxNotification: 100,
      maskTokens: true,
      ...options.gorush?.settings,
      bodyLimit: settings.bodyLimit,
    },
    stats: options.gorush?.stats ?? new GorushStats(),
    newId: randomUUID,
    version: options.version,
    defaultAppFor: (request) => request.apiKey?.defaultApp,
    authorize: authorizeApps,
    submittedBy: (request) => request.apiKey?.id,
  } satisfies GorushDeps);

  if (directory !== undefined) {
    await app.register(uiRoutes, {
      directory,
      dispatcher,
      keyring,
      sessions: new SessionStore(ui?.sessionTtlMs === undefined ? {} : { ttlMs: ui.sessionTtlMs }),
      secure: settings.tls !== undefined,
      ...(options.inbox === undefined ? {} : { inbox: options.inbox }),
    });
  }

  // The metrics: /metrics needs a key with `read` unless the operator lists it in
  // server.public (it then gets no key in /openapi.json).
  const metrics = options.metrics;
  if (metrics !== undefined) {
    app.get(
      '/metrics',
      {
        config: { permission: 'read', rateLimit: false },
        schema: { summary: 'Prometheus metrics', tags: ['server'] },
      },
      async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metricsText()),
    );
    app.addHook('onResponse', async (request, reply) =>
      metrics.httpRequest({
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        statusCode: reply.statusCode,
        durationMs: reply.elapsedTime,
      }),
    );
  }

  app.decorate('shutdown', async (graceMs: number = settings.shutdownTimeoutMs) => {
    // The listener stays open through the grace period so that a new request gets a clear 503
    // (and a load balancer's probe of /healthz sees it) rather than a refused connection.
    closing = true;
    // Past the grace period (and a margin for the aborted sends to settle), responses still
    // open (a follower of a send's feedback that does not read) are cut.
    const cut = setTimeout(() => app.server.closeAllConnections(), graceMs + 2000);
    cut.unref();
    // Node closes the connections idle when the listener closes, not those that become idle
    // afterwards (a feedback stream that ends with its send): those are reaped as they do.
    let reaper: NodeJS.Timeout | undefined;
    try {
      await options.dispatcher.close(graceMs);
      reaper = setInterval(() => app.server.closeIdleConnections(), 100);
      await app.close();
    } finally {
      clearTimeout(cut);
      clearInterval(reaper);
    }
  });

  return app;
}

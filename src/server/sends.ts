/**
 * The native API, for what gorush's cannot say:
 *
 * - `POST /v1/sends` — a send: a pushline `Notification` and its devices, given one of three ways:
 *   - JSON `{ app?, notification, devices: [...] }`, devices inline (up to `maxInlineDevices`);
 *   - JSON `{ app?, notification, source: { database, query, keyColumn? } }`: the devices are the
 *     rows of a query on a database of the config, so a 10M-device send never crosses HTTP;
 *   - `Content-Type: application/x-ndjson`: the first line is the send without its devices
 *     (`{"app":…,"notification":…}`), every further line one device. The body is read only as
 *     fast as the send takes devices (no buffering: millions of devices in one request, flat
 *     memory); a bad device line becomes that device's `invalid-device` feedback, not a 400.
 *   An `Idempotency-Key` header makes a retried request answer with the first one's send
 *   instead of sending again (idempotency.ts). Answers `202 {id, status, accepted}` once the
 *   dispatcher has accepted every device (an NDJSON body: once it is read to its end).
 * - `GET /v1/sends/:id` — its state, live counts and progress (`SendStatus`).
 * - `GET /v1/sends/:id/feedback` — NDJSON, one line per device's final feedback, in recording
 *   order; `?status=invalid-token,failed` filters; it follows the send until it ends
 *   (`?follow=false`: what is recorded now).
 * - `DELETE /v1/sends/:id` — aborts it: nothing new is sent, each unanswered device gets `aborted`.
 *
 * A key sees only its apps' sends: another app's send is a 404, as if it did not exist.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Device } from '../device.js';
import { asyncIteratorOf, PULL, type Pulled, type PullSource, pullerFor } from '../engine/source.js';
import { PushError } from '../errors.js';
import type { FeedbackStatus } from '../feedback.js';
import type { Notification } from '../notification.js';
import type { DeviceInput, Dispatcher, FeedbackRecord, SendSpec, SendStatus } from '../queue/dispatch.js';
import { StoreError } from '../stores/errors.js';
import { ndjsonDevices } from '../stores/ndjson-source.js';
import { keyAllowsApp, resolveApp } from './auth.js';
import { errorBodySchema, HttpError } from './http-error.js';
import { fingerprint, IDEMPOTENCY_KEY, type IdempotencyTable } from './idempotency.js';
import type { AppInfo } from './options.js';
import {
  deviceSchema,
  feedbackQuerySchema,
  ndjsonHeaderSchema,
  sendAcceptedSchema,
  sendBodySchema,
  sendIdParamsSchema,
  sendStatusSchema,
} from './schemas.js';
import { validationField } from './validation.js';

export const NDJSON = 'application/x-ndjson';

export interface SendsDeps {
  dispatcher: Dispatcher;
  apps: Readonly<Record<string, AppInfo>>;
  databases: readonly string[];
  idempotency: IdempotencyTable;
  maxInlineDevices: number;
  /** A new send was accepted (not a replay of an earlier one): the metrics count it. */
  onAccepted?: (spec: SendSpec) => void;
}

/** The send as a request describes it, before the server names it. */
interface SendRequest {
  app?: string;
  notification: Notification & { expiresAt?: unknown };
  dryRun?: boolean;
  delivery?: 'at-least-once' | 'at-most-once';
  devices?: Device[];
  source?: { database: string; query: string; keyColumn?: string };
}

const security = [{ apiKey: [] }];
const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema };

/** Registers the native routes. */
export async function sendsRoutes(app: FastifyInstance, deps: SendsDeps): Promise<void> {
  // The NDJSON body is handed to the route as the request stream itself: nothing reads it
  // ahead, so the upload moves at the send's pace (TCP backpressure up to the client).
  app.addContentTypeParser(NDJSON, (_request, payload, done) => done(null, payload));

  app.post(
    '/v1/sends',
    {
      config: { permission: 'send' },
      schema: {
        summary: 'Start a send',
        description:
          'A notification and its devices: inline (JSON), from a configured database (`source`), or streamed as NDJSON ' +
          '(first line `{"app","notification","dryRun","delivery"}`, then one device per line). `Idempotency-Key` ' +
          'makes a retried request answer with the first one’s send.',
        tags: ['sends'],
        security,
        headers: {
          type: 'object',
          properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } },
        },
        body: {
          content: {
            'application/json': { schema: sendBodySchema(deps.maxInlineDevices) },
            [NDJSON]: {
              schema: {
                description:
                  'line 1: {"app"?, "notification", "dryRun"?, "delivery"?}; every further line: one device ' +
                  `(${JSON.stringify(deviceSchema.required)} and anything else, which comes back with its feedback)`,
              },
            },
          },
        },
        response: {
          200: {
            description: 'replayed: an earlier request with this Idempotency-Key',
            ...sendAcceptedSchema,
          },
          202: sendAcceptedSchema,
          ...errors,
          409: errorBodySchema,
          422: errorBodySchema,
          503: errorBodySchema,
        },
      },
    },
    (request, reply) => createSend(request, reply, deps),
  );

  app.get(
    '/v1/sends/:id',
    {
      config: { permission: 'read' },
      schema: {
        summary: "A send's state, counts and progress",
        tags: ['sends'],
        security,
        params: sendIdParamsSchema,
        response: { 200: sendStatusSchema, ...errors },
      },
    },
    async (request) => visibleStatus(request, deps, (request.params as { id: string }).id),
  );

  app.get(
    '/v1/sends/:id/feedback',
    {
      config: { permission: 'read' },
      schema: {
        summary: "A send's feedback: one NDJSON line per device",
        description:
          'Every final feedback in recording order (`FeedbackRecord` per line). Follows the send until it ends unless `follow=false`.',
        tags: ['sends'],
        security,
        params: sendIdParamsSchema,
        querystring: feedbackQuerySchema,
        response: {
          200: {
            description: 'NDJSON, one FeedbackRecord per line',
            content: { [NDJSON]: { schema: { type: 'string' } } },
          },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      await visibleStatus(request, deps, id);
      const query = request.query as { status?: string; follow?: string };
      const records = deps.dispatcher.feedback(id, {
        ...(query.status === undefined ? {} : { status: query.status.split(',') as FeedbackStatus[] }),
        follow: query.follow !== 'false',
      });
      reply.type(`${NDJSON}; charset=utf-8`);
      // A client that goes away destroys the stream, which returns the dispatcher's iterator.
      return reply.send(Readable.from(ndjsonLines(records)));
    },
  );

  app.delete(
    '/v1/sends/:id',
    {
      config: { permission: 'send' },
      schema: {
        summary: 'Abort a send',
        description: 'Nothing new is sent; every device not yet answered gets an `aborted` feedback.',
        tags: ['sends'],
        security,
        params: sendIdParamsSchema,
        response: {
          200: {
            type: 'object',
            required: ['id', 'aborted'],
            properties: { id: { type: 'string' }, aborted: { type: 'boolean' } },
          },
          ...errors,
          409: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const status = await visibleStatus(request, deps, id);
      const aborted = await deps.dispatcher.abort(id, `aborted by DELETE /v1/sends/${id}`);
      if (!aborted) {
        throw new HttpError(409, 'send-finished', `the send ${id} has already ended (${status.state})`);
      }
      return { id, aborted: true };
    },
  );
}

/**
 * Feedback records as NDJSON text, batched: lines that are ready go out together (one write
 * per record would cost more than the JSON), and a batch is flushed as soon as the next record
 * is not ready at once, so a following client sees each line when it is recorded.
 */
async function* ndjsonLines(records: AsyncIterable<FeedbackRecord>): AsyncGenerator<string> {
  const iterator = records[Symbol.asyncIterator]();
  let batch = '';
  let count = 0;
  try {
    for (;;) {
      const pending = iterator.next();
      if (count > 0) {
        let ready = false;
        pending.then(
          () => (ready = true),
          () => (ready = true),
        );
        await new Promise((resolve) => setImmediate(resolve));
        if (!ready || count >= 256) {
          yield batch;
          batch = '';
          count = 0;
        }
      }
      const next = await pending;
      if (next.done) break;
      batch += `${JSON.stringify(next.value)}\n`;
      count++;
    }
    if (batch !== '') yield batch;
  } finally {
    await iterator.return?.();
  }
}

async function visibleStatus(request: FastifyRequest, deps: SendsDeps, id: string): Promise<SendStatus> {
  const status = await deps.dispatcher.status(id);
  const key = request.apiKey;
  if (status === undefined || (key !== null && !keyAllowsApp(key, status.app))) {
    throw new HttpError(404, 'not-found', `no send ${id} (or not one of this API key's apps)`);
  }
  return status;
}

async function createSend(request: FastifyRequest, reply: FastifyReply, deps: SendsDeps): Promise<unknown> {
  if (request.mediaType !== NDJSON) return acceptSend(request, reply, deps);
  let accepted = false;
  try {
    const answer = await acceptSend(request, reply, deps);
    accepted = reply.statusCode === 202;
    return answer;
  } finally {
    if (!accepted) discardBody(request, reply);
  }
}

/**
 * An NDJSON request answered without taking its devices (refused, or replayed): the rest of
 * its body is read and dropped, so the client can finish sending and read the answer, and the
 * connection is closed after it (an upload of millions of lines is not worth reading through
 * on a kept-alive connection).
 */
function discardBody(request: FastifyRequest, reply: FastifyReply): void {
  if (!reply.sent) reply.header('connection', 'close');
  const body = request.raw;
  if (body.readableEnded || body.destroyed) return;
  body.on('data', () => undefined);
  body.resume();
}

async function acceptSend(request: FastifyRequest, reply: FastifyReply, deps: SendsDeps): Promise<unknown> {
  const idempotencyKey = request.headers['idempotency-key'];
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey))
  ) {
    throw new HttpError(
      400,
      'invalid-request',
      'Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good one)',
      'headers.idempotency-key',
    );
  }
  const { send, devices, print } =
    request.mediaType === NDJSON ? await readNdjsonHead(request) : fromJsonBody(request.body as SendRequest);
  const app = resolveApp(request, send.app, deps.apps);
  if (devices.kind === 'source' && !deps.databases.includes(devices.database)) {
    throw new HttpError(
      400,
      'unknown-database',
      `no database named '${devices.database}' in this server's config (databases.<name>)`,
      'body.source.database',
    );
  }

  const scope = request.apiKey?.id ?? '';
  if (idempotencyKey !== undefined) {
    const check = deps.idempotency.begin(scope, idempotencyKey, print);
    if (check.kind === 'in-progress') {
      throw new HttpError(
        409,
        'idempotency-key-in-use',
        'a request with this Idempotency-Key is still being accepted: retry once it has been answered',
      );
    }
    if (check.kind === 'mismatch') {
      throw new HttpError(
        422,
        'idempotency-key-reused',
        'this Idempotency-Key was used for a different request: use a new key for a new send',
        'headers.idempotency-key',
      );
    }
    if (check.kind === 'replay') {
      const earlier = await deps.dispatcher.status(check.sendId);
      reply.code(200).header('idempotent-replayed', 'true').header('location', `/v1/sends/${check.sendId}`);
      return { id: check.sendId, status: earlier?.state ?? 'done', accepted: earlier?.accepted ?? 0 };
    }
  }

  const spec: SendSpec = {
    id: randomUUID(),
    app,
    notification: notificationOf(send.notification),
    devices,
    ...(send.dryRun === undefined ? {} : { dryRun: send.dryRun }),
    ...(send.delivery === undefined ? {} : { delivery: send.delivery }),
    ...(request.apiKey === null ? {} : { submittedBy: request.apiKey.id }),
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    createdAt: new Date().toISOString(),
  };
  let status: SendStatus;
  try {
    status = await deps.dispatcher.submit(spec);
  } catch (error) {
    if (idempotencyKey !== undefined) deps.idempotency.release(scope, idempotencyKey);
    throw refusal(error);
  }
  if (idempotencyKey !== undefined) deps.idempotency.accept(scope, idempotencyKey, status.id);
  if (status.id === spec.id) deps.onAccepted?.(spec);
  request.log.info(
    {
      sendId: status.id,
      app,
      accepted: devices.kind === 'inline' ? devices.devices.length : status.accepted,
      input: devices.kind,
      dryRun: spec.dryRun === true,
    },
    'send accepted',
  );
  reply.code(202).header('location', `/v1/sends/${status.id}`);
  // Inline devices are all accepted once the send is (a dispatcher may count them as it reads them).
  const accepted =
    devices.kind === 'inline' ? Math.max(status.accepted, devices.devices.length) : status.accepted;
  return { id: status.id, status: status.state, accepted };
}

function fromJsonBody(body: SendRequest): { send: SendRequest; devices: DeviceInput; print: string } {
  const devices: DeviceInput =
    body.devices !== undefined
      ? { kind: 'inline', devices: body.devices }
      : {
          kind: 'source',
          database: body.source!.database,
          query: body.source!.query,
          ...(body.source!.keyColumn === undefined ? {} : { keyColumn: body.source!.keyColumn }),
        };
  return { send: body, devices, print: fingerprint('json', JSON.stringify(body)) };
}

/**
 * Reads the first line of an NDJSON body (the send) and leaves the rest of the stream, every
 * further line a device, to be read by the send itself.
 */
async function readNdjsonHead(
  request: FastifyRequest,
): Promise<{ send: SendRequest; devices: DeviceInput; print: string }> {
  // Pulled, not iterated: the devices after the head are answered at once while the body's last
  // chunk holds more (see PullSource), and the send reads on from this same puller.
  const lines = pullerFor(ndjsonDevices(request.body as Readable));
  let first: Pulled<Device>;
  try {
    first = await lines.next();
  } catch (error) {
    throw new HttpError(
      400,
      'invalid-request',
      `cannot read the NDJSON body: ${(error as Error).message}`,
      'body',
    );
  }
  if (first.done) {
    throw new HttpError(
      400,
      'invalid-request',
      'the NDJSON body is empty: its first line is the send ({"notification": {…}}), then one device per line',
      'body',
    );
  }
  const head = first.value as Record<string, unknown>;
  if (typeof head['malformed'] === 'string' && head['platform'] === undefined && !('notification' in head)) {
    throw new HttpError(
      400,
      'invalid-request',
      `the NDJSON body's first line: ${head['malformed']}`,
      'body.line1',
    );
  }
  if (!('notification' in head) && 'platform' in head) {
    throw new HttpError(
      400,
      'invalid-request',
      'the NDJSON body\'s first line is the send ({"app"?, "notification": {…}}), then one device per line; line 1 is a device',
      'body.line1',
    );
  }
  const validate = request.compileValidationSchema(ndjsonHeaderSchema);
  if (!validate(head)) {
    const { field, message } = validationField(validate.errors ?? [], 'body.line1');
    throw new HttpError(
      400,
      'invalid-request',
      `the NDJSON body's first line is the send without its devices: ${message}`,
      field,
    );
  }
  const devices: PullSource<Device> = {
    [PULL]: () => lines,
    [Symbol.asyncIterator]: () => asyncIteratorOf(lines),
  };
  return {
    send: head as unknown as SendRequest,
    devices: { kind: 'stream', devices },
    print: fingerprint('ndjson', JSON.stringify(head)),
  };
}

/** The notification as the library takes it: `expiresAt` arrives as ISO 8601 text. */
function notificationOf(notification: SendRequest['notification']): Notification {
  if (typeof notification.expiresAt !== 'string') return notification as Notification;
  return { ...notification, expiresAt: new Date(notification.expiresAt) } as Notification;
}

/** What a dispatcher's refusal means to the client. */
function refusal(error: unknown): unknown {
  if (error instanceof HttpError) return error;
  if (error instanceof StoreError) {
    return new HttpError(
      error.code === 'store-config' ? 400 : 503,
      error.code === 'store-config' ? 'invalid-request' : 'unavailable',
      error.message,
    );
  }
  if (error instanceof PushError) {
    if (error.code === 'unavailable' || error.code === 'closed' || error.code === 'timeout') {
      return new HttpError(503, 'unavailable', `the send was not accepted: ${error.message}`);
    }
    if (error.code === 'config' || error.code === 'bad-request' || error.code === 'no-provider') {
      return new HttpError(400, 'invalid-request', `the send was not accepted: ${error.message}`);
    }
  }
  return error;
}

/**
 * gorush's HTTP API on Fastify: `POST /api/push`, `GET /api/stat/app`, `GET /api/stat/go`.
 * A plugin the server registers with its dependencies ({@link GorushDeps}); it knows nothing
 * of auth, config files or how sends run — it maps gorush requests to `SendSpec`s, submits
 * them to the {@link Dispatcher}, and answers in gorush's words.
 *
 * Encapsulated on purpose: the body parser registered here (any content type, parsed as
 * JSON, as gin's `ShouldBindWith(binding.JSON)` does) applies to these routes only.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Device, Platform } from '../../device.js';
import { PushError } from '../../errors.js';
import type { Dispatcher, SendSpec, SendStatus } from '../../queue/dispatch.js';
import { type GorushApp, type GorushPlatform, type MappedSend, mapGorushNotification } from './mapping.js';
import { decodePushBody, type GorushPushNotification, pushBodySchema } from './request.js';
import {
  EMPTY_NOTIFICATIONS,
  errorBody,
  errorText,
  failedEntry,
  goJson,
  JSON_CONTENT_TYPE,
  type LogPushEntry,
  type LogSettings,
  MISSING_NOTIFICATIONS,
  overLimit,
  recordToken,
  successBody,
} from './responses.js';
import { type GorushStats, goStats } from './stats.js';

/** The apps gorush requests can reach. */
export interface GorushDirectory {
  apps: readonly GorushApp[];
  /** The app of requests whose key has no default app: the config's only app; undefined with several. */
  defaultApp: string | undefined;
}

/**
 * The directory from the server's apps map (`apps.<name>`: the platforms it has providers
 * for, its APNs topics and, when known, its APNs environment).
 */
export function gorushDirectory(
  apps: Readonly<
    Record<
      string,
      { platforms: readonly Platform[]; apnsTopics?: readonly string[]; apnsProduction?: boolean }
    >
  >,
): GorushDirectory {
  const names = Object.keys(apps);
  return {
    apps: names.map((name) => ({ name, ...apps[name]! })),
    defaultApp: names.length === 1 ? names[0] : undefined,
  };
}

/** gorush's `core.*` / `log.*` knobs that change the API's behaviour. */
export interface GorushSettings {
  /** `core.sync`: wait for every send and return its failures in `logs` (`?sync=` overrides per request). */
  sync: boolean;
  /** `core.max_notification` (gorush's default: 100). */
  maxNotification: number;
  /** `log.hide_token` (gorush's default: true). */
  maskTokens: boolean;
  /** `log.hide_messages` (default false). */
  hideMessages?: boolean;
  /** Largest request body in bytes (default: the server's `bodyLimit`). */
  bodyLimit?: number;
}

/** What {@link gorushRoutes} needs from the server. */
export interface GorushDeps {
  dispatcher: Dispatcher;
  directory: GorushDirectory;
  settings: GorushSettings;
  stats: GorushStats;
  /** A new send id (a UUID). */
  newId(): string;
  /** Shown in `/api/stat/app` and the `X-GORUSH-VERSION` header. */
  version: string;
  /** gorush's `api.*_uri` renames (defaults `/api/push`, `/api/stat/app`, `/api/stat/go`). */
  paths?: { push?: string; statApp?: string; statGo?: string };
  /** The request's own default app (its API key's), when it has one. */
  defaultAppFor?(request: FastifyRequest): string | undefined;
  /**
   * Called once per request, before anything is submitted, with every app it would send to.
   * Throw (an error with `statusCode` 403) to refuse the whole request.
   */
  authorize?(request: FastifyRequest, apps: readonly string[]): void | Promise<void>;
  /** The API key id that submits (`SendSpec.submittedBy`), never the key. */
  submittedBy?(request: FastifyRequest): string | undefined;
}

/** The body parser's answer for a body that is not JSON (gorush answers its bind error). */
const NOT_JSON = Symbol('not JSON');

/** A failure statuses filter, built once: gorush's `logs` hold failures only. */
const FAILURES = { status: ['invalid-token', 'failed'] as const, follow: false };

function parseSync(value: unknown, fallback: boolean): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return fallback;
}

/** The part of the request a log entry repeats. */
interface EntryContext {
  notifId?: string;
  platform: GorushPlatform;
  message?: string;
}

function contextOf(n: GorushPushNotification, platform: GorushPlatform): EntryContext {
  return { notifId: n.notif_id, platform, message: n.message };
}

/** Registers gorush's routes. Use as `app.register(gorushRoutes, deps)`. */
export async function gorushRoutes(app: FastifyInstance, deps: GorushDeps): Promise<void> {
  const paths = {
    push: deps.paths?.push ?? '/api/push',
    statApp: deps.paths?.statApp ?? '/api/stat/app',
    statGo: deps.paths?.statGo ?? '/api/stat/go',
  };
  const logSettings: LogSettings = {
    maskTokens: deps.settings.maskTokens,
    hideMessages: deps.settings.hideMessages === true,
  };

  // gin binds JSON whatever the Content-Type says (curl -d sends form-urlencoded).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    '*',
    { parseAs: 'string', ...(deps.settings.bodyLimit ? { bodyLimit: deps.settings.bodyLimit } : {}) },
    (_request, body, done) => {
      try {
        // Drop `__proto__` keys: the body is copied into new objects later.
        done(
          null,
          JSON.parse(body as string, (key, value) => (key === '__proto__' ? undefined : value)),
        );
      } catch {
        done(null, NOT_JSON);
      }
    },
  );

  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-gorush-version', deps.version);
  });

  const badRequest = (reply: FastifyReply, message: string) =>
    reply.code(400).type(JSON_CONTENT_TYPE).send(errorBody(400, message));

  app.post(
    paths.push,
    {
      schema: {
        summary: 'Send notifications (gorush compatible)',
        tags: ['gorush'],
        querystring: {
          type: 'object',
          properties: {
            sync: { type: 'string', description: '`true`: wait and return failures in `logs`.' },
          },
        },
        body: pushBodySchema,
        response: {
          200: {
            type: 'object',
            properties: {
              counts: { type: 'integer' },
              logs: { type: 'array', items: { type: 'object', additionalProperties: true } },
              success: { type: 'string' },
            },
          },
          400: {
            type: 'object',
            properties: { code: { type: 'integer' }, message: { type: 'string' } },
          },
          503: {
            description:
              'Busy (queue full, shutting down, Redis down): nothing was sent; retry after Retry-After',
            type: 'object',
            properties: { code: { type: 'integer' }, message: { type: 'string' } },
          },
        },
      },
      // Validation is decodePushBody's (Go's rules, no coercion); the schema above documents it.
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      const body = request.body;
      if (body === undefined || body === NOT_JSON) return badRequest(reply, MISSING_NOTIFICATIONS);
      const decoded = decodePushBody(body);
      if (!decoded.ok) {
        request.log.info({ problem: decoded.problem }, 'gorush request refused');
        // gorush's message is the same for every bind error; the header says which field.
        reply.header('x-pushline-problem', decoded.problem.replace(/[^\x20-\x7e]/g, '?'));
        return badRequest(reply, MISSING_NOTIFICATIONS);
      }
      const { notifications } = decoded;
      if (notifications.length === 0) return badRequest(reply, EMPTY_NOTIFICATIONS);
      if (notifications.length > deps.settings.maxNotification) {
        return badRequest(reply, overLimit(notifications.length, deps.settings.maxNotification));
      }

      const mapping = {
        apps: deps.directory.apps,
        defaultApp: deps.defaultAppFor?.(request) ?? deps.directory.defaultApp,
      };
      const mapped = notifications.map((n) => mapGorushNotification(n, mapping));
      const apps = new Set<string>();
      for (const m of mapped) if (m.kind === 'send') for (const s of m.sends) apps.add(s.app);
      await deps.authorize?.(request, [...apps]);

      const sync = parseSync(
        (request.query as Record<string, unknown> | undefined)?.['sync'],
        deps.settings.sync,
      );
      let counts = 0;
      const work: Array<Promise<TaskResult>> = [];
      for (const [i, m] of mapped.entries()) {
        const n = notifications[i]!;
        if (m.kind === 'ignored') {
          request.log.debug({ notification: i, reason: m.reason }, 'gorush notification ignored');
          continue;
        }
        counts += m.counts;
        deps.stats.taskSubmitted();
        const context = contextOf(n, m.platform);
        if (m.kind === 'rejected') {
          request.log.warn({ notification: i, error: m.error }, 'gorush notification not sent');
          deps.stats.addPushes(m.platform, 0, m.targets.length);
          deps.stats.taskFinished(false);
          work.push(
            Promise.resolve({
              logs: sync
                ? m.targets.map((token) => failedEntry({ ...context, token, error: m.error }, logSettings))
                : [],
              onlyBusy: false,
            }),
          );
          continue;
        }
        work.push(runTask(request, deps, m.sends, context, sync, logSettings));
      }
      deps.stats.addTotal(counts);
      const results = await Promise.all(work);
      // Nothing of the request was taken because the dispatcher is busy (queue full, shutting
      // down, Redis down): say so with a 503 the client can retry, not gorush's 200, which
      // would tell it the pushes are on their way when none is.
      if (results.length > 0 && results.every((r) => r.onlyBusy)) {
        return reply
          .code(503)
          .header('retry-after', '1')
          .type(JSON_CONTENT_TYPE)
          .send(errorBody(503, 'The server is busy: nothing was sent. Retry later.'));
      }
      const logs = results.flatMap((r) => r.logs);
      return reply.code(200).type(JSON_CONTENT_TYPE).send(successBody(counts, logs));
    },
  );

  // Plain objects (no excess-property check): `summary` / `tags` are @fastify/swagger's keys.
  const anyObject = { 200: { type: 'object', additionalProperties: true } };
  const statAppSchema = { summary: 'gorush application counters', tags: ['gorush'], response: anyObject };
  const statGoSchema = {
    summary: 'Runtime statistics of the Node process',
    tags: ['gorush'],
    response: anyObject,
  };
  app.get(paths.statApp, { schema: statAppSchema }, async (_r, reply) =>
    reply.type(JSON_CONTENT_TYPE).send(goJson(deps.stats.app(deps.version))),
  );

  app.get(paths.statGo, { schema: statGoSchema }, async (_r, reply) =>
    reply.type(JSON_CONTENT_TYPE).send(goJson(goStats())),
  );
}

/**
 * One gorush notification as a task: submits its sends, counts their outcomes when they
 * settle, and — in sync mode — waits for that and returns the failure entries. A send the
 * dispatcher refuses fails each of its devices with the dispatcher's reason in both modes,
 * as gorush reports a full queue ("max capacity reached").
 */
async function runTask(
  request: FastifyRequest,
  deps: GorushDeps,
  sends: readonly MappedSend[],
  context: EntryContext,
  sync: boolean,
  logSettings: LogSettings,
): Promise<TaskResult> {
  const refused: LogPushEntry[] = [];
  const accepted: string[] = [];
  let busy = 0;
  for (const send of sends) {
    const spec: SendSpec = {
      id: deps.newId(),
      app: send.app,
      notification: send.notification,
      devices: { kind: 'inline', devices: send.devices },
      createdAt: new Date().toISOString(),
    };
    const by = deps.submittedBy?.(request);
    if (by !== undefined) spec.submittedBy = by;
    try {
      await deps.dispatcher.submit(spec);
      accepted.push(spec.id);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      // A full queue or a shutdown (`unavailable`) is the expected answer to overload: one
      // short warning, no stack (under overload the log lines would cost more than the sends).
      if (err instanceof PushError && err.code === 'unavailable') {
        busy++;
        request.log.warn({ send: spec.id, problem: error }, 'gorush send refused: the dispatcher is busy');
      } else {
        request.log.error({ send: spec.id, err }, 'gorush send refused by the dispatcher');
      }
      deps.stats.addPushes(context.platform, 0, send.devices.length);
      for (const device of send.devices) {
        refused.push(failedEntry({ ...context, token: tokenOf(device), error }, logSettings));
      }
    }
  }

  const settled = settle(request, deps, accepted, context.platform, refused.length === 0);
  const onlyBusy = accepted.length === 0 && busy === sends.length;
  if (!sync) {
    void settled;
    return { logs: refused, onlyBusy };
  }
  await settled;
  const logs = [...refused];
  for (const id of accepted) {
    try {
      for await (const record of deps.dispatcher.feedback(id, FAILURES)) {
        logs.push(
          failedEntry({ ...context, token: recordToken(record), error: errorText(record) }, logSettings),
        );
      }
    } catch (err) {
      // The sends ran; only their record is unreadable. Answer with what was read, as gorush
      // answers with the entries its workers managed to append.
      request.log.error({ send: id, err }, 'gorush sync logs: the feedback of a send could not be read');
    }
  }
  return { logs, onlyBusy };
}

/** What a task left: its log entries, and whether every send of it was refused as busy (nothing sent). */
interface TaskResult {
  logs: LogPushEntry[];
  onlyBusy: boolean;
}

/** Waits for the task's sends, counts their outcomes and finishes the task. Never rejects. */
async function settle(
  request: FastifyRequest,
  deps: GorushDeps,
  ids: readonly string[],
  platform: GorushPlatform,
  allAccepted: boolean,
): Promise<void> {
  let ok = allAccepted;
  const results = await Promise.allSettled(ids.map((id) => deps.dispatcher.settled(id)));
  for (const result of results) {
    if (result.status === 'rejected') {
      ok = false;
      request.log.error({ err: result.reason }, 'gorush send did not settle');
      continue;
    }
    const status: SendStatus = result.value;
    deps.stats.addOutcomes(platform, status);
    if (status.state !== 'done') ok = false;
  }
  deps.stats.taskFinished(ok);
}

function tokenOf(device: Device): string {
  return typeof device.token === 'string' ? device.token : JSON.stringify(device.token);
}

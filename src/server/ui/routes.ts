/**
 * The dashboard's routes under `/ui` (and the emulator inbox's under `/inbox` when the server
 * runs with `--emulator`), registered by `buildServer()`.
 *
 * Auth: the same API keys as the API. The login form takes a key once; the browser then holds
 * only a session cookie (sessions.ts). The routes are `public` to the API's bearer hook and
 * check the session themselves: pages redirect to the login form, event streams and forms
 * answer 401. A session sees the sends of its key's apps only (another app's send is a 404, as
 * in the API); aborting needs the `send` permission and the session's CSRF token.
 *
 * Nothing here is an API: the routes are left out of `/openapi.json`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FeedbackStatus } from '../../feedback.js';
import type { Dispatcher, FeedbackRecord } from '../../queue/dispatch.js';
import { type ApiKeyring, keyAllowsApp } from '../auth.js';
import { UI_CSS, UI_JS } from './assets.js';
import { isTerminal, type SendDirectory, type TrackedSend } from './directory.js';
import { PAGE_HEADERS } from './html.js';
import {
  actionsSection,
  domId,
  FEEDBACK_STATUSES,
  type FeedbackSearch,
  listPage,
  liveSection,
  loginPage,
  sendPage,
  sendRow,
  tokenText,
  totalsSection,
  UI_PREFIX,
} from './pages.js';
import {
  csrfMatches,
  readCookie,
  SESSION_COOKIE,
  type SessionStore,
  sessionCookie,
  type UiSession,
} from './sessions.js';
import { EventStream, type Patch } from './sse.js';

/** Pages served beside the dashboard behind its login (the emulator inbox). */
export interface MountedPages {
  /** The path they live under, e.g. `/inbox`. */
  prefix: string;
  /** Answers one GET request under `prefix` on the raw Node objects. */
  handle(request: IncomingMessage, response: ServerResponse): void | Promise<void>;
}

export interface UiDeps {
  directory: SendDirectory;
  /** The dispatcher the API uses (the directory's tracking one). */
  dispatcher: Dispatcher;
  keyring: ApiKeyring;
  sessions: SessionStore;
  /** Served over https: the cookie gets `Secure`. */
  secure: boolean;
  /** The emulator inbox, with `serve --emulator`. */
  inbox?: MountedPages;
}

/** Feedback rows a search shows at most. */
const MAX_FEEDBACK_ROWS = 100;
const SEND_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** Where a login may lead: a dashboard or inbox path, never another site. */
const NEXT = /^\/(ui|inbox)(\/[A-Za-z0-9_\-/.]*)?(\?[A-Za-z0-9_\-=&%.+]*)?$/;

const hidden = { hide: true } as const;
const open = { permission: 'public' } as const;

/** Registers the routes (an encapsulated plugin: its form parser concerns only them). */
export async function uiRoutes(app: FastifyInstance, deps: UiDeps): Promise<void> {
  const { directory, sessions } = deps;
  const streams = new Set<EventStream>();
  const inbox = deps.inbox !== undefined;

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.close();
  });
  app.addHook('onClose', async () => directory.close());

  const sessionOf = (request: FastifyRequest): UiSession | undefined =>
    sessions.get(readCookie(request.headers.cookie, SESSION_COOKIE));

  /** The session, or undefined once the reply says what to do (log in, 401). */
  const requireSession = (
    request: FastifyRequest,
    reply: FastifyReply,
    page: boolean,
  ): UiSession | undefined => {
    const session = sessionOf(request);
    if (session !== undefined) return session;
    if (page) {
      const next = NEXT.test(request.url) ? `?next=${encodeURIComponent(request.url)}` : '';
      void reply.code(303).header('location', `${UI_PREFIX}/login${next}`).send();
    } else {
      void reply.code(401).type('text/plain; charset=utf-8').send('log in first: /ui/login');
    }
    return undefined;
  };

  const visible = (session: UiSession, send: TrackedSend | undefined): send is TrackedSend =>
    send !== undefined && keyAllowsApp(session.identity, send.app);

  const htmlReply = (reply: FastifyReply, code: number, text: string) =>
    reply.code(code).headers(PAGE_HEADERS).send(text);

  const findSend = async (id: string): Promise<TrackedSend | undefined> =>
    SEND_ID.test(id) ? await directory.refresh(id) : undefined;

  const notFound = (reply: FastifyReply, session: UiSession) =>
    htmlReply(
      reply,
      404,
      listPage({
        session,
        sends: directory.list().filter((send) => visible(session, send)),
        directory,
        inbox,
        notice: "No such send (or not one of this key's apps).",
      }),
    );

  // ── assets (no session: they hold nothing) ───────────────────────────────────────────────
  const asset = (type: string, body: string) => (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .type(type)
      .header('cache-control', 'public, max-age=300')
      .header('x-content-type-options', 'nosniff')
      .send(body);
  app.get(
    `${UI_PREFIX}/assets/ui.css`,
    { config: open, schema: hidden },
    asset('text/css; charset=utf-8', UI_CSS),
  );
  app.get(
    `${UI_PREFIX}/assets/ui.js`,
    { config: open, schema: hidden },
    asset('text/javascript; charset=utf-8', UI_JS),
  );

  // ── login ────────────────────────────────────────────────────────────────────────────────
  app.get(`${UI_PREFIX}/login`, { config: open, schema: hidden }, async (request, reply) => {
    const next = (request.query as { next?: string }).next;
    if (sessionOf(request) !== undefined) return reply.code(303).header('location', UI_PREFIX).send();
    return htmlReply(
      reply,
      200,
      loginPage({ inbox, ...(next !== undefined && NEXT.test(next) ? { next } : {}) }),
    );
  });

  app.post(`${UI_PREFIX}/login`, { config: open, schema: hidden }, async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, unknown>;
    const next = typeof form['next'] === 'string' && NEXT.test(form['next']) ? form['next'] : undefined;
    const again = (error: string) =>
      htmlReply(reply, 401, loginPage({ error, inbox, ...(next === undefined ? {} : { next }) }));
    const key = typeof form['key'] === 'string' ? form['key'].trim() : '';
    if (key === '') return again('Paste an API key.');
    const identity = deps.keyring.identify(key);
    if (identity === undefined) return again('That key is not valid for this server.');
    if (!identity.permissions.has('read')) {
      return again("That key lacks the 'read' permission the dashboard needs.");
    }
    const session = sessions.create(identity);
    request.log.info({ key: identity.id }, 'dashboard login');
    return reply
      .code(303)
      .header('set-cookie', sessionCookie(session, deps.secure, sessions.ttlMs))
      .header('location', next ?? UI_PREFIX)
      .send();
  });

  app.post(`${UI_PREFIX}/logout`, { config: open, schema: hidden }, async (request, reply) => {
    const session = requireSession(request, reply, false);
    if (session === undefined) return reply;
    if (!csrfMatches(session, (request.body as Record<string, unknown> | undefined)?.['csrf'])) {
      return reply.code(403).type('text/plain; charset=utf-8').send('the form is stale: reload the page');
    }
    sessions.delete(session.id);
    return reply
      .code(303)
      .header('set-cookie', sessionCookie(undefined, deps.secure, 0))
      .header('location', `${UI_PREFIX}/login`)
      .send();
  });

  // ── the list ─────────────────────────────────────────────────────────────────────────────
  app.get(UI_PREFIX, { config: open, schema: hidden }, async (request, reply) => {
    const session = requireSession(request, reply, true);
    if (session === undefined) return reply;
    const sends = directory.list().filter((send) => visible(session, send));
    return htmlReply(reply, 200, listPage({ session, sends, directory, inbox }));
  });

  app.get(`${UI_PREFIX}/open`, { config: open, schema: hidden }, async (request, reply) => {
    const session = requireSession(request, reply, true);
    if (session === undefined) return reply;
    const id = String((request.query as { id?: string }).id ?? '').trim();
    return reply
      .code(303)
      .header('location', `${UI_PREFIX}/sends/${encodeURIComponent(id)}`)
      .send();
  });

  app.get(
    `${UI_PREFIX}/events`,
    { config: { ...open, rateLimit: false }, schema: hidden },
    (request, reply) => {
      const session = requireSession(request, reply, false);
      if (session === undefined) return reply;
      const stream = follow(reply);
      const push = (changed: readonly TrackedSend[]) => {
        const mine = changed.filter((send) => visible(session, send));
        if (mine.length === 0) return;
        const all = directory.list().filter((send) => visible(session, send));
        stream.patch([
          { op: 'replace', target: 'no-sends', html: '' },
          ...mine.map(
            (send): Patch => ({
              op: 'replace',
              target: domId(send.id),
              parent: 'sends-body',
              html: sendRow(send, directory).text,
            }),
          ),
          { op: 'replace', target: 'totals', html: totalsSection(all, directory).text },
        ]);
      };
      stream.onClose(directory.subscribe(push));
      push(directory.list());
    },
  );

  // ── one send ─────────────────────────────────────────────────────────────────────────────
  app.get(`${UI_PREFIX}/sends/:id`, { config: open, schema: hidden }, async (request, reply) => {
    const session = requireSession(request, reply, true);
    if (session === undefined) return reply;
    const send = await findSend((request.params as { id: string }).id);
    if (!visible(session, send)) return notFound(reply, session);
    const query = request.query as { status?: string; token?: string };
    const status = FEEDBACK_STATUSES.find((s) => s === query.status);
    const token =
      typeof query.token === 'string' && query.token.trim() !== '' ? query.token.trim() : undefined;
    const search = await searchFeedback(deps.dispatcher, send.id, status, token);
    return htmlReply(reply, 200, sendPage({ session, send, directory, search, inbox }));
  });

  app.get(
    `${UI_PREFIX}/sends/:id/events`,
    { config: { ...open, rateLimit: false }, schema: hidden },
    async (request, reply) => {
      const session = requireSession(request, reply, false);
      if (session === undefined) return reply;
      const send = await findSend((request.params as { id: string }).id);
      if (!visible(session, send))
        return reply.code(404).type('text/plain; charset=utf-8').send('no such send');
      const stream = follow(reply);
      // Unknown at first (the page may have been rendered before the last change): the first
      // patch carries the buttons too.
      let state: string | undefined = '';
      const push = (changed: readonly TrackedSend[]) => {
        if (!changed.includes(send)) return;
        const patches: Patch[] = [{ op: 'replace', target: 'live', html: liveSection(send, directory).text }];
        // The abort button only when the state changes: replacing it on every tick would take
        // the keyboard focus away from it.
        if (send.status?.state !== state) {
          state = send.status?.state;
          patches.push({ op: 'replace', target: 'actions', html: actionsSection(send, session).text });
        }
        stream.patch(patches);
      };
      stream.onClose(directory.subscribe(push));
      push([send]);
      return reply;
    },
  );

  app.post(`${UI_PREFIX}/sends/:id/abort`, { config: open, schema: hidden }, async (request, reply) => {
    const session = requireSession(request, reply, false);
    if (session === undefined) return reply;
    if (!csrfMatches(session, (request.body as Record<string, unknown> | undefined)?.['csrf'])) {
      return reply.code(403).type('text/plain; charset=utf-8').send('the form is stale: reload the page');
    }
    if (!session.identity.permissions.has('send')) {
      return reply.code(403).type('text/plain; charset=utf-8').send("this key lacks the 'send' permission");
    }
    const send = await findSend((request.params as { id: string }).id);
    if (!visible(session, send))
      return reply.code(404).type('text/plain; charset=utf-8').send('no such send');
    if (!isTerminal(send.status)) {
      const aborted = await deps.dispatcher.abort(
        send.id,
        `aborted from the dashboard by key ${session.identity.id}`,
      );
      request.log.info({ sendId: send.id, key: session.identity.id, aborted }, 'dashboard abort');
      await directory.refresh(send.id);
    }
    return reply
      .code(303)
      .header('location', `${UI_PREFIX}/sends/${encodeURIComponent(send.id)}`)
      .send();
  });

  // ── the emulator inbox, behind the same login ────────────────────────────────────────────
  if (deps.inbox !== undefined) {
    const pages = deps.inbox;
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const session = requireSession(request, reply, !request.url.includes('/events'));
      if (session === undefined) return reply;
      reply.hijack();
      await pages.handle(request.raw, reply.raw);
    };
    app.get(pages.prefix, { config: { ...open, rateLimit: false }, schema: hidden }, handler);
    app.get(`${pages.prefix}/*`, { config: { ...open, rateLimit: false }, schema: hidden }, handler);
  }

  /** Takes the response over for an event stream, ended when the server closes. */
  function follow(reply: FastifyReply): EventStream {
    reply.hijack();
    const stream = new EventStream(reply.raw);
    streams.add(stream);
    stream.onClose(() => streams.delete(stream));
    return stream;
  }
}

/** Reads a send's recorded feedback (never following it), keeping the first matches. */
async function searchFeedback(
  dispatcher: Dispatcher,
  id: string,
  status: FeedbackStatus | undefined,
  token: string | undefined,
): Promise<FeedbackSearch> {
  const records: FeedbackRecord[] = [];
  let scanned = 0;
  let more = false;
  try {
    for await (const record of dispatcher.feedback(id, {
      follow: false,
      ...(status ? { status: [status] } : {}),
    })) {
      scanned++;
      if (token !== undefined && !tokenText(record.device.token).includes(token)) continue;
      if (records.length >= MAX_FEEDBACK_ROWS) {
        more = true;
        break;
      }
      records.push(record);
    }
  } catch {
    // Feedback forgotten (retention) or Redis down: the page shows what it has.
  }
  return {
    records,
    scanned,
    more,
    ...(status === undefined ? {} : { status }),
    ...(token === undefined ? {} : { token }),
  };
}

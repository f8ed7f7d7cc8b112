/**
 * The inbox's HTTP side, on plain Node request/response objects so that the same pages are
 * served by `pushline emulate` (its own small listener, {@link startInboxServer}) and by
 * `pushline serve --emulator` (mounted in the server behind the dashboard's login):
 * `GET <prefix>` the page (filters in the query string), `GET <prefix>/events` its live updates
 * (server-sent events), `GET <prefix>/assets/ui.css|ui.js`.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UI_CSS, UI_JS } from '../../server/ui/assets.js';
import { PAGE_HEADERS } from '../../server/ui/html.js';
import { EventStream } from '../../server/ui/sse.js';
import { type Inbox, type InboxFilter, matches } from './inbox.js';
import type { InboxProvider } from './items.js';
import { inboxPage, itemCard } from './render.js';

export interface InboxPagesOptions {
  /** Where the pages live. Default `/inbox`. */
  prefix?: string;
  /** Notifications a page shows at most (the newest). Default 200. */
  pageSize?: number;
  /** Top navigation (back to the dashboard when mounted in `pushline serve`). */
  nav?: ReadonlyArray<{ label: string; href: string; current?: boolean }>;
}

export interface InboxPages {
  readonly prefix: string;
  handle(request: IncomingMessage, response: ServerResponse): void;
  /** Ends every open event stream. */
  close(): void;
}

const PROVIDERS = new Set<InboxProvider>(['apns', 'fcm', 'webpush', 'hms']);

/** The filter a query string asks for (unknown values ignored). */
export function parseFilter(params: URLSearchParams): InboxFilter {
  const filter: InboxFilter = {};
  const token = params.get('token')?.trim();
  if (token) filter.token = token.slice(0, 4096);
  const app = params.get('app');
  if (app) filter.app = app.slice(0, 512);
  const provider = params.get('provider');
  if (provider && PROVIDERS.has(provider as InboxProvider)) filter.provider = provider as InboxProvider;
  return filter;
}

export function inboxPages(inbox: Inbox, options: InboxPagesOptions = {}): InboxPages {
  const prefix = options.prefix ?? '/inbox';
  const pageSize = options.pageSize ?? 200;
  const streams = new Set<EventStream>();

  const text = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff' });
    res.end(body);
  };

  return {
    prefix,
    close() {
      for (const stream of streams) stream.close();
    },
    handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://inbox.invalid');
      if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'GET only');
      const path = url.pathname.replace(/\/+$/, '');
      const filter = parseFilter(url.searchParams);
      if (path === prefix) {
        inbox.collect();
        res.writeHead(200, PAGE_HEADERS);
        res.end(
          inboxPage({
            prefix,
            items: inbox.list(filter, pageSize),
            filter,
            apps: inbox.apps(),
            kept: inbox.size,
            max: inbox.max,
            ...(options.nav === undefined ? {} : { nav: options.nav }),
          }),
        );
        return;
      }
      if (path === `${prefix}/events`) {
        const stream = new EventStream(res);
        streams.add(stream);
        const unsubscribe = inbox.subscribe((added) => {
          const shown = added.filter((item) => matches(item, filter)).slice(-pageSize);
          if (shown.length === 0) return;
          stream.patch([
            { op: 'replace', target: 'inbox-empty', html: '' },
            {
              op: 'prepend',
              target: 'inbox-list',
              max: pageSize,
              html: shown
                .reverse()
                .map((item) => itemCard(item).text)
                .join(''),
            },
          ]);
        });
        stream.onClose(() => {
          unsubscribe();
          streams.delete(stream);
        });
        return;
      }
      if (path === `${prefix}/assets/ui.css`) return text(res, 200, UI_CSS, 'text/css; charset=utf-8');
      if (path === `${prefix}/assets/ui.js`) return text(res, 200, UI_JS, 'text/javascript; charset=utf-8');
      return text(res, 404, 'not found');
    },
  };
}

export interface InboxServer {
  /** `http://127.0.0.1:<port>/inbox`. */
  readonly url: string;
  close(): Promise<void>;
}

/** The inbox on its own listener (what `pushline emulate` runs): 127.0.0.1, a free port by default. */
export async function startInboxServer(
  inbox: Inbox,
  options: InboxPagesOptions & { host?: string; port?: number } = {},
): Promise<InboxServer> {
  const pages = inboxPages(inbox, options);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/') {
      res.writeHead(302, { location: pages.prefix });
      res.end();
      return;
    }
    if (path !== pages.prefix && !path.startsWith(`${pages.prefix}/`)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('not found');
      return;
    }
    pages.handle(req, res);
  });
  const host = options.host ?? '127.0.0.1';
  server.listen(options.port ?? 0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${pages.prefix}`,
    close: async () => {
      pages.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

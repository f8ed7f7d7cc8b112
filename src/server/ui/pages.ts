/**
 * The dashboard's pages and the fragments the live updates replace: the login form, the list
 * of sends (state, progress, rate; totals per app and per provider), and a send's page
 * (counts by status, error code and provider, throughput over time, retries, dead tokens, the
 * feedback search, abort). Every value from a send — a title, a device, an error's text — is
 * escaped by the `html` tag; every token is masked.
 */
import type { FeedbackStatus } from '../../feedback.js';
import type { FeedbackRecord, SendStatus } from '../../queue/dispatch.js';
import { maskToken } from '../mask.js';
import { isTerminal, type SendDirectory, type TrackedSend } from './directory.js';
import { formatCount, formatDuration, formatRate, html, page, raw, type SafeHtml } from './html.js';
import type { UiSession } from './sessions.js';

export const UI_PREFIX = '/ui';
const ASSETS = `${UI_PREFIX}/assets`;

export const FEEDBACK_STATUSES: readonly FeedbackStatus[] = ['sent', 'validated', 'invalid-token', 'failed'];

/** A send's id as part of an element id (ids are UUIDs; anything else is reduced to safe characters). */
export const domId = (id: string): string => `send-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

const sendHref = (id: string) => `${UI_PREFIX}/sends/${encodeURIComponent(id)}`;

function headerExtra(session: UiSession): SafeHtml {
  return html`<span id="live-status" class="live-status" role="status">static</span>
<form class="inline" method="post" action="${UI_PREFIX}/logout">
<input type="hidden" name="csrf" value="${session.csrf}">
<span class="muted-light">key <code>${session.identity.id}</code></span>
<button type="submit">Log out</button>
</form>`;
}

function nav(current: 'sends' | 'inbox' | 'none', inbox: boolean) {
  return [
    { label: 'Sends', href: UI_PREFIX, current: current === 'sends' },
    ...(inbox ? [{ label: 'Emulator inbox', href: '/inbox', current: current === 'inbox' }] : []),
  ];
}

/** The login form. `next` is where to go after (already checked to be a dashboard path). */
export function loginPage(options: { error?: string; next?: string; inbox: boolean }): string {
  return page({
    title: 'Log in',
    assets: ASSETS,
    body: html`<div class="login">
<h1>Log in to pushline</h1>
<p class="muted">Paste an API key with the <code>read</code> permission (<code>pushline key</code> makes one). It is checked once and not kept: the browser gets a session cookie.</p>
${options.error === undefined ? '' : html`<p class="error" role="alert">${options.error}</p>`}
<form method="post" action="${UI_PREFIX}/login">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required spellcheck="false">
${options.next === undefined ? '' : html`<input type="hidden" name="next" value="${options.next}">`}
<p><button class="primary" type="submit">Log in</button></p>
</form>
</div>`,
  });
}

function stateBadge(status: SendStatus | undefined): SafeHtml {
  const state = status?.state ?? 'queued';
  return html`<span class="state state-${state}">${state}</span>`;
}

function progress(status: SendStatus | undefined, label: string): SafeHtml {
  const accepted = status?.accepted ?? 0;
  const done = status?.counts.total ?? 0;
  const max = Math.max(accepted, done, 1);
  const percent = Math.floor((done / max) * 100);
  return html`<progress max="${max}" value="${done}" aria-label="${label}" data-done="${done}" data-accepted="${accepted}">${percent}%</progress>
<span class="mono">${formatCount(done)} / ${formatCount(accepted)}</span>`;
}

/** One row of the list (replaced whole by the live updates). */
export function sendRow(send: TrackedSend, directory: SendDirectory): SafeHtml {
  const status = send.status;
  const rate = directory.rate(send);
  const providers = Object.entries(status?.counts.providers ?? {})
    .map(([name, c]) => `${name} ${formatCount(c.sent + c.validated + c.invalidToken + c.failed)}`)
    .join(' · ');
  return html`<tr id="${domId(send.id)}" data-state="${status?.state ?? 'queued'}">
<td><a href="${sendHref(send.id)}"><code>${send.id.slice(0, 8)}</code></a>${send.title === undefined ? '' : html` <span class="muted">${truncate(send.title, 60)}</span>`}</td>
<td>${send.app}</td>
<td>${stateBadge(status)}</td>
<td>${progress(status, `progress of send ${send.id.slice(0, 8)}`)}</td>
<td class="num">${isTerminal(status) ? averageRate(status!) : formatRate(rate.total)}</td>
<td class="num">${formatCount(status?.counts.failed ?? 0)}</td>
<td>${providers || html`<span class="muted">–</span>`}</td>
<td>${new Date(send.createdAt).toISOString().replace('T', ' ').slice(0, 19)}</td>
</tr>`;
}

function averageRate(status: SendStatus): string {
  if (status.startedAt === undefined || status.finishedAt === undefined) return '–';
  const ms = Date.parse(status.finishedAt) - Date.parse(status.startedAt);
  return ms > 0 ? `avg ${formatRate((status.counts.total * 1000) / ms)}` : '–';
}

/** What is running now, summed per app and per provider (the list's live header). */
export function totalsSection(sends: readonly TrackedSend[], directory: SendDirectory): SafeHtml {
  const byApp = new Map<string, { running: number; done: number; accepted: number; rate: number }>();
  const byProvider = new Map<string, { done: number; rate: number }>();
  for (const send of sends) {
    if (send.status === undefined || isTerminal(send.status)) continue;
    const rate = directory.rate(send);
    const app = byApp.get(send.app) ?? { running: 0, done: 0, accepted: 0, rate: 0 };
    app.running++;
    app.done += send.status.counts.total;
    app.accepted += send.status.accepted;
    app.rate += rate.total;
    byApp.set(send.app, app);
    for (const [name, c] of Object.entries(send.status.counts.providers)) {
      const provider = byProvider.get(name) ?? { done: 0, rate: 0 };
      provider.done += c.sent + c.validated + c.invalidToken + c.failed;
      provider.rate += rate.providers[name] ?? 0;
      byProvider.set(name, provider);
    }
  }
  if (byApp.size === 0) {
    return html`<section id="totals" aria-labelledby="totals-h"><h2 id="totals-h">Running now</h2><p class="muted">No send is running.</p></section>`;
  }
  return html`<section id="totals" aria-labelledby="totals-h"><h2 id="totals-h">Running now</h2>
<div class="cards">
${[...byApp].map(
  ([name, app]) =>
    html`<div class="stat"><span>app ${name} · ${app.running} running</span><b>${formatRate(app.rate)}</b><span>${formatCount(app.done)} / ${formatCount(app.accepted)} devices</span></div>`,
)}
${[...byProvider].map(
  ([name, provider]) =>
    html`<div class="stat"><span>provider ${name}</span><b>${formatRate(provider.rate)}</b><span>${formatCount(provider.done)} answered</span></div>`,
)}
</div></section>`;
}

/** The list of sends. */
export function listPage(options: {
  session: UiSession;
  sends: readonly TrackedSend[];
  directory: SendDirectory;
  inbox: boolean;
  notice?: string;
}): string {
  const { sends, directory } = options;
  return page({
    title: 'Sends',
    assets: ASSETS,
    nav: nav('sends', options.inbox),
    headerExtra: headerExtra(options.session),
    live: `${UI_PREFIX}/events`,
    body: html`<h1>Sends</h1>
${options.notice === undefined ? '' : html`<p class="error" role="alert">${options.notice}</p>`}
${totalsSection(sends, directory)}
<h2 id="list-h">Recent sends</h2>
<form class="filters" method="get" action="${UI_PREFIX}/open">
<label for="open-id">Open a send by id<input id="open-id" name="id" required maxlength="128" spellcheck="false"></label>
<button type="submit">Open</button>
</form>
<table aria-labelledby="list-h">
<thead><tr><th scope="col">Send</th><th scope="col">App</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col" class="num">Rate</th><th scope="col" class="num">Failed</th><th scope="col">Per provider</th><th scope="col">Created (UTC)</th></tr></thead>
<tbody id="sends-body">
${sends.map((send) => sendRow(send, directory))}
</tbody>
</table>
${sends.length === 0 ? html`<p class="muted" id="no-sends">No sends yet: start one with <code>POST /v1/sends</code>; it appears here as it runs.</p>` : ''}`,
  });
}

/** The throughput over time, an inline SVG drawn on the server (no script, no library). */
export function throughputChart(send: TrackedSend): SafeHtml {
  const history = send.history;
  const points: Array<{ t: number; rate: number }> = [];
  for (let i = 1; i < history.length; i++) {
    const a = history[i - 1]!;
    const b = history[i]!;
    if (b.t > a.t) points.push({ t: b.t, rate: ((b.total - a.total) * 1000) / (b.t - a.t) });
  }
  const width = 1000;
  const height = 200;
  if (points.length < 2) {
    return html`<div class="chart" id="chart"><p class="muted">Throughput appears here while the send runs.</p></div>`;
  }
  const t0 = history[0]!.t;
  const span = Math.max(1, points.at(-1)!.t - t0);
  const peak = Math.max(1, ...points.map((p) => p.rate));
  const coordinates = points
    .map(
      (p) =>
        `${(((p.t - t0) / span) * (width - 10) + 5).toFixed(1)},${(height - 20 - (p.rate / peak) * (height - 40)).toFixed(1)}`,
    )
    .join(' ');
  const label = `Throughput over ${formatDuration(span)}: peak ${formatRate(peak)}, ${points.length} points`;
  return html`<div class="chart" id="chart"><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${label}">
<title>${label}</title>
<line x1="5" y1="${height - 20}" x2="${width - 5}" y2="${height - 20}" stroke="#6b7280" stroke-width="1"></line>
<polyline fill="none" stroke="#0b57d0" stroke-width="2" points="${coordinates}"></polyline>
<text x="8" y="14" font-size="12" fill="#1b1f24">${formatRate(peak)}</text>
<text x="8" y="${height - 4}" font-size="12" fill="#1b1f24">0</text>
<text x="${width - 8}" y="${height - 4}" font-size="12" fill="#1b1f24" text-anchor="end">${formatDuration(span)}</text>
</svg></div>`;
}

/** The part of a send's page the live updates replace. */
export function liveSection(send: TrackedSend, directory: SendDirectory): SafeHtml {
  const status = send.status;
  const counts = status?.counts;
  const rate = directory.rate(send);
  const errors = Object.entries(counts?.errors ?? {}).sort((a, b) => b[1] - a[1]);
  const providers = Object.entries(counts?.providers ?? {});
  const elapsed =
    status?.startedAt === undefined
      ? undefined
      : (status.finishedAt === undefined ? Date.now() : Date.parse(status.finishedAt)) -
        Date.parse(status.startedAt);
  return html`<div id="live" data-state="${status?.state ?? 'queued'}">
<p>${stateBadge(status)} ${progress(status, 'progress')} ${isTerminal(status) ? html`<span>${averageRate(status!)}</span>` : html`<span>${formatRate(rate.total)}</span>`}
${elapsed === undefined ? '' : html` · <span>${formatDuration(elapsed)}</span>`}</p>
${status?.error === undefined ? '' : html`<p class="error">${status.error.code}: ${status.error.message}</p>`}
<div class="cards">
<div class="stat"><span>accepted</span><b id="count-accepted">${formatCount(status?.accepted ?? 0)}</b></div>
<div class="stat"><span>sent</span><b id="count-sent">${formatCount(counts?.sent ?? 0)}</b></div>
<div class="stat"><span>validated (dry run)</span><b id="count-validated">${formatCount(counts?.validated ?? 0)}</b></div>
<div class="stat"><span>dead tokens (invalid-token)</span><b id="count-invalid">${formatCount(counts?.invalidToken ?? 0)}</b><span>handed to the app's dead-token sink, when it has one</span></div>
<div class="stat"><span>failed</span><b id="count-failed">${formatCount(counts?.failed ?? 0)}</b></div>
<div class="stat"><span>retries</span><b id="count-retries">${formatCount(counts?.retries ?? 0)}</b><span>${formatCount(counts?.maybeDelivered ?? 0)} possibly delivered</span></div>
</div>
<h2 id="chart-h">Throughput</h2>
${throughputChart(send)}
<h2 id="errors-h">Failures by error code</h2>
${
  errors.length === 0
    ? html`<p class="muted">None.</p>`
    : html`<table aria-labelledby="errors-h"><thead><tr><th scope="col">Code</th><th scope="col" class="num">Devices</th></tr></thead><tbody>${errors.map(
        ([code, n]) => html`<tr><td><code>${code}</code></td><td class="num">${formatCount(n)}</td></tr>`,
      )}</tbody></table>`
}
<h2 id="providers-h">By provider</h2>
${
  providers.length === 0
    ? html`<p class="muted">No outcome yet.</p>`
    : html`<table aria-labelledby="providers-h"><thead><tr><th scope="col">Provider</th><th scope="col" class="num">Sent</th><th scope="col" class="num">Validated</th><th scope="col" class="num">Invalid token</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Rate</th></tr></thead><tbody>${providers.map(
        ([name, c]) =>
          html`<tr><td>${name}</td><td class="num">${formatCount(c.sent)}</td><td class="num">${formatCount(c.validated)}</td><td class="num">${formatCount(c.invalidToken)}</td><td class="num">${formatCount(c.failed)}</td><td class="num">${formatRate(rate.providers[name] ?? 0)}</td></tr>`,
      )}</tbody></table>`
}
</div>`;
}

/** The abort button, while the send runs and the session may send. */
export function actionsSection(send: TrackedSend, session: UiSession): SafeHtml {
  const canAbort = !isTerminal(send.status) && session.identity.permissions.has('send');
  return html`<div id="actions">${
    canAbort
      ? html`<form method="post" action="${sendHref(send.id)}/abort" data-confirm="Abort this send? Devices not sent yet get 'aborted'.">
<input type="hidden" name="csrf" value="${session.csrf}">
<button type="submit" class="danger">Abort send</button>
</form>`
      : ''
  }</div>`;
}

export interface FeedbackSearch {
  status?: FeedbackStatus;
  token?: string;
  records: FeedbackRecord[];
  scanned: number;
  /** More matched than are shown. */
  more: boolean;
}

/** The token of a device as text (a Web Push subscription by its endpoint). */
export function tokenText(token: unknown): string {
  if (typeof token === 'string') return token;
  if (token !== null && typeof token === 'object') {
    const endpoint = (token as { endpoint?: unknown }).endpoint;
    if (typeof endpoint === 'string') return endpoint;
  }
  return '';
}

function feedbackSection(send: TrackedSend, search: FeedbackSearch): SafeHtml {
  return html`<h2 id="feedback-h">Feedback</h2>
<form class="filters" method="get" action="${sendHref(send.id)}#feedback-h" role="search" aria-label="Search the feedback">
<label for="fb-token">Token contains<input id="fb-token" name="token" value="${search.token ?? ''}" spellcheck="false" maxlength="4096"></label>
<label for="fb-status">Status<select id="fb-status" name="status">
<option value="">any</option>
${FEEDBACK_STATUSES.map((s) => html`<option value="${s}"${search.status === s ? raw(' selected') : ''}>${s}</option>`)}
</select></label>
<button type="submit">Search</button>
</form>
<p class="muted">${formatCount(search.records.length)} shown${search.more ? ' (more match: narrow the search)' : ''}, ${formatCount(search.scanned)} recorded feedback read.</p>
<table aria-labelledby="feedback-h" id="feedback">
<thead><tr><th scope="col">Token</th><th scope="col">Platform</th><th scope="col">Status</th><th scope="col">Provider</th><th scope="col">Error</th><th scope="col" class="num">Attempts</th></tr></thead>
<tbody>
${search.records.map((record) => {
  const token = tokenText(record.device.token);
  return html`<tr><td><code title="masked">${maskToken(token)}</code></td><td>${record.device.platform}</td><td>${record.status}${record.maybeDelivered ? ' (maybe delivered)' : ''}</td><td>${record.provider ?? ''}</td><td>${record.error === undefined ? '' : html`<code>${record.error.code}</code>${record.error.reason === undefined ? '' : html` ${record.error.reason}`} <span class="muted">${truncate(record.error.message, 160)}</span>`}</td><td class="num">${record.attempts}</td></tr>`;
})}
</tbody>
</table>`;
}

/** A send's page. */
export function sendPage(options: {
  session: UiSession;
  send: TrackedSend;
  directory: SendDirectory;
  search: FeedbackSearch;
  inbox: boolean;
}): string {
  const { send } = options;
  return page({
    title: `Send ${send.id.slice(0, 8)}`,
    assets: ASSETS,
    nav: nav('none', options.inbox),
    headerExtra: headerExtra(options.session),
    live: `${sendHref(send.id)}/events`,
    body: html`<p><a href="${UI_PREFIX}">← All sends</a></p>
<h1>Send <code>${send.id}</code></h1>
<p class="muted">app ${send.app}${send.title === undefined ? '' : html` · “${truncate(send.title, 200)}”`} · created ${send.createdAt}</p>
${actionsSection(send, options.session)}
${liveSection(send, options.directory)}
${feedbackSection(send, options.search)}`,
  });
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

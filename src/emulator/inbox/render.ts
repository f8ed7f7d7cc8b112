/**
 * The inbox page: each notification drawn as its device would show it — an iOS lock-screen
 * card, an Android (or Huawei) notification, a browser notification — with the raw request one
 * click away (`<details>`, no script needed), and filters that are a plain GET form.
 * Everything in a notification was written by whoever sent it: the `html` tag escapes it all.
 */
import { html, page, raw, type SafeHtml } from '../../server/ui/html.js';
import type { InboxFilter } from './inbox.js';
import { type InboxItem, type InboxProvider, maskToken } from './items.js';

const PROVIDERS: ReadonlyArray<[InboxProvider, string]> = [
  ['apns', 'APNs (iOS)'],
  ['fcm', 'FCM (Android)'],
  ['webpush', 'Web Push'],
  ['hms', 'Huawei Push Kit'],
];

const time = (ms: number) => new Date(ms).toISOString().slice(11, 23);

function imagePlaceholder(label: string, url: string): SafeHtml {
  return html`<div class="image-ph" role="img" aria-label="${label}: ${url}">${label} <span class="mono">${url}</span> <span class="muted">(not loaded)</span></div>`;
}

function iosCard(item: InboxItem): SafeHtml {
  const v = item.view;
  return html`<div class="screen ios"><div class="ios-card">
<div class="row"><span>${v.appName}</span><span>now${v.badge === undefined ? '' : html` <span class="badge" aria-label="badge ${v.badge}">${v.badge}</span>`}</span></div>
${v.title === undefined ? '' : html`<div class="title">${v.title}</div>`}
${v.subtitle === undefined ? '' : html`<div class="subtitle">${v.subtitle}</div>`}
${v.body === undefined ? '' : html`<div class="body">${v.body}</div>`}
${v.thread === undefined ? '' : html`<div class="row"><span>thread ${v.thread}</span></div>`}
</div></div>`;
}

function androidCard(item: InboxItem): SafeHtml {
  const v = item.view;
  return html`<div class="screen android"><div class="android-card">
<div class="row">${item.look === 'huawei' ? 'Huawei · ' : ''}${v.appName} · now${v.channel === undefined ? '' : html` · channel ${v.channel}`}</div>
${v.title === undefined ? '' : html`<div class="title">${v.title}</div>`}
${v.body === undefined ? '' : html`<div class="body">${v.body}</div>`}
${v.image === undefined ? '' : imagePlaceholder('image', v.image)}
${v.icon === undefined ? '' : html`<div class="row">icon ${v.icon}</div>`}
${v.badge === undefined ? '' : html`<div class="row">badge ${v.badge}</div>`}
</div></div>`;
}

function webCard(item: InboxItem): SafeHtml {
  const v = item.view;
  return html`<div class="screen web"><div class="web-card">
<div class="row">${v.appName}</div>
${v.title === undefined ? '' : html`<div class="title">${v.title}</div>`}
${v.body === undefined ? '' : html`<div class="body">${v.body}</div>`}
${v.icon === undefined ? '' : imagePlaceholder('icon', v.icon)}
${v.image === undefined ? '' : imagePlaceholder('image', v.image)}
${v.actions === undefined || v.actions.length === 0 ? '' : html`<div class="actions">${v.actions.map((a) => html`<span>${a}</span>`)}</div>`}
</div></div>`;
}

/** One notification (an `<li>`; the live updates prepend these). */
export function itemCard(item: InboxItem): SafeHtml {
  const card = item.look === 'ios' ? iosCard(item) : item.look === 'web' ? webCard(item) : androidCard(item);
  const tokens =
    item.tokens.length === 0 ? (item.target ?? '') : item.tokens.slice(0, 3).map(maskToken).join(', ');
  const more = item.tokens.length > 3 ? ` and ${item.tokens.length - 3} more` : '';
  return html`<li class="item" id="n-${item.seq}" data-provider="${item.provider}">
<div class="meta"><span>#${item.seq}</span><span>${item.provider}</span><span>${item.app}</span><span class="mono" title="masked">${tokens}${more}</span><span>${time(item.receivedAt)}</span></div>
${card}
${item.view.hidden === undefined ? '' : html`<p class="muted">${item.view.hidden}</p>`}
<details class="raw"><summary>Raw request</summary>
<pre>${item.raw.request}
${Object.entries(item.raw.headers).map(([name, value]) => `${name}: ${value}\n`)}
${item.raw.note === undefined ? '' : `// ${item.raw.note}\n`}${item.raw.body}</pre>
</details>
</li>`;
}

/** The query string of a filter (for the event stream's address). */
export function filterQuery(filter: InboxFilter): string {
  const params = new URLSearchParams();
  if (filter.token !== undefined) params.set('token', filter.token);
  if (filter.app !== undefined) params.set('app', filter.app);
  if (filter.provider !== undefined) params.set('provider', filter.provider);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export interface InboxPageOptions {
  prefix: string;
  items: readonly InboxItem[];
  filter: InboxFilter;
  apps: ReadonlyArray<[string, InboxProvider]>;
  kept: number;
  max: number;
  /** Links back to the dashboard, when the inbox is served by `pushline serve`. */
  nav?: ReadonlyArray<{ label: string; href: string; current?: boolean }>;
}

export function inboxPage(options: InboxPageOptions): string {
  const { filter, prefix } = options;
  return page({
    title: 'Emulator inbox',
    assets: `${prefix}/assets`,
    ...(options.nav === undefined ? {} : { nav: options.nav }),
    headerExtra: html`<span id="live-status" class="live-status" role="status">static</span>`,
    live: `${prefix}/events${filterQuery(filter)}`,
    body: html`<h1>Emulator inbox</h1>
<p class="muted">What the emulators accepted, as the devices would show it (the ${options.max} most recent are kept; ${options.kept} now). Tokens are masked; images are named, not loaded.</p>
<form class="filters" method="get" action="${prefix}" role="search" aria-label="Filter notifications">
<label for="f-token">Token contains<input id="f-token" name="token" value="${filter.token ?? ''}" spellcheck="false" maxlength="4096"></label>
<label for="f-app">App<select id="f-app" name="app"><option value="">any</option>
${options.apps.map(([app]) => html`<option value="${app}"${filter.app === app ? raw(' selected') : ''}>${app}</option>`)}
</select></label>
<label for="f-provider">Provider<select id="f-provider" name="provider"><option value="">any</option>
${PROVIDERS.map(([value, label]) => html`<option value="${value}"${filter.provider === value ? raw(' selected') : ''}>${label}</option>`)}
</select></label>
<button type="submit">Filter</button>
</form>
<ul class="inbox" id="inbox-list" aria-label="Notifications, newest first">
${options.items.map((item) => itemCard(item))}
</ul>
${options.items.length === 0 ? html`<p class="muted" id="inbox-empty">Nothing yet: send something to the emulators; it appears here as it arrives.</p>` : ''}`,
  });
}

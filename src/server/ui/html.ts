/**
 * HTML made safe by construction: the `html` tag escapes every interpolated value unless it is
 * already {@link SafeHtml} (another `html` fragment), so a device row, a notification title or a
 * Web Push body — all written by strangers — can only ever land in a page as text. No template
 * engine, no framework: the pages are small functions returning fragments.
 *
 * Dependency-free on purpose: the emulator's inbox (`src/emulator/inbox/`) renders with it too.
 */

/** A fragment of HTML that is safe to write as it is (built by {@link html} or {@link raw}). */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text as HTML text or attribute content (quotes escaped too). */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (char) => ESCAPES[char]!);
}

/** A value as HTML: fragments as they are, lists joined, null/undefined/false as nothing, anything else escaped. */
function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

/** The tag: `html\`<p>${untrusted}</p>\`` escapes `untrusted`. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Trusted markup written by this code (never a value from outside). */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** A whole number with thousands separators (`12,345`). */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A rate per second, rounded sensibly. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0/s';
  return `${perSecond >= 100 ? formatCount(perSecond) : perSecond.toFixed(1)}/s`;
}

/** Milliseconds as `1 h 2 min`, `3 min 4 s`, `5.6 s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Headers every page gets: no inline script or style may run (a stray unescaped value still
 * could not execute), nothing is loaded from another origin (no CDN; nor an image URL written
 * by a stranger, which would tell its owner who looked), no framing, no caching of pages that
 * show a send or a notification.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface PageOptions {
  title: string;
  /** Where the stylesheet and script are served (`/ui/assets` or `/inbox/assets`). */
  assets: string;
  /** Top navigation: label and href; the current page marked with `current`. */
  nav?: ReadonlyArray<{ label: string; href: string; current?: boolean }>;
  /** Extra header content (a logout form). */
  headerExtra?: SafeHtml;
  /** The SSE address the page's script follows for live updates (none: a static page). */
  live?: string;
  body: SafeHtml;
}

/** A whole page: the one layout of the dashboard and the inbox. */
export function page(options: PageOptions): string {
  const nav = options.nav ?? [];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · pushline</title>
<link rel="stylesheet" href="${options.assets}/ui.css">
<script src="${options.assets}/ui.js" defer></script>
</head>
<body${options.live === undefined ? '' : html` data-live="${options.live}"`}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<span class="brand">pushline</span>
${
  nav.length === 0
    ? ''
    : html`<nav aria-label="Main"><ul>${nav.map(
        (item) =>
          html`<li><a href="${item.href}"${item.current ? raw(' aria-current="page"') : ''}>${item.label}</a></li>`,
      )}</ul></nav>`
}
${options.headerExtra ?? ''}
</header>
<main id="main">
${options.body}
</main>
</body>
</html>
`.text;
}

/**
 * The dashboard's and the inbox's only static files, shipped as strings in the compiled
 * package (nothing to copy into `dist`, no bundler, nothing from a CDN): one stylesheet and one
 * small script that applies the server's live updates (server-sent events). Every page works
 * without the script; it only keeps them current.
 */

/** The stylesheet: plain CSS, system fonts, colours with WCAG AA contrast. */
export const UI_CSS = `
:root { --fg: #1b1f24; --muted: #4b5563; --bg: #f6f7f9; --card: #fff; --line: #d6dae0; --accent: #0b57d0;
  --ok: #146c2e; --bad: #b3261e; --warn: #8a4b00; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.45; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible {
  outline: 3px solid #f59e0b; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 6px 10px; z-index: 10; }
.top { display: flex; gap: 20px; align-items: center; padding: 10px 20px; background: #111827; color: #fff; flex-wrap: wrap; }
.top a { color: #dbeafe; }
.top nav ul { display: flex; gap: 16px; list-style: none; margin: 0; padding: 0; }
.top a[aria-current="page"] { color: #fff; font-weight: 600; }
.brand { font-weight: 700; letter-spacing: .02em; }
.top form { margin-left: auto; }
main { padding: 20px; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: 0 0 12px; }
h2 { font-size: 1.15rem; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
progress { width: 160px; height: 14px; vertical-align: middle; accent-color: var(--accent); }
.state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: .85em; font-weight: 600; background: #e5e7eb; color: #1f2937; }
.state-running { background: #dbeafe; color: #1e3a8a; }
.state-done { background: #dcfce7; color: #14532d; }
.state-aborted, .state-failed { background: #fee2e2; color: #7f1d1d; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px; margin: 12px 0; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.stat b { display: block; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
.stat span { color: var(--muted); font-size: .9em; }
.muted { color: var(--muted); }
form.inline { display: inline; }
.filters { display: flex; gap: 12px; flex-wrap: wrap; align-items: flex-end; margin: 8px 0 12px; }
.filters label { display: flex; flex-direction: column; font-size: .9em; gap: 2px; }
input, select, button { font: inherit; padding: 5px 8px; border: 1px solid #6b7280; border-radius: 6px; background: #fff; color: var(--fg); }
button { cursor: pointer; background: #e5e7eb; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.danger { background: var(--bad); color: #fff; border-color: var(--bad); }
.login { max-width: 420px; margin: 60px auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 24px; }
.login label { display: block; margin: 12px 0 4px; }
.login input { width: 100%; }
.error { color: var(--bad); font-weight: 600; }
.chart { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
.chart svg { width: 100%; height: auto; display: block; }
.live-status, .muted-light { font-size: .85em; color: #d1d5db; }
/* The inbox: notifications as devices show them. */
.inbox { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 16px; list-style: none; padding: 0; }
.item { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px; }
.item .meta { font-size: .85em; color: var(--muted); margin-bottom: 8px; display: flex; gap: 8px; flex-wrap: wrap; }
.screen { border-radius: 12px; padding: 14px; }
.screen.ios { background: linear-gradient(160deg, #1e3a5f, #4b2a63); }
.ios-card { background: rgba(245, 245, 247, .94); color: #111; border-radius: 14px; padding: 10px 12px; }
.ios-card .row { display: flex; justify-content: space-between; font-size: .8em; color: #374151; text-transform: uppercase; }
.ios-card .title { font-weight: 600; }
.ios-card .badge { background: #d70015; color: #fff; border-radius: 10px; padding: 0 7px; font-size: .8em; }
.screen.android { background: #e8eaed; }
.android-card { background: #fff; color: #1f1f1f; border-radius: 16px; padding: 10px 14px; box-shadow: 0 1px 3px rgba(0,0,0,.2); }
.android-card .row { font-size: .8em; color: #444746; }
.android-card .title { font-weight: 600; }
.image-ph { margin-top: 8px; border: 1px dashed #6b7280; border-radius: 8px; padding: 10px; font-size: .8em; color: #374151; background: #f3f4f6; overflow-wrap: anywhere; }
.screen.web { background: #dfe3e8; }
.web-card { background: #fff; color: #202124; border: 1px solid #bdc1c6; border-radius: 8px; padding: 10px 12px; }
.web-card .row { font-size: .8em; color: #5f6368; }
.web-card .title { font-weight: 600; }
.web-card .actions { display: flex; gap: 6px; margin-top: 8px; }
.web-card .actions span { border: 1px solid #bdc1c6; border-radius: 4px; padding: 2px 8px; font-size: .85em; }
.body { white-space: pre-wrap; overflow-wrap: anywhere; }
details.raw { margin-top: 8px; }
details.raw pre { background: #111827; color: #e5e7eb; padding: 8px; border-radius: 6px; overflow: auto; max-height: 320px; font-size: .8em; white-space: pre-wrap; overflow-wrap: anywhere; }
`;

/**
 * Live updates: the page names its event stream in `<body data-live>`; each `patch` event is a
 * list of `{op, target, html, parent?, max?}` rendered (and escaped) by the server:
 * `replace` swaps the element with id `target` (or, when it is not on the page yet, adds it at
 * the top of `parent`), `inner` replaces its content, `prepend` adds at its top (keeping at
 * most `max` children). Forms with `data-confirm` ask first. No polling: the server pushes.
 */
export const UI_JS = `'use strict';
(function () {
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) event.preventDefault();
  });
  var url = document.body.getAttribute('data-live');
  if (!url || !window.EventSource) return;
  var badge = document.getElementById('live-status');
  function say(text) { if (badge) badge.textContent = text; }
  function apply(patch) {
    var el = document.getElementById(patch.target);
    if (patch.op === 'replace') {
      if (el) { el.outerHTML = patch.html; return; }
      var parent = patch.parent && document.getElementById(patch.parent);
      if (parent) parent.insertAdjacentHTML('afterbegin', patch.html);
      return;
    }
    if (!el) return;
    if (patch.op === 'inner') el.innerHTML = patch.html;
    else if (patch.op === 'prepend') {
      el.insertAdjacentHTML('afterbegin', patch.html);
      var max = patch.max || 0;
      while (max > 0 && el.children.length > max) el.removeChild(el.lastElementChild);
    }
  }
  var source = new EventSource(url);
  source.addEventListener('open', function () { say('live'); });
  source.addEventListener('error', function () { say(source.readyState === 2 ? 'disconnected' : 'reconnecting…'); });
  source.addEventListener('patch', function (event) {
    var patches = JSON.parse(event.data);
    for (var i = 0; i < patches.length; i++) apply(patches[i]);
    document.body.setAttribute('data-updates', String(Number(document.body.getAttribute('data-updates') || 0) + 1));
  });
})();
`;

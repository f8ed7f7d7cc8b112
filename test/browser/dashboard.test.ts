/**
 * The dashboard and the emulator inbox in a real browser (Debian's Chromium, headless, driven
 * by playwright-core), against a real `pushline serve --emulator` process:
 *
 * - log in through the form (the key goes nowhere but that one POST);
 * - a send started through the API appears on the already-open list page by itself (server-sent
 *   events), its progress advancing, and its page's final counts equal the API's status;
 * - the inbox shows a sent notification's title and body as it arrives, and a `<script>` in a
 *   title is shown as text, never run;
 * - axe-core finds no serious or critical accessibility violation on any page;
 * - screenshots go to `test-artifacts/` (gitignored); with `PUSHLINE_UPDATE_SCREENSHOTS=1`
 *   the README's two are copied to `docs/screenshots/`.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import axe from 'axe-core';
import type { Page } from 'playwright-core';
import { ROOT } from '../cli/support.js';
import { call, startServe } from '../server/process-support.js';
import { artifactsDir, chromiumPath, launchChromium } from './chromium.js';

const executable = chromiumPath();
/** Devices in the watched send, and the emulators' delay per request: a send of a few seconds. */
const DEVICES = 6000;
const LATENCY_MS = 150;
/**
 * The page's event stream is open: its status line reads `live`. Waited for through a locator, not
 * `waitForFunction`: a predicate that is not true at once is polled by code Playwright compiles
 * in the page with eval, which the pages' Content-Security-Policy (no 'unsafe-eval') refuses.
 */
const live = (page: Page) =>
  page.locator('#live-status', { hasText: /^live$/ }).waitFor({ state: 'attached' });

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/** Runs axe-core in the page (evaluated through the DevTools protocol: the page's CSP stays on). */
async function accessibility(page: Page, name: string, found: Record<string, string[]>): Promise<void> {
  await page.evaluate(axe.source);
  const violations = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`,
  )) as AxeViolation[];
  found[name] = violations.map((v) => `${v.impact}: ${v.id}`);
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    serious.map(
      (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`,
    ),
    [],
    `axe on ${name}`,
  );
}

test('the dashboard and the inbox in Chromium', {
  skip: executable === undefined,
  timeout: 120_000,
}, async (t) => {
  const started = Date.now();
  const server = await startServe(['--emulator', '--emulator-latency', String(LATENCY_MS)], {
    PUSHLINE_SERVER_HOST: '127.0.0.1',
  });
  t.after(() => server.kill());
  // The banner (with the key made for this run) follows the 'listening' log line.
  for (let i = 0; i < 100 && !/Stop with Ctrl-C/.test(server.stderr()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const key = /API key\s+(pl_\S+)/.exec(server.stderr())?.[1];
  assert.ok(key, `the banner names the key:\n${server.stderr()}`);
  assert.match(server.stderr(), /dashboard http:\/\/127\.0\.0\.1:\d+\/ui/);
  const url = server.url;

  const browser = await launchChromium(executable!);
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const shots = artifactsDir();
  const axeFound: Record<string, string[]> = {};

  // Log in: /ui sends the browser to the form, which brings it back.
  await page.goto(`${url}/ui`);
  assert.match(page.url(), /\/ui\/login\?next=%2Fui$/);
  await accessibility(page, 'login', axeFound);
  await page.fill('#key', key);
  await page.click('button[type=submit]');
  await page.waitForURL(`${url}/ui`);
  const cookies = await context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0]!.httpOnly, true);
  assert.equal(cookies[0]!.sameSite, 'Strict');
  assert.ok(!cookies[0]!.value.includes(key), 'the cookie is a session id, not the key');
  assert.equal(await page.evaluate('window.localStorage.length'), 0);
  await live(page);

  // Keyboard: the first Tab reaches the skip link.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement.className'), 'skip');
  await page.evaluate('document.activeElement.blur()');

  // A dry run first (done at once: a finished row beside the running one).
  const dry = await call(url, key, 'POST', '/v1/sends', {
    notification: { title: 'Weekly digest' },
    dryRun: true,
    devices: [{ platform: 'ios', token: 'c1'.repeat(32) }],
  });
  assert.equal(dry.status, 202);

  // A send through the API, while the list is open: it shows up and advances by itself.
  const devices = Array.from({ length: DEVICES }, (_, i) => {
    const platform = (['ios', 'android', 'huawei'] as const)[i % 3]!;
    const token =
      platform === 'ios'
        ? i.toString(16).padStart(64, '0')
        : `${platform}-token-${String(i).padStart(24, '0')}`;
    return { platform, token };
  });
  const created = await call(url, key, 'POST', '/v1/sends', {
    notification: { title: 'Flash sale', body: 'Everything half price until midnight' },
    devices,
  });
  assert.equal(created.status, 202, JSON.stringify(created.json));
  const id = String(created.json['id']);
  const row = `#send-${id}`;
  await page.waitForSelector(`${row} progress`, { timeout: 10_000 });
  const seen: number[] = [];
  let screenshotTaken = false;
  for (;;) {
    const state = await page.getAttribute(row, 'data-state');
    const done = Number(await page.getAttribute(`${row} progress`, 'data-done'));
    if (seen.at(-1) !== done) seen.push(done);
    if (!screenshotTaken && done > DEVICES / 4) {
      await page.screenshot({ path: join(shots, 'dashboard-sends.png'), fullPage: true });
      screenshotTaken = true;
    }
    if (state === 'done' || state === 'aborted' || state === 'failed') break;
    await page.waitForTimeout(100);
  }
  assert.ok(
    seen.filter((value) => value > 0 && value < DEVICES).length >= 2,
    `progress seen advancing, not jumping to the end: ${seen.join(' → ')}`,
  );
  for (let i = 1; i < seen.length; i++)
    assert.ok(seen[i]! >= seen[i - 1]!, `never backwards: ${seen.join(' → ')}`);
  assert.equal(seen.at(-1), DEVICES);
  assert.equal(await page.getAttribute(row, 'data-state'), 'done');
  assert.ok(Number(await page.getAttribute('body', 'data-updates')) > 2, 'updated by server-sent events');
  await accessibility(page, 'sends', axeFound);

  // Without JavaScript the list is the same page, only static.
  const noScript = await browser.newContext({ javaScriptEnabled: false });
  t.after(() => noScript.close());
  await noScript.addCookies(await context.cookies());
  const staticPage = await noScript.newPage();
  await staticPage.goto(`${url}/ui`);
  assert.equal(await staticPage.getAttribute(`${row} progress`, 'data-done'), String(DEVICES));
  assert.equal(await staticPage.textContent('#live-status'), 'static');
  await staticPage.close();

  // The send's page: its final counts are the API's.
  const api = await call(url, key, 'GET', `/v1/sends/${id}`);
  const counts = api.json['counts'] as Record<string, number>;
  await page.click(`${row} a`);
  await page.waitForURL(`${url}/ui/sends/${id}`);
  const number = async (selector: string) => Number((await page.textContent(selector))!.replace(/,/g, ''));
  assert.equal(await number('#count-accepted'), api.json['accepted']);
  assert.equal(await number('#count-sent'), counts['sent']);
  assert.equal(await number('#count-invalid'), counts['invalidToken']);
  assert.equal(await number('#count-failed'), counts['failed']);
  assert.equal(await number('#count-retries'), counts['retries']);
  assert.equal(counts['sent'], DEVICES);
  assert.ok(await page.isVisible('#chart svg polyline'), 'the throughput chart is drawn');
  assert.equal(await page.locator('#feedback tbody tr').count(), 100, 'the first 100 feedback lines');
  await page.fill('#fb-token', devices[4]!.token);
  await page.press('#fb-token', 'Enter');
  await page.waitForURL(/token=/);
  assert.equal(await page.locator('#feedback tbody tr').count(), 1, 'found by its token');
  // (The search box holds what was typed; the table shows the token masked.)
  assert.ok(!(await page.locator('#feedback').innerHTML()).includes(devices[4]!.token), 'shown masked');
  await accessibility(page, 'send', axeFound);
  await page.screenshot({ path: join(shots, 'dashboard-send.png'), fullPage: true });

  // Abort from a send's page (the button asks first).
  const long = await call(url, key, 'POST', '/v1/sends', { notification: { title: 'Too early' }, devices });
  assert.equal(long.status, 202);
  const longId = String(long.json['id']);
  await page.goto(`${url}/ui/sends/${longId}`);
  page.once('dialog', (dialog) => void dialog.accept());
  await Promise.all([page.waitForURL(`${url}/ui/sends/${longId}`), page.click('#actions button')]);
  await page.waitForSelector('#live[data-state="aborted"]', { timeout: 10_000 });
  // No abort button once it has ended.
  await page.locator('#actions button').waitFor({ state: 'detached', timeout: 10_000 });
  const aborted = await call(url, key, 'GET', `/v1/sends/${longId}`);
  assert.equal(aborted.json['state'], 'aborted');

  // The inbox, open before the notification arrives; a <script> in a title stays text.
  await page.goto(`${url}/inbox`);
  await live(page);
  const inboxSend = await call(url, key, 'POST', '/v1/sends', {
    notification: {
      title: 'Your order shipped <script>window.pwned = 1</script>',
      subtitle: 'Order 1042',
      body: 'It arrives Thursday. Track it in the app.',
      badge: 2,
      threadId: 'orders',
      image: 'https://cdn.example.com/parcel.png',
    },
    devices: [
      { platform: 'ios', token: 'f0'.repeat(32) },
      { platform: 'android', token: 'android-inbox-token-'.padEnd(40, '1') },
      { platform: 'huawei', token: 'huawei-inbox-token-'.padEnd(40, '2') },
    ],
  });
  assert.equal(inboxSend.status, 202);
  const card = page.locator('.ios-card', { hasText: 'Your order shipped' }).first();
  await card.waitFor({ timeout: 10_000 });
  assert.equal(
    await card.locator('.title').textContent(),
    'Your order shipped <script>window.pwned = 1</script>',
  );
  assert.equal(await card.locator('.body').textContent(), 'It arrives Thursday. Track it in the app.');
  await page.locator('.android-card', { hasText: 'Your order shipped' }).first().waitFor();
  assert.equal(await page.evaluate('typeof window.pwned'), 'undefined');
  // The raw request, one click away.
  const item = page.locator('li.item', { has: card });
  await item.locator('summary').click();
  assert.match((await item.locator('pre').textContent())!, /apns-push-type: alert/);
  await accessibility(page, 'inbox', axeFound);
  await page.screenshot({ path: join(shots, 'inbox.png'), fullPage: false });

  assert.deepEqual(errors, [], 'no script error on any page');
  if (process.env.PUSHLINE_UPDATE_SCREENSHOTS === '1') {
    const docs = join(ROOT, 'docs', 'screenshots');
    mkdirSync(docs, { recursive: true });
    copyFileSync(join(shots, 'dashboard-send.png'), join(docs, 'dashboard-send.png'));
    copyFileSync(join(shots, 'dashboard-sends.png'), join(docs, 'dashboard-sends.png'));
    copyFileSync(join(shots, 'inbox.png'), join(docs, 'inbox.png'));
  }
  t.diagnostic(`axe (all impacts): ${JSON.stringify(axeFound)}`);
  t.diagnostic(`progress seen: ${seen.join(' → ')}`);
  t.diagnostic(`took ${Date.now() - started} ms`);
});

/**
 * Progress follows the usual terminal conventions: a bar redrawn in place (`\r`, erase-line)
 * only when stderr is a terminal, TERM is not `dumb` and CI is not set; plain lines otherwise.
 * The command runs in this process through `run()`, whose `CliIO` says stderr is a terminal
 * (a subprocess's piped stderr never is).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../src/cli/index.js';
import { redrawsInPlace } from '../../src/cli/progress.js';
import { iosToken } from './support.js';

test('redrawsInPlace: a terminal, not TERM=dumb, not CI', () => {
  assert.equal(redrawsInPlace(true, { TERM: 'xterm-256color' }), true);
  assert.equal(redrawsInPlace(true, {}), true);
  assert.equal(redrawsInPlace(false, { TERM: 'xterm' }), false);
  assert.equal(redrawsInPlace(true, { TERM: 'dumb' }), false);
  assert.equal(redrawsInPlace(true, { CI: 'true' }), false);
  assert.equal(redrawsInPlace(true, { CI: '1' }), false);
  assert.equal(redrawsInPlace(true, { CI: 'false' }), true);
  assert.equal(redrawsInPlace(true, { CI: '' }), true);
});

/**
 * `pushline send --emulator --devices -` with stderr "a terminal" and `env`: one device is
 * sent, stdin is held open until `shown` matches stderr (progress was drawn), then ended.
 */
async function sendOnTerminal(
  env: NodeJS.ProcessEnv,
  shown: (stderr: string) => boolean,
): Promise<{ code: number; stderr: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = '';
  stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  stdout.resume();
  const running = run(
    ['send', '--emulator', '--devices', '-', '--title', 'Hi', '--progress-interval', '0.1'],
    { stdin, stdout, stderr, env, stderrIsTTY: true, signal: new AbortController().signal },
  );
  stdin.write(`${JSON.stringify({ id: 1, platform: 'ios', token: iosToken() })}\n`);
  try {
    for (let i = 0; i < 400 && !shown(err); i++) await sleep(50);
  } finally {
    stdin.end();
  }
  const code = await running;
  return { code, stderr: err };
}

/** The cursor controls a redrawn bar uses: carriage return, ESC (erase-line is ESC [ K). */
const REDRAW = '\r\x1b[K';
const hasControl = (text: string) => text.includes('\r') || text.includes('\x1b');

describe('progress on a terminal', { concurrency: 1 }, () => {
  test('a terminal: the line is redrawn in place and cleared at the end', async () => {
    const { code, stderr } = await sendOnTerminal({ TERM: 'xterm' }, (text) =>
      text.includes(`${REDRAW}1 devices`),
    );
    assert.equal(code, 0, stderr);
    assert.ok(stderr.includes(`${REDRAW}1 devices · `), JSON.stringify(stderr));
    assert.ok(stderr.endsWith(REDRAW), 'the line was not cleared at the end');
  });

  for (const [name, env] of [
    ['TERM=dumb', { TERM: 'dumb' }],
    ['CI=true', { TERM: 'xterm', CI: 'true' }],
  ] as const) {
    test(`${name}: plain progress lines, no cursor control`, async () => {
      const { code, stderr } = await sendOnTerminal(env, (text) =>
        /^pushline: 1 devices .*sent 1\b/m.test(text),
      );
      assert.equal(code, 0, stderr);
      assert.match(stderr, /^pushline: 1 devices · .*sent 1 · dead 0 · failed 0$/m);
      assert.ok(!hasControl(stderr), `a cursor control was written: ${JSON.stringify(stderr)}`);
    });
  }
});

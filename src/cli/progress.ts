/**
 * Progress on stderr while a send runs: a bar redrawn in place on a terminal, plain lines
 * every few seconds otherwise (logs, CI). Written by hand rather than with cli-progress:
 * that library needs a known total (ours is often unknown, e.g. stdin, or known only once a
 * count query returns) and its non-TTY mode reprints the bar instead of writing log lines.
 * What is needed here is one line of text redrawn with `\r`, which is a few lines of code.
 */
import type { Summary } from '../engine/summary.js';
import { formatCount, formatDuration } from './format.js';

/**
 * Whether progress is a bar redrawn in place (`\r` and an erase-line control): only when
 * stderr is a terminal, the terminal understands cursor controls (`TERM` is not `dumb`: Emacs'
 * shell, some IDE consoles) and this is not a CI job (`CI` set, as every CI service does: its log
 * keeps each redraw, or shows the controls as text). Otherwise: a plain line every few seconds.
 * pushline prints no colour, so `NO_COLOR` holds by construction and `FORCE_COLOR` has nothing to force.
 */
export function redrawsInPlace(stderrIsTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  if (!stderrIsTTY) return false;
  if (env.TERM === 'dumb') return false;
  const ci = env.CI;
  return ci === undefined || ci === '' || ci === '0' || ci.toLowerCase() === 'false';
}

export interface ProgressOptions {
  stream: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Redraw in place (a terminal) or write plain lines. */
  tty: boolean;
  /** Between redraws on a terminal. Default 200 ms. */
  redrawMs?: number;
  /** Between plain lines. Default 5 s. */
  lineMs?: number;
  /** What to call the things counted. Default `devices`. */
  label?: string;
}

/** Reads a live summary on a timer and shows it. */
export class Progress {
  private total: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private readonly tty: boolean;

  constructor(
    private readonly read: () => Summary,
    private readonly options: ProgressOptions,
  ) {
    this.tty = options.tty;
  }

  /** The number of devices, once known (a count query, a line count). */
  setTotal(total: number | undefined): void {
    this.total = total;
  }

  start(): void {
    const every = this.tty ? (this.options.redrawMs ?? 200) : (this.options.lineMs ?? 5000);
    this.timer = setInterval(() => this.draw(), every);
    this.timer.unref();
  }

  /** Stops the timer and clears the bar (a final plain line is left in non-TTY mode). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty && this.drawn) this.options.stream.write('\r\x1b[K');
    this.drawn = false;
  }

  /** The status line for a summary (exported for tests through `line`). */
  line(summary: Summary, width = 200): string {
    const done = summary.total;
    const total = this.total;
    const rate = summary.durationMs > 0 ? (done * 1000) / summary.durationMs : 0;
    const parts: string[] = [];
    const label = this.options.label ?? 'devices';
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, done / total);
      const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
      if (this.tty) {
        const size = 24;
        const filled = Math.round(fraction * size);
        parts.push(`[${'█'.repeat(filled)}${'░'.repeat(size - filled)}] ${percent}`);
      } else parts.push(percent);
      parts.push(`${formatCount(done)}/${formatCount(total)} ${label}`);
    } else parts.push(`${formatCount(done)} ${label}`);
    parts.push(`${formatCount(Math.round(rate))}/s`);
    if (total !== undefined && rate > 0 && done < total) {
      parts.push(`ETA ${formatDuration(((total - done) / rate) * 1000)}`);
    }
    parts.push(`sent ${formatCount(summary.sent)}`);
    if (summary.validated > 0) parts.push(`validated ${formatCount(summary.validated)}`);
    parts.push(`dead ${formatCount(summary.invalidToken)}`);
    parts.push(`failed ${formatCount(summary.failed)}`);
    if (summary.retries > 0) parts.push(`retries ${formatCount(summary.retries)}`);
    const text = parts.join(' · ');
    return text.length > width ? text.slice(0, width - 1) : text;
  }

  private draw(): void {
    const summary = this.read();
    if (this.tty) {
      // A pseudo-terminal may report 0 columns: treat it as unknown.
      const columns = (this.options.stream as NodeJS.WriteStream).columns || 100;
      this.options.stream.write(`\r\x1b[K${this.line(summary, Math.max(20, columns - 1))}`);
      this.drawn = true;
    } else {
      this.options.stream.write(`pushline: ${this.line(summary)}\n`);
    }
  }
}

/**
 * Server-sent events on a plain Node response: the dashboard's and the inbox's live updates.
 * The server pushes; the browser never polls. A client that stops reading is dropped once a
 * bounded amount is queued for it (a stalled tab must not make the server hold a send's worth
 * of updates), and a comment line every 15 s keeps proxies from closing an idle stream.
 */
import type { ServerResponse } from 'node:http';

/** One change to a page, applied by the page's script (see `UI_JS`). */
export interface Patch {
  op: 'replace' | 'inner' | 'prepend';
  /** The element's id. */
  target: string;
  /** Markup rendered and escaped by the server. */
  html: string;
  /** For `replace` of an element not on the page yet: the id of the element to add it to (at its top). */
  parent?: string;
  /** For `prepend`: the most children the target keeps. */
  max?: number;
}

/** Bytes queued for one client past which it is dropped. */
const MAX_QUEUED_BYTES = 1 << 20;
const HEARTBEAT_MS = 15_000;

export class EventStream {
  #closed = false;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #onClose: Array<() => void> = [];

  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    res.write('retry: 2000\n\n');
    this.#heartbeat = setInterval(() => this.#write(': ping\n\n'), HEARTBEAT_MS);
    this.#heartbeat.unref();
    res.on('close', () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one event (`data` as one line of JSON). */
  send(event: string, data: unknown): void {
    this.#write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends page patches as one `patch` event (nothing when there are none). */
  patch(patches: readonly Patch[]): void {
    if (patches.length > 0) this.send('patch', patches);
  }

  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#onClose.push(listener);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    if (!this.res.writableEnded) this.res.end();
    for (const listener of this.#onClose.splice(0)) listener();
  }

  #write(text: string): void {
    if (this.#closed) return;
    if (this.res.writableLength > MAX_QUEUED_BYTES) {
      this.res.destroy();
      this.close();
      return;
    }
    this.res.write(text);
  }
}

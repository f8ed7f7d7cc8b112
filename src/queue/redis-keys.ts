/**
 * Every Redis key the BullMQ dispatcher and its workers use, named in one place. A send's
 * keys share the hash tag `{id}`, so on a Redis Cluster they live in one slot and the Lua
 * scripts of `outcomes.ts` (which touch several of them at once) stay legal.
 *
 * - `meta`: a hash — the spec (`spec`, JSON), `state`, `accepted`, `chunks` (chunk jobs
 *   enqueued), `inputDone` (1 once the last chunk is enqueued), `inputAt` (when the submitter
 *   last enqueued), `startedAt`, `finishedAt`, `abortRequested`, `abortReason`, `failError`;
 * - `counts`: a hash of HINCRBY counters (`SendCounts`, flattened: `sent`, `e:<code>`,
 *   `p:<provider>:<status>`…);
 * - `out`: a hash `<chunk>:<index>` → `f` (handed to a provider, no outcome recorded yet) or
 *   `d` (final outcome recorded): what a re-run chunk skips, and what it flags;
 * - `chunksDone`: a set of the chunk numbers acknowledged;
 * - `feedback`: a Redis Stream, one entry per final feedback (`l`: the NDJSON line of
 *   `feedbackLine`), then one `end` entry when the send finishes;
 * - `pages`: for `source` sends, the devices of each key range as first read (`<chunk>` →
 *   JSON), so a re-run chunk sends the same devices whatever the table became since.
 */

export interface SendKeys {
  meta: string;
  counts: string;
  out: string;
  chunksDone: string;
  feedback: string;
  pages: string;
}

/** The keys of one send, under `prefix` (default `pushline`). */
export function sendKeys(prefix: string, id: string): SendKeys {
  const base = `${prefix}:send:{${id}}`;
  return {
    meta: `${base}:meta`,
    counts: `${base}:counts`,
    out: `${base}:out`,
    chunksDone: `${base}:chunks-done`,
    feedback: `${base}:feedback`,
    pages: `${base}:pages`,
  };
}

/** The BullMQ queue holding every send's chunk jobs (BullMQ adds its own keys under `prefix`). */
export const CHUNK_QUEUE = 'pushline-chunks';

/** A chunk job's id: deterministic, so adding the same chunk twice is one job. */
export const chunkJobId = (sendId: string, chunk: number): string => `${sendId}-${chunk}`;

/** The `out` field of one device: its chunk and its index within the chunk. */
export const deviceField = (chunk: number, index: number): string => `${chunk}:${index}`;

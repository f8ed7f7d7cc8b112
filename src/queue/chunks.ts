/**
 * Chunk jobs: the unit of work a worker takes. A send of N devices is ⌈N / chunkSize⌉ jobs;
 * each carries its devices (inline and streamed inputs) or names a key range that the worker
 * reads itself (`source` inputs). The send's notification and options are not repeated in
 * every job: they are in the send's `meta` hash (see `redis-keys.ts`).
 */
import type { Device } from '../device.js';

/** A chunk whose devices are in the job. */
export interface DevicesChunk {
  kind: 'devices';
  send: string;
  chunk: number;
  devices: Device[];
  /**
   * Not to be sent before the send's input is complete (`inputDone`): an inline send's chunks
   * are all enqueued before it is accepted, so a submission that fails midway sends nothing.
   */
  gated?: true;
}

/**
 * A key range of a `source` send: the rows with `keyColumn` greater than `after` (null: from
 * the start), at most chunkSize of them. The worker that first runs it reads that page, keeps
 * the devices in Redis (so a re-run sends the same ones) and enqueues the next range.
 */
export interface KeysChunk {
  kind: 'keys';
  send: string;
  chunk: number;
  after: string | number | null;
}

export type ChunkJob = DevicesChunk | KeysChunk;

/** Groups devices into arrays of at most `size`, reading the input only as they are taken. */
export async function* chunksOf(
  devices: Iterable<Device> | AsyncIterable<Device>,
  size: number,
): AsyncGenerator<Device[]> {
  let chunk: Device[] = [];
  for await (const device of devices) {
    chunk.push(device);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

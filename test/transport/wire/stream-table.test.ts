/**
 * StreamTable (src/transport/wire/stream-table.ts) behaves as a Map from stream id to stream,
 * whatever the order streams open and close in, including runs that wrap around the table and
 * spans of open ids wider than it (where slots collide).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { WireStream } from '../../../src/transport/wire/stream.js';
import { StreamTable } from '../../../src/transport/wire/stream-table.js';

const streamFor = (id: number) => ({ id }) as unknown as WireStream;

describe('StreamTable', () => {
  it('matches a Map under any interleaving of opens and closes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant('open' as const), fc.nat({ max: 400 })), { maxLength: 3000 }),
        (ops) => {
          const table = new StreamTable();
          const model = new Map<number, WireStream>();
          let nextId = 1;
          for (const [index, op] of ops.entries()) {
            if (op === 'open') {
              const stream = streamFor(nextId);
              table.set(nextId, stream);
              model.set(nextId, stream);
              nextId += 2;
            } else {
              // Close the op-th oldest open stream (or a never-opened / closed id when none).
              const open = [...model.keys()];
              const id = open.length === 0 ? 2 * op + 1 : open[op % open.length]!;
              assert.equal(table.delete(id), model.delete(id));
            }
            assert.equal(table.size, model.size);
            // Every open stream stays findable along the way, not only at the end (a delete that
            // empties a slot an entry past it still needs would show up here).
            if (index % 25 === 0) for (const [id, stream] of model) assert.equal(table.get(id), stream);
          }
          for (let id = 1; id < nextId + 4; id += 2) assert.equal(table.get(id), model.get(id));
          assert.deepEqual(
            table
              .values()
              .map((s) => s.id)
              .sort((a, b) => a - b),
            [...model.keys()].sort((a, b) => a - b),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps one long-lived stream findable while thousands open and close around it', () => {
    const table = new StreamTable();
    const slow = streamFor(1);
    table.set(1, slow);
    for (let id = 3; id < 40_000; id += 2) {
      table.set(id, streamFor(id));
      if (id - 200 > 1) assert.equal(table.delete(id - 200), true);
    }
    assert.equal(table.get(1), slow);
    assert.equal(table.size, 101);
  });
});

/**
 * RFC 7541 §4.2 from the encoder's side: when the peer's SETTINGS_HEADER_TABLE_SIZE changes
 * more than once between two header blocks, the next block must signal the smallest size of
 * that interval first, then the final one. nghttp2 answers COMPRESSION_ERROR otherwise (a
 * server going 4096 → 0 → 4096 failed every connection), so the property is checked against
 * a strict peer model: the decoder plays the server, and every block's leading size updates
 * are compared with the sizes the "server" set since the previous block.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HpackDecoder } from '../../../src/transport/wire/hpack-decoder.js';
import { ByteWriter, HpackEncoder } from '../../../src/transport/wire/hpack-encoder.js';

function decodeAll(decoder: HpackDecoder, block: Buffer): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  decoder.decode(block, 0, block.length, (name, value) => fields.push([name, value]));
  return fields;
}

/** The §6.3 size updates a block starts with (5-bit prefix integers after 001). */
function leadingSizeUpdates(block: Buffer): number[] {
  const sizes: number[] = [];
  let at = 0;
  while (at < block.length && (block[at]! & 0xe0) === 0x20) {
    let value = block[at]! & 0x1f;
    at++;
    if (value === 0x1f) {
      let shift = 0;
      for (;;) {
        const byte = block[at++]!;
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if ((byte & 0x80) === 0) break;
      }
    }
    sizes.push(value);
  }
  return sizes;
}

describe('HPACK encoder: dynamic table size updates (RFC 7541 §4.2)', () => {
  it('signals 0 then 4096 after the peer went 4096 → 0 → 4096 between two blocks', () => {
    const encoder = new HpackEncoder();
    const w = new ByteWriter();
    encoder.beginBlock(w);
    encoder.field(w, 'apns-topic', 'com.example.app', 'incremental');
    w.take();
    encoder.setMaxSize(0);
    encoder.setMaxSize(4096);
    encoder.beginBlock(w);
    assert.equal(w.take().toString('hex'), `20${'3fe11f'}`);
  });

  it('signals the minimum then the final size (4096 → 1000 → 2000), and only the final one when it is the minimum', () => {
    const encoder = new HpackEncoder();
    const w = new ByteWriter();
    encoder.setMaxSize(1000);
    encoder.setMaxSize(2000);
    encoder.beginBlock(w);
    assert.deepEqual(leadingSizeUpdates(w.take()), [1000, 2000]);
    encoder.setMaxSize(3000);
    encoder.setMaxSize(500);
    encoder.beginBlock(w);
    assert.deepEqual(leadingSizeUpdates(w.take()), [500]);
    encoder.setMaxSize(8192); // above what we use: capped at 4096, still a change from 500
    encoder.beginBlock(w);
    assert.deepEqual(leadingSizeUpdates(w.take()), [4096]);
    encoder.setMaxSize(4096); // no change: nothing to signal
    encoder.beginBlock(w);
    assert.deepEqual(leadingSizeUpdates(w.take()), []);
  });

  it('round-trips any header lists across any table-size changes, signalling what a strict peer requires', () => {
    const name = fc.constantFrom('apns-topic', 'authorization', 'x-a', 'x-b', 'content-type', ':path');
    const value = fc.string({ maxLength: 300 });
    const step = fc.oneof(
      fc.record({ sizes: fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 1, maxLength: 4 }) }),
      fc.record({
        fields: fc.array(fc.tuple(name, value, fc.constantFrom('incremental', 'without', 'never')), {
          maxLength: 8,
        }),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const encoder = new HpackEncoder();
        const decoder = new HpackDecoder(4096);
        const w = new ByteWriter();
        let used = 4096; // the size the encoder uses, as the peer last saw it signalled
        let since: number[] = []; // sizes set by the peer since the last block
        for (const s of steps) {
          if ('sizes' in s) {
            since.push(...s.sizes.map((size) => Math.min(size, 4096)));
            for (const size of s.sizes) encoder.setMaxSize(size);
            continue;
          }
          encoder.beginBlock(w);
          for (const [n, v, mode] of s.fields) encoder.field(w, n, v, mode as 'incremental');
          const block = w.take();
          const updates = leadingSizeUpdates(block);
          const final = since.length > 0 ? since[since.length - 1]! : used;
          const smallest = Math.min(...since, final);
          if (smallest < Math.min(used, final)) {
            // The table shrank below both the size the peer knows and the final one: the peer
            // must see that minimum first (it evicts what we evicted), then the final size.
            assert.deepEqual(updates, [smallest, final], `sizes ${since} from ${used}`);
          } else if (final !== used) {
            assert.deepEqual(updates, [final], `sizes ${since} from ${used}`);
          } else {
            // Back where the peer knows it, never below: nothing to signal.
            assert.deepEqual(updates, [], `sizes ${since} from ${used}`);
          }
          used = final;
          since = [];
          assert.deepEqual(
            decodeAll(decoder, block),
            s.fields.map(([n, v]) => [n, v]),
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

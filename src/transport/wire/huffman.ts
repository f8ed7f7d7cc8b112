/**
 * HPACK Huffman decoding (RFC 7541 §5.2). Servers Huffman-encode most literals, so the
 * decoder is needed; the encoder side of pushline sends raw literals (its fields are
 * indexed after the first request, so compressing them once would buy nothing).
 */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './huffman-table.js';

/**
 * The code as a binary tree in a flat array: node n has children at [2n] (bit 0) and [2n+1]
 * (bit 1). A child ≥ 0 is the next node; a child < 0 is a leaf for symbol `-child - 1`.
 * 0 is "no child" (the root is never a child), so an unused branch is detectable.
 */
const tree: Int32Array = (() => {
  const nodes = new Int32Array(2 * 512);
  let count = 1;
  for (let symbol = 0; symbol < 256; symbol++) {
    const code = HUFFMAN_CODES[symbol]!;
    const length = HUFFMAN_LENGTHS[symbol]!;
    let node = 0;
    for (let bit = length - 1; bit > 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (nodes[slot] === 0) nodes[slot] = count++;
      node = nodes[slot]!;
    }
    nodes[2 * node + (code & 1)] = -symbol - 1;
  }
  return nodes;
})();

/**
 * First-byte lookup: for each 8-bit pattern, either a symbol whose code is ≤ 8 bits
 * (`symbol << 4 | length`, ≥ 0) or, for longer codes, `-(node + 1)`: the tree node reached
 * after those 8 bits. Most header characters have 5–8 bit codes, so this takes one step each.
 */
const fast: Int32Array = (() => {
  const table = new Int32Array(256);
  for (let peek = 0; peek < 256; peek++) {
    let node = 0;
    let entry = 0;
    for (let bit = 7; bit >= 0; bit--) {
      const next = tree[2 * node + ((peek >>> bit) & 1)]!;
      if (next < 0) {
        entry = ((-next - 1) << 4) | (8 - bit);
        break;
      }
      // next === 0: the all-ones prefix of EOS, never a whole symbol within 8 bits.
      node = next;
      if (bit === 0) entry = -(node + 1);
    }
    table[peek] = entry;
  }
  return table;
})();

/** Thrown for an invalid Huffman string; the session turns it into COMPRESSION_ERROR. */
export class HuffmanError extends Error {}

/**
 * Decoded octets collect here and become one string at the end: appending a character at a time
 * would allocate a string per character (a 36-character apns-id is 36 strings, then a flatten),
 * and every response carries a fresh one. Grown on demand, never shrunk; decoding is synchronous,
 * so one buffer serves every connection.
 */
let scratch = Buffer.allocUnsafeSlow(256);

/** Decodes `length` Huffman-coded bytes of `input` from `start` (as latin1: header bytes are octets). */
export function huffmanDecode(input: Uint8Array, start: number, length: number): string {
  // The shortest code is 5 bits: at most 8 symbols per 5 input bytes.
  const most = Math.ceil((length * 8) / 5);
  if (most > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(most, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let acc = 0;
  let bits = 0;
  let i = start;
  const end = start + length;
  for (;;) {
    while (bits < 8 && i < end) {
      acc = ((acc << 8) | input[i++]!) & 0xffff;
      bits += 8;
    }
    if (bits >= 8) {
      const entry = fast[(acc >>> (bits - 8)) & 0xff]!;
      if (entry >= 0) {
        out[n++] = entry >>> 4;
        bits -= entry & 0xf;
        continue;
      }
      // A code longer than 8 bits: walk the tree from where the first byte led.
      bits -= 8;
      let node = -entry - 1;
      for (;;) {
        if (bits === 0) {
          if (i >= end) {
            // Ended inside a code: only up to 7 bits of EOS prefix may pad (§5.2); 8+ here.
            throw new HuffmanError('invalid Huffman padding');
          }
          acc = ((acc << 8) | input[i++]!) & 0xffff;
          bits = 8;
        }
        bits--;
        const next = tree[2 * node + ((acc >>> bits) & 1)]!;
        if (next < 0) {
          out[n++] = -next - 1;
          break;
        }
        if (next === 0) throw new HuffmanError('Huffman string contains EOS');
        node = next;
      }
      continue;
    }
    // Fewer than 8 bits left: whole short symbols, or padding (all ones, §5.2).
    if (bits === 0) return out.toString('latin1', 0, n);
    const rest = acc & ((1 << bits) - 1);
    const entry = fast[(rest << (8 - bits)) & 0xff]!;
    if (entry >= 0 && (entry & 0xf) <= bits) {
      out[n++] = entry >>> 4;
      bits -= entry & 0xf;
      continue;
    }
    if (rest !== (1 << bits) - 1) throw new HuffmanError('invalid Huffman padding');
    return out.toString('latin1', 0, n);
  }
}

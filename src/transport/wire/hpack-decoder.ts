/**
 * HPACK decoder (RFC 7541): static and dynamic table, dynamic table size updates, integer
 * and string literals with Huffman decoding. One per connection (the table is connection state).
 */
import { HuffmanError, huffmanDecode } from './huffman.js';
import { STATIC_COUNT, STATIC_TABLE } from './static-table.js';

/** A malformed header block: the connection must end with COMPRESSION_ERROR (RFC 9113 §4.3). */
export class CompressionError extends Error {}

/** RFC 7541 §4.1: an entry's size is its name and value octets plus 32. */
const ENTRY_OVERHEAD = 32;
/** Literal cache: slots (a power of two) and the longest literal worth caching. */
const LITERAL_CACHE_SLOTS = 64;
const LITERAL_CACHE_MAX = 64;

export class HpackDecoder {
  /**
   * The dynamic table as a ring: entry k (k = 0 newest, HPACK index STATIC_COUNT + 1 + k) is
   * at `(head + k) % capacity`. Inserting moves `head` back one slot: no array shifting per
   * response (servers insert a fresh value such as a request id into it on every response).
   */
  private names: string[];
  private values: string[];
  private sizes: number[];
  private head = 0;
  private count = 0;
  /**
   * Direct-mapped cache of recently decoded string literals: encoded octets -> text. The octets
   * live in one arena, LITERAL_CACHE_MAX bytes per slot: a miss (every response's fresh
   * request id is one) overwrites a slot in place instead of allocating a copy.
   */
  private readonly cacheRaw = new Uint8Array(LITERAL_CACHE_SLOTS * LITERAL_CACHE_MAX);
  /** Encoded length per slot, 0 for an empty slot (an empty literal is never looked up). */
  private readonly cacheLength = new Uint8Array(LITERAL_CACHE_SLOTS);
  private readonly cacheHuffman = new Uint8Array(LITERAL_CACHE_SLOTS);
  private readonly cacheText: Array<string | undefined> = new Array(LITERAL_CACHE_SLOTS);
  private size = 0;
  /** The table size the peer's encoder currently uses (≤ `limit`). */
  private maxSize: number;
  /** What we allow (our SETTINGS_HEADER_TABLE_SIZE). */
  private readonly limit: number;
  private pos = 0;

  constructor(limit = 4096) {
    this.limit = limit;
    this.maxSize = limit;
    // Every entry is at least 32 octets (§4.1): this many always fit.
    const capacity = Math.max(1, Math.floor(limit / ENTRY_OVERHEAD));
    this.names = new Array<string>(capacity).fill('');
    this.values = new Array<string>(capacity).fill('');
    this.sizes = new Array<number>(capacity).fill(0);
  }

  /** Table size in octets, for tests. */
  get tableSize(): number {
    return this.size;
  }

  /** Entries newest first, for tests. */
  get entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let k = 0; k < this.count; k++) {
      const at = (this.head + k) % this.names.length;
      out.push([this.names[at]!, this.values[at]!]);
    }
    return out;
  }

  /**
   * Decodes one complete header block, calling `emit(name, value)` per field in order.
   * @throws CompressionError on any malformed input.
   */
  decode(block: Uint8Array, start: number, end: number, emit: (name: string, value: string) => void): void {
    this.pos = start;
    let fieldSeen = false;
    try {
      while (this.pos < end) {
        const byte = block[this.pos]!;
        if (byte & 0x80) {
          // §6.1 Indexed Header Field.
          const index = this.integer(block, end, 7);
          if (index === 0) throw new CompressionError('indexed header field with index 0');
          emit(this.nameAt(index), this.valueAt(index));
          fieldSeen = true;
        } else if (byte & 0x40) {
          // §6.2.1 Literal with Incremental Indexing.
          const index = this.integer(block, end, 6);
          const name = index === 0 ? this.string(block, end) : this.nameAt(index);
          const value = this.string(block, end);
          this.insert(name, value);
          emit(name, value);
          fieldSeen = true;
        } else if (byte & 0x20) {
          // §6.3 Dynamic Table Size Update: only at the start of a block (§4.2).
          if (fieldSeen) throw new CompressionError('table size update after a header field');
          const size = this.integer(block, end, 5);
          if (size > this.limit)
            throw new CompressionError(`table size ${size} above the limit ${this.limit}`);
          this.maxSize = size;
          this.evict(0);
        } else {
          // §6.2.2 without indexing (0000) and §6.2.3 never indexed (0001): same shape.
          const index = this.integer(block, end, 4);
          const name = index === 0 ? this.string(block, end) : this.nameAt(index);
          emit(name, this.string(block, end));
          fieldSeen = true;
        }
      }
    } catch (error) {
      if (error instanceof HuffmanError) throw new CompressionError(error.message);
      throw error;
    }
  }

  /** §5.1 integer with an N-bit prefix, starting at `this.pos`. */
  private integer(block: Uint8Array, end: number, prefixBits: number): number {
    const mask = (1 << prefixBits) - 1;
    let value = block[this.pos++]! & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) throw new CompressionError('truncated integer');
      const byte = block[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if ((byte & 0x80) === 0) return value;
      // Nothing in HTTP/2 needs more than 2^31; longer encodings are an attack or garbage.
      if (shift > 28) throw new CompressionError('integer too large');
    }
  }

  /** §5.2 string literal (raw octets as latin1, or Huffman). */
  private string(block: Uint8Array, end: number): string {
    if (this.pos >= end) throw new CompressionError('truncated string');
    const huffman = (block[this.pos]! & 0x80) !== 0;
    const length = this.integer(block, end, 7);
    const start = this.pos;
    if (start + length > end) throw new CompressionError('string longer than the block');
    this.pos = start + length;
    if (length === 0) return '';
    if (length > LITERAL_CACHE_MAX) {
      return huffman ? huffmanDecode(block, start, length) : latin1(block, start, length);
    }
    // Servers repeat the same literals in every response (`server`, `date` within a second,
    // `content-type`, error reasons): a hit is a byte-for-byte match of the encoded octets,
    // so it yields exactly what decoding them yields, for less than the Huffman walk.
    let hash = huffman ? 0x9e3779b1 : 0x811c9dc5;
    for (let i = start; i < start + length; i++) hash = Math.imul(hash ^ block[i]!, 0x01000193);
    const slot = (hash >>> 0) & (LITERAL_CACHE_SLOTS - 1);
    const raw = this.cacheRaw;
    const at = slot * LITERAL_CACHE_MAX;
    if (this.cacheLength[slot] === length && this.cacheHuffman[slot] === (huffman ? 1 : 0)) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (raw[at + i] !== block[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.cacheText[slot]!;
    }
    const text = huffman ? huffmanDecode(block, start, length) : latin1(block, start, length);
    // Only successfully decoded octets are remembered (a Huffman error threw above). Copied:
    // the block is the socket's buffer.
    for (let i = 0; i < length; i++) raw[at + i] = block[start + i]!;
    this.cacheLength[slot] = length;
    this.cacheHuffman[slot] = huffman ? 1 : 0;
    this.cacheText[slot] = text;
    return text;
  }

  private slot(index: number): number {
    const k = index - STATIC_COUNT - 1;
    if (k >= this.count) throw new CompressionError(`header index ${index} is not in the table`);
    return (this.head + k) % this.names.length;
  }

  private nameAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index]![0];
    return this.names[this.slot(index)]!;
  }

  private valueAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index]![1];
    return this.values[this.slot(index)]!;
  }

  /** §4.4: evict until the new entry fits; an entry larger than the table empties it and is not added. */
  private insert(name: string, value: string): void {
    // Strings here are octets (latin1), so length is the octet count.
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(entrySize);
    if (entrySize > this.maxSize) return;
    const capacity = this.names.length;
    this.head = (this.head + capacity - 1) % capacity;
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.sizes[this.head] = entrySize;
    this.count++;
    this.size += entrySize;
  }

  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.count > 0) {
      const oldest = (this.head + this.count - 1) % this.names.length;
      this.size -= this.sizes[oldest]!;
      this.names[oldest] = '';
      this.values[oldest] = '';
      this.count--;
    }
  }
}

function latin1(block: Uint8Array, start: number, length: number): string {
  // Short strings: fromCharCode beats a Buffer round trip.
  if (length < 32) {
    let s = '';
    for (let i = start; i < start + length; i++) s += String.fromCharCode(block[i]!);
    return s;
  }
  return Buffer.from(block.buffer, block.byteOffset + start, length).toString('latin1');
}

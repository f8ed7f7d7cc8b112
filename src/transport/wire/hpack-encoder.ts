/**
 * HPACK encoder (RFC 7541) for requests. Fields that repeat on every request of a
 * connection (`:authority`, `authorization`, `apns-topic`, …) go in the dynamic table once
 * and cost one or two bytes afterwards; fields that differ per request (`:path`) are
 * literals without indexing so they never evict the useful entries.
 *
 * Strings are sent raw (no Huffman): indexed fields are sent once per connection, and a
 * per-device path does not compress well.
 */
import { STATIC_COUNT, STATIC_FIELD_INDEX, STATIC_NAME_INDEX } from './static-table.js';

const ENTRY_OVERHEAD = 32;

/** Bytes taken by a §5.1 integer of `value` with an N-bit prefix. */
export function integerLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (let rest = value - max; rest >= 128; rest = Math.floor(rest / 128)) n++;
  return n;
}

/**
 * Writes a §5.1 integer at `p` (`first` holds the pattern bits above the N-bit prefix) and
 * returns where it ends: the one integer coder, for {@link ByteWriter} and for blocks written
 * straight into an output slab.
 */
export function writeInteger(
  buf: Buffer,
  p: number,
  value: number,
  prefixBits: number,
  first: number,
): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    buf[p++] = first | value;
    return p;
  }
  buf[p++] = first | max;
  let rest = value - max;
  while (rest >= 128) {
    buf[p++] = (rest % 128) + 128;
    rest = Math.floor(rest / 128);
  }
  buf[p++] = rest;
  return p;
}

/** Growable byte output for header blocks. */
export class ByteWriter {
  buf: Buffer;
  length = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  /** §5.1 integer: `first` holds the pattern bits above the N-bit prefix. */
  integer(value: number, prefixBits: number, first: number): void {
    this.reserve(integerLength(value, prefixBits));
    this.length = writeInteger(this.buf, this.length, value, prefixBits, first);
  }

  /** §5.2 raw string literal (H = 0). */
  string(value: string): void {
    const length = Buffer.byteLength(value, 'utf8');
    this.integer(length, 7, 0);
    this.reserve(length);
    this.length += this.buf.write(value, this.length, 'utf8');
  }

  /** A copy of what was written, and reset. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.length));
    this.length = 0;
    return out;
  }
}

export type IndexMode = 'incremental' | 'without' | 'never';

export class HpackEncoder {
  /** Bumped on every change of the dynamic table: cached blocks from another epoch are stale. */
  epoch = 0;
  /** Entries by insertion number; live ones are `evicted .. inserted-1`. */
  private readonly entries = new Map<number, { key: string; name: string; size: number }>();
  private readonly byField = new Map<string, number>();
  private readonly byName = new Map<string, number>();
  private inserted = 0;
  private evicted = 0;
  private size = 0;
  private maxSize = 4096;
  /**
   * The smallest size the table had since the last signalled update, -1 when none is pending.
   * §4.2: after several changes between two blocks, the next block signals that minimum first
   * (the peer must see the table shrink to it, evicting what we evicted), then the final size.
   */
  private pendingUpdate = -1;
  /** The table size the peer last saw signalled (4096, the initial one, until an update). */
  private signalled = 4096;

  /** The peer's SETTINGS_HEADER_TABLE_SIZE changed: use at most that (and at most 4096). */
  setMaxSize(peerLimit: number): void {
    const size = Math.min(peerLimit, 4096);
    if (size === this.maxSize) return;
    this.pendingUpdate = this.pendingUpdate === -1 ? size : Math.min(this.pendingUpdate, size);
    this.maxSize = size;
    this.evict(0);
    this.epoch++;
  }

  /** Call first in each header block: writes the pending dynamic table size update(s). */
  beginBlock(out: ByteWriter): void {
    const smallest = this.pendingUpdate;
    if (smallest === -1) return;
    this.pendingUpdate = -1;
    // Only a dip below both the size the peer knows and the final size evicted entries the peer
    // must evict too; a size that ends where the peer knows it, never lower, needs no update.
    const dipped = smallest < this.maxSize && smallest < this.signalled;
    if (dipped) out.integer(smallest, 5, 0x20);
    if (dipped || this.maxSize !== this.signalled) out.integer(this.maxSize, 5, 0x20);
    this.signalled = this.maxSize;
    this.epoch++;
  }

  /** True when the next block must start with a size update (cached blocks cannot be reused). */
  get updatePending(): boolean {
    return this.pendingUpdate !== -1;
  }

  /** Encodes one field; `mode` applies when it is not already fully indexed. */
  field(out: ByteWriter, name: string, value: string, mode: IndexMode): void {
    const key = `${name}\0${value}`;
    const staticFull = STATIC_FIELD_INDEX.get(key);
    if (staticFull !== undefined) {
      out.integer(staticFull, 7, 0x80);
      return;
    }
    const dynamicFull = this.byField.get(key);
    if (dynamicFull !== undefined && dynamicFull >= this.evicted) {
      out.integer(this.indexOf(dynamicFull), 7, 0x80);
      return;
    }
    let nameIndex = STATIC_NAME_INDEX.get(name) ?? 0;
    if (nameIndex === 0) {
      const dynamicName = this.byName.get(name);
      if (dynamicName !== undefined && dynamicName >= this.evicted) nameIndex = this.indexOf(dynamicName);
    }
    const entrySize = Buffer.byteLength(name) + Buffer.byteLength(value) + ENTRY_OVERHEAD;
    // An entry over half the table would flush the useful ones: send it as a literal.
    if (mode === 'incremental' && entrySize <= this.maxSize / 2) {
      out.integer(nameIndex, 6, 0x40);
      if (nameIndex === 0) out.string(name);
      out.string(value);
      this.insert(key, name, entrySize);
      return;
    }
    out.integer(nameIndex, 4, mode === 'never' ? 0x10 : 0x00);
    if (nameIndex === 0) out.string(name);
    out.string(value);
  }

  private indexOf(insertion: number): number {
    return STATIC_COUNT + (this.inserted - insertion);
  }

  private insert(key: string, name: string, entrySize: number): void {
    this.evict(entrySize);
    const id = this.inserted++;
    this.entries.set(id, { key, name, size: entrySize });
    this.byField.set(key, id);
    this.byName.set(name, id);
    this.size += entrySize;
    this.epoch++;
  }

  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.evicted < this.inserted) {
      const id = this.evicted++;
      const entry = this.entries.get(id)!;
      this.entries.delete(id);
      this.size -= entry.size;
      if (this.byField.get(entry.key) === id) this.byField.delete(entry.key);
      if (this.byName.get(entry.name) === id) this.byName.delete(entry.name);
      this.epoch++;
    }
  }
}

/**
 * The byte input of the file sources: a path we open (and close), or a Readable the caller
 * gives us (stdin, an HTTP body), read with backpressure through its async iterator.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { type Readable, Transform } from 'node:stream';

/** A file path, or a readable byte stream such as `process.stdin`. */
export type TextInput = string | Readable;

export function openInput(input: TextInput): Readable {
  return typeof input === 'string' ? createReadStream(input) : input;
}

/** How a message names the input: the path, or `stdin` / `the stream`. */
export function describeInput(input: TextInput): string {
  if (typeof input === 'string') return input;
  return input === process.stdin ? 'stdin' : 'the stream';
}

/**
 * Finds the bytes of a stream that are not UTF-8, as it passes through, and remembers where
 * they are (absolute byte offsets), so a parser working on the same bytes can tell which of its
 * records hold them: decoding on its own, it would turn them into U+FFFD silently.
 *
 * Each chunk is checked with one native call (`isUtf8`); only a chunk that fails is split at
 * its line breaks to find the bad lines. A character cut by a chunk boundary is carried over
 * (at most 3 bytes), so the check is exact whatever the chunking.
 */
export class Utf8Ranges {
  /** Byte ranges `[start, end)` holding bytes that are not UTF-8, in order. */
  private readonly bad: [number, number][] = [];
  private offset = 0;
  private carry: Buffer = Buffer.alloc(0);

  /** A pass-through stream that checks what goes through it. */
  transform(): Transform {
    return new Transform({
      transform: (chunk: Buffer | string, _encoding, callback) => {
        if (typeof chunk !== 'string') this.check(chunk);
        else this.offset += Buffer.byteLength(chunk); // already text: nothing to check
        callback(null, chunk);
      },
      flush: (callback) => {
        this.end();
        callback();
      },
    });
  }

  check(chunk: Buffer): void {
    const data = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const base = this.offset - this.carry.length;
    const cut = data.length - incompleteTail(data);
    if (!isUtf8(data.subarray(0, cut))) this.locate(data.subarray(0, cut), base);
    this.carry = Buffer.from(data.subarray(cut));
    this.offset += chunk.length;
  }

  /** The stream ended: a character still incomplete is a bad one. */
  end(): void {
    if (this.carry.length > 0) this.bad.push([this.offset - this.carry.length, this.offset]);
    this.carry = Buffer.alloc(0);
  }

  /**
   * Whether bytes `[start, end)` hold any that are not UTF-8. Ranges must be asked in order:
   * what lies before `start` is forgotten.
   */
  within(start: number, end: number): boolean {
    while (this.bad.length > 0 && this.bad[0]![1] <= start) this.bad.shift();
    return this.bad.length > 0 && this.bad[0]![0] < end;
  }

  private locate(data: Buffer, base: number): void {
    let start = 0;
    for (let i = 0; i <= data.length; i++) {
      if (i < data.length && data[i] !== 0x0a && data[i] !== 0x0d) continue;
      if (i > start && !isUtf8(data.subarray(start, i))) this.bad.push([base + start, base + i]);
      start = i + 1;
    }
  }
}

/** How many bytes at the end of `data` start a UTF-8 character that the next chunk completes. */
function incompleteTail(data: Buffer): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const byte = data[data.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    if (byte < 0xc0) return 0; // ASCII: nothing pending
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return length > back ? back : 0;
  }
  return 0;
}

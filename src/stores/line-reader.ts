/**
 * Splits a byte stream into lines (LF or CRLF), fed a chunk at a time and read a line at a
 * time, synchronously: the caller feeds a chunk only once every line of the previous one was
 * read, so at most one chunk's lines and one unfinished line are held (the unfinished one at most
 * 4 bytes per character of `maxLineLength`; past that only its start is kept, to name it).
 *
 * Each line's bytes are checked to be UTF-8: a chunk's complete lines are checked and decoded
 * together (one native call each, the common case), and line by line only when that chunk holds
 * bytes that are not UTF-8.
 */
import { isUtf8 } from 'node:buffer';

export interface Line {
  /** 1-based. */
  number: number;
  text: string;
  /** The line was over the limit: `text` is only its start. */
  tooLong: boolean;
  /** The line's bytes are not UTF-8: `text` is what they decode to, with U+FFFD for the bad ones. */
  notUtf8: boolean;
}

const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

export class LineReader {
  /** Lines handed out so far (the number of the last one). */
  number = 0;
  private readonly maxBytes: number;
  /** The line being read, when it spans chunks: its pieces… */
  private pieces: Buffer[] = [];
  private held = 0;
  /** …or its start, once it is over the limit. */
  private skipping: string | undefined;
  /** The line the fed chunk's first LF ended (it began in an earlier chunk). */
  private first: Line | undefined;
  /** The chunk's other complete lines, decoded together (all UTF-8)… */
  private texts: string[] | undefined;
  private textAt = 0;
  /** …or its bytes, read line by line (some are not UTF-8). */
  private region: Buffer | undefined;
  private regionAt = 0;

  constructor(private readonly maxLineLength: number) {
    this.maxBytes = maxLineLength * 4;
  }

  /** Takes the next chunk; call it only when {@link next} has no line left. */
  feed(chunk: Buffer): void {
    const first = chunk.indexOf(LF);
    if (first === -1) {
      this.hold(chunk);
      return;
    }
    this.first = this.endHeld(chunk.subarray(0, first));
    const last = chunk.lastIndexOf(LF);
    if (last > first) {
      const region = chunk.subarray(first + 1, last);
      if (isUtf8(region)) {
        this.texts = region.toString('utf8').split('\n');
        this.textAt = 0;
      } else {
        this.region = region;
        this.regionAt = 0;
      }
    }
    // The bytes after the last LF start the line a later chunk ends.
    if (last + 1 < chunk.length) this.hold(chunk.subarray(last + 1));
  }

  /** The input ended: what is held is its last line (without a newline). */
  end(): void {
    if (this.skipping !== undefined || this.held > 0) this.first = this.endHeld(EMPTY);
  }

  /** The next complete line fed, or undefined when more input is needed. */
  next(): Line | undefined {
    const first = this.first;
    if (first !== undefined) {
      this.first = undefined;
      return first;
    }
    const texts = this.texts;
    if (texts !== undefined) {
      const text = texts[this.textAt++]!;
      if (this.textAt === texts.length) this.texts = undefined;
      return this.finish(text);
    }
    const region = this.region;
    if (region !== undefined) {
      let end = region.indexOf(LF, this.regionAt);
      if (end === -1) end = region.length;
      const line = this.decode(region.subarray(this.regionAt, end));
      this.regionAt = end + 1;
      if (this.regionAt > region.length) this.region = undefined;
      return line;
    }
    return undefined;
  }

  private finish(text: string, notUtf8 = false): Line {
    const number = ++this.number;
    if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1); // UTF-8 BOM
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.length > this.maxLineLength) return { number, text: text.slice(0, 200), tooLong: true, notUtf8 };
    return { number, text, tooLong: false, notUtf8 };
  }

  private decode(bytes: Buffer): Line {
    return this.finish(bytes.toString('utf8'), !isUtf8(bytes));
  }

  private hold(bytes: Buffer): void {
    if (this.skipping !== undefined) return;
    this.held += bytes.length;
    if (this.held <= this.maxBytes) {
      this.pieces.push(bytes);
      return;
    }
    this.skipping = Buffer.concat([...this.pieces, bytes.subarray(0, 200)])
      .toString('utf8')
      .slice(0, 200);
    this.pieces = [];
    this.held = 0;
  }

  /** Ends the held line with `tail` (the bytes before its newline). */
  private endHeld(tail: Buffer): Line {
    if (this.skipping !== undefined) {
      const text = this.skipping;
      this.skipping = undefined;
      return { number: ++this.number, text, tooLong: true, notUtf8: false };
    }
    const bytes = this.pieces.length === 0 ? tail : Buffer.concat([...this.pieces, tail]);
    this.pieces = [];
    this.held = 0;
    return this.decode(bytes);
  }
}

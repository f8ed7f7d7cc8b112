/**
 * The output slabs of one wire session: frames are written into a slab, and slices of it are
 * handed to `socket.write`. A full slab is reused once every write holding a slice of it has
 * called back, instead of being left to the garbage collector.
 *
 * Why: at 100,000 requests a second a session fills a 64 KiB slab every few milliseconds. Left
 * to the GC, slabs still in a write when a young collection runs are promoted, and their memory
 * (outside the JS heap) comes back only at the next full collection: the process's memory grew
 * by megabytes a second between full collections.
 */

/** Frames of a whole event-loop turn usually fit in one. */
export const SLAB_SIZE = 64 * 1024;
/** Free slabs kept per session: enough for the slabs still in the socket's hands. */
const MAX_FREE = 4;

export class Slab {
  readonly buffer: Buffer;
  /** Writes handed to the socket (or held for it) that have not called back yet. */
  writes = 0;
  /** Full: nothing more is written into it; reusable once `writes` is 0. */
  retired = false;
  /** The `socket.write` callback for slices of this slab (one function per slab, not per write). */
  readonly written: () => void;

  constructor(size: number, owner: Slabs) {
    this.buffer = Buffer.allocUnsafe(size);
    this.written = () => {
      this.writes--;
      if (this.retired && this.writes === 0) owner.recycle(this);
    };
  }
}

export class Slabs {
  private readonly free: Slab[] = [];

  /** A slab with room for at least `bytes`: a free one when it is big enough, else a new one. */
  acquire(bytes: number): Slab {
    if (bytes <= SLAB_SIZE) {
      const slab = this.free.pop();
      if (slab !== undefined) {
        slab.retired = false;
        return slab;
      }
    }
    return new Slab(Math.max(SLAB_SIZE, bytes), this);
  }

  /** Nothing more goes into `slab`; it is reused once its writes are done. */
  retire(slab: Slab): void {
    slab.retired = true;
    if (slab.writes === 0) this.recycle(slab);
  }

  /** @internal called when a retired slab's last write is done. */
  recycle(slab: Slab): void {
    // Oversized slabs (one huge frame) are not kept: the common case never needs them.
    if (slab.buffer.length === SLAB_SIZE && this.free.length < MAX_FREE) this.free.push(slab);
  }
}

/**
 * The byte input of the file sources: a path we open (and close), or a Readable the caller
 * gives us (stdin, an HTTP body), read with backpressure through its async iterator.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

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

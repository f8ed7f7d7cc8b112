/**
 * Stdin read up to the first interrupt. A pipe whose producer lives on (`tail -f … | pushline
 * send --devices -`, a queue consumer) may never send another line: the source's pending read
 * would hold the send after SIGINT, past the grace period and the second signal, until the third
 * exits without a summary. Racing each read against the stop signal ends the devices there
 * instead; those in flight finish and the summary is printed, as with any other source.
 */
export function untilStopped<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      const stopped = new Promise<'stopped'>((resolve) => {
        if (signal.aborted) resolve('stopped');
        else signal.addEventListener('abort', () => resolve('stopped'), { once: true });
      });
      let finished = false;
      try {
        while (true) {
          const next = await Promise.race([iterator.next(), stopped]);
          if (next === 'stopped') return;
          if (next.done) {
            finished = true;
            return;
          }
          yield next.value;
        }
      } finally {
        // Not awaited: a read still pending (the stopped case) settles only when the pipe does.
        if (!finished) void Promise.resolve(iterator.return?.()).catch(() => undefined);
      }
    },
  };
}

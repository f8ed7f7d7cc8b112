/**
 * Closing the client at the end of a command, bounded. The transport leaves idle HTTP/2
 * sessions unref'd (so they never keep a process alive); while they close gracefully nothing
 * else may hold the event loop, and Node would exit mid-close with code 13 ("unsettled
 * top-level await"). The timer here holds the loop for the close, and destroys what is
 * still open after `graceMs`, so the command always ends.
 */
import type { PushClient } from '../client.js';

export async function closeClient(client: PushClient, graceMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), graceMs);
  });
  try {
    const outcome = await Promise.race([client.close().then(() => 'closed' as const), expired]);
    if (outcome === 'expired') await client.destroy();
  } finally {
    clearTimeout(timer);
  }
}

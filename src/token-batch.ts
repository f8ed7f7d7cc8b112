/**
 * The part every `sendBatch` shares (HMS sends, FCM topic subscriptions): a device whose token
 * fails the provider's local check gets its outcome at once and stays out of the request; the
 * others go in one request; the answers are put back in the devices' order. Each provider keeps
 * its own token check and request, so messages still name the provider whose rule was broken.
 */
import type { Device } from './device.js';
import type { Outcome } from './provider.js';

/**
 * One outcome per device, in order: `tokenOf`'s outcome for a device it refuses, else the
 * answer `send` gives for its token (one per token, in the order given). No request is made
 * when every device is refused.
 */
export async function sendTokenBatch(
  devices: readonly Device[],
  tokenOf: (device: Device) => string | Outcome,
  send: (tokens: string[]) => Promise<readonly Outcome[]>,
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array(devices.length);
  const tokens: string[] = [];
  const at: number[] = [];
  for (let i = 0; i < devices.length; i++) {
    const token = tokenOf(devices[i]!);
    if (typeof token !== 'string') {
      outcomes[i] = token;
      continue;
    }
    tokens.push(token);
    at.push(i);
  }
  if (tokens.length === 0) return outcomes;
  const answered = await send(tokens);
  for (let j = 0; j < at.length; j++) outcomes[at[j]!] = answered[j]!;
  return outcomes;
}

/**
 * A provider for store tests that answers by the token's prefix, because a device read from a
 * database row carries no script: `dead-…` is an invalid token (gone since DEAD_SINCE), `bad-…`
 * a permanent bad request, anything else is sent. It records every token it was asked to send.
 */
import type { Platform } from '../../src/device.js';
import { PushError } from '../../src/errors.js';
import type { Outcome, Provider } from '../../src/provider.js';

/** The invalidation time the provider reports for dead tokens (as APNs' 410 timestamp does). */
export const DEAD_SINCE = new Date('2026-01-02T03:04:05.000Z');

export class TokenProvider implements Provider {
  readonly name = 'by-token';
  readonly platforms: Platform[] = ['ios', 'android', 'web', 'huawei'];
  readonly tokens: unknown[] = [];

  prepare() {
    return {
      send: async (device: { token: unknown }): Promise<Outcome> => {
        this.tokens.push(device.token);
        const token = typeof device.token === 'string' ? device.token : JSON.stringify(device.token);
        if (token.startsWith('dead-')) {
          return {
            ok: false,
            error: new PushError('invalid-token', 'Unregistered', {
              provider: this.name,
              httpStatus: 410,
              reason: 'Unregistered',
              invalidatedAt: DEAD_SINCE,
            }),
          };
        }
        if (token.startsWith('bad-')) {
          return {
            ok: false,
            error: new PushError('bad-request', 'bad', { provider: this.name, httpStatus: 400 }),
          };
        }
        return { ok: true, httpStatus: 200, messageId: `m-${token}` };
      },
    };
  }

  async close(): Promise<void> {}

  async destroy(): Promise<void> {}
}

/** Token for row i of the test tables: every 7th is dead. */
export const tokenFor = (i: number): string => (i % 7 === 3 ? `dead-${i}` : `live-${i}`);
export const platformFor = (i: number): Platform => (['ios', 'android', 'huawei'] as const)[i % 3]!;

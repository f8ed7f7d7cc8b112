/**
 * What the server's gorush mapping makes of a platform-3 (Huawei) notification is accepted by
 * hms() and by the strict emulator: the two were written apart, and must meet.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type HmsEmulator, startHmsEmulator } from '../../../src/emulator/hms/index.js';
import { PushClient } from '../../../src/index.js';
import { hms } from '../../../src/providers/hms/index.js';
import { mapGorushNotification } from '../../../src/server/gorush/mapping.js';
import type { GorushPushNotification } from '../../../src/server/gorush/request.js';
import { collect } from '../../support/scripted-provider.js';
import { brief, hmsToken } from './support.js';

let emu: HmsEmulator;
before(async () => {
  emu = await startHmsEmulator();
});
after(async () => {
  await emu.close();
});

const settings = { apps: [{ name: 'default', platforms: ['huawei'] as const }], defaultApp: 'default' };

async function sendMapped(n: GorushPushNotification): Promise<string[]> {
  const mapped = mapGorushNotification(n, settings);
  assert.equal(mapped.kind, 'send', JSON.stringify(mapped));
  if (mapped.kind !== 'send') return [];
  const client = new PushClient({ providers: [hms(emu.providerOptions)], retry: { maxAttempts: 1 } });
  try {
    const out: string[] = [];
    for (const send of mapped.sends) {
      for (const fb of await collect(client.send(send.notification, send.devices))) out.push(brief(fb));
    }
    return out;
  } finally {
    await client.close();
  }
}

describe('gorush platform 3 through hms()', () => {
  it('title and message, sound, priority, ttl', async () => {
    const got = await sendMapped({
      platform: 3,
      tokens: [hmsToken(1), hmsToken(2)],
      title: 'Hello',
      message: 'World',
      sound: 'chime',
      priority: 'high',
      huawei_ttl: '3600s',
    } as GorushPushNotification);
    assert.deepEqual(got, ['sent/1', 'sent/1']);
  });

  it('huawei_data alone (a data message), and a topic', async () => {
    assert.deepEqual(
      await sendMapped({
        platform: 3,
        tokens: [hmsToken(3)],
        huawei_data: '{"k":"v"}',
      } as GorushPushNotification),
      ['sent/1'],
    );
    // gorush's huawei_data is android.data; no empty message.data is added beside it.
    const { token: _token, ...received } = emu.messages.at(-1)!.message;
    assert.deepEqual(received, { android: { urgency: 'NORMAL', ttl: '86400s', data: '{"k":"v"}' } });
    assert.deepEqual(
      await sendMapped({ platform: 3, topic: 'news', title: 'T', message: 'M' } as GorushPushNotification),
      ['sent/1'],
    );
  });
});

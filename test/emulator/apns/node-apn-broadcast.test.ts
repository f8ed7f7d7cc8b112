/**
 * The emulator's broadcast push seen by @parse/node-apn 8, an independent client with channel
 * management and broadcasts: pointed at the emulator with its own documented options
 * (`address`, `port`, `manageChannelsAddress`, `manageChannelsPort`, `ca`), no patching.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import apn from '@parse/node-apn';
import { type ApnsEmulator, startApnsEmulator } from '../../../src/emulator/apns/index.js';

const APP = 'com.example.app';

/** A Live Activity update for `channelId` (node-apn's typings lack the Live Activity setters it has). */
function liveUpdate(
  channelId: string,
  contentState: Record<string, unknown>,
  timestamp: number,
): apn.Notification {
  const note = new apn.Notification();
  note.channelId = channelId;
  note.pushType = 'liveactivity';
  Object.assign(note as unknown as Record<string, unknown>, { timestamp, event: 'update', contentState });
  return note;
}

describe('APNs emulator broadcast push seen by @parse/node-apn', () => {
  let emulator: ApnsEmulator;
  let provider: apn.Provider;

  before(async () => {
    emulator = await startApnsEmulator();
    provider = new apn.Provider({
      token: { key: emulator.key, keyId: emulator.keyId, teamId: emulator.teamId },
      address: '127.0.0.1',
      port: emulator.port,
      manageChannelsAddress: '127.0.0.1',
      manageChannelsPort: Number(new URL(emulator.manageOrigin).port),
      ca: [emulator.ca],
      production: false,
    });
  });
  after(async () => {
    await provider.shutdown();
    await emulator.close();
  });

  it('creates, reads, lists, broadcasts to and deletes a channel', async () => {
    const note = new apn.Notification();
    note.requestId = '0309F412-AA57-46A8-9AC6-B5AECA8C4594';
    // node-apn's README form: the storage policy as a string.
    note.payload = { 'message-storage-policy': '1', 'push-type': 'liveactivity' };
    const created = await provider.manageChannels(note, APP, 'create');
    assert.deepEqual(created.failed, []);
    const channelId = created.sent[0]?.['apns-channel-id'];
    assert.equal(typeof channelId, 'string');
    assert.equal(created.sent[0]?.['apns-request-id'], note.requestId);

    const all = await provider.manageChannels(new apn.Notification(), APP, 'readAll');
    assert.deepEqual(all.sent[0]?.channels, [channelId]);

    const readNote = new apn.Notification();
    readNote.channelId = channelId as string;
    const read = await provider.manageChannels(readNote, APP, 'read');
    assert.deepEqual(read.failed, []);
    assert.equal((read.sent[0] as unknown as Record<string, unknown>)['message-storage-policy'], 1);

    const timestamp = Math.floor(Date.now() / 1000);
    const sent = await provider.broadcast(liveUpdate(channelId as string, { score: '3-2' }, timestamp), APP);
    assert.deepEqual(sent.failed, []);
    assert.equal(emulator.broadcasts.length, 1);
    assert.deepEqual(emulator.broadcasts[0]?.payload.aps, {
      timestamp,
      event: 'update',
      'content-state': { score: '3-2' },
    });

    const deleteNote = new apn.Notification();
    deleteNote.channelId = channelId as string;
    const deleted = await provider.manageChannels(deleteNote, APP, 'delete');
    assert.deepEqual(deleted.failed, []);
    assert.deepEqual(emulator.channels(), []);
  });

  it('answers a broadcast to an unknown channel with 400 and a reason', async () => {
    const { sent, failed } = await provider.broadcast(liveUpdate('dHN0LXNyY2gtY2hubA==', {}, 1), APP);
    assert.deepEqual(sent, []);
    assert.equal(failed[0]?.status, 400);
    assert.deepEqual(failed[0]?.response, { reason: 'BadChannelId' });
  });
});

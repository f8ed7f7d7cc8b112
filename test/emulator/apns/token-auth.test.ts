import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { type ClientHttp2Session, connect } from 'node:http2';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { type ApnsEmulator, startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { close, open, providerToken, push, TOKEN_A, TOKEN_B } from './helpers.js';

const MINUTE = 60_000;

/** Runs `body` against a fresh emulator and connection; closes both whatever happens. */
async function withEmulator(
  options: Parameters<typeof startApnsEmulator>[0],
  body: (emulator: ApnsEmulator, session: ClientHttp2Session) => Promise<void>,
): Promise<void> {
  const emulator = await startApnsEmulator(options);
  const session = await open(emulator);
  try {
    await body(emulator, session);
  } finally {
    await close(session);
    await emulator.close();
  }
}

async function reason(
  session: ClientHttp2Session,
  jwt: string | null,
  headers = {},
): Promise<string | number> {
  const res = await push(session, { jwt, headers });
  return res.status === 200 ? 200 : `${res.status} ${res.body?.['reason']}`;
}

function otherP8(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

describe('APNs emulator: provider token (JWT) rules', () => {
  it('generates a .p8-style key and 10-character team and key ids', async () => {
    await withEmulator({}, async (emulator) => {
      assert.match(emulator.teamId, /^[A-Z0-9]{10}$/);
      assert.match(emulator.keyId, /^[A-Z0-9]{10}$/);
      assert.match(emulator.key, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.deepEqual(emulator.providerOptions, {
        endpoint: emulator.origin,
        ca: emulator.ca,
        teamId: emulator.teamId,
        keyId: emulator.keyId,
        key: emulator.key,
        topic: 'com.example.app',
      });
    });
  });

  it('403 MissingProviderToken without a bearer token', async () => {
    await withEmulator({}, async (_emulator, session) => {
      assert.equal(await reason(session, null), '403 MissingProviderToken');
      assert.equal(await reason(session, null, { authorization: 'Basic abc' }), '403 MissingProviderToken');
      assert.equal(await reason(session, null, { authorization: 'bearer ' }), '403 MissingProviderToken');
    });
  });

  it('403 InvalidProviderToken for a malformed, foreign, unknown-kid, wrong-iss, non-ES256 or iat-less token', async () => {
    await withEmulator({}, async (emulator, session) => {
      assert.equal(await reason(session, 'not.a.jwt'), '403 InvalidProviderToken');
      const foreignKey = await providerToken(emulator, { key: otherP8() });
      assert.equal(await reason(session, foreignKey), '403 InvalidProviderToken');
      assert.equal(
        await reason(session, await providerToken(emulator, { kid: 'ABCDE12345' })),
        '403 InvalidProviderToken',
      );
      assert.equal(
        await reason(session, await providerToken(emulator, { iss: 'ABCDE12345' })),
        '403 InvalidProviderToken',
      );
      const hs256 = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', kid: emulator.keyId })
        .setIssuer(emulator.teamId)
        .setIssuedAt()
        .sign(new TextEncoder().encode('a shared secret of enough length!!'));
      assert.equal(await reason(session, hs256), '403 InvalidProviderToken');
      const { importPKCS8 } = await import('jose');
      const noIat = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: emulator.keyId })
        .setIssuer(emulator.teamId)
        .sign(await importPKCS8(emulator.key, 'ES256'));
      assert.equal(await reason(session, noIat), '403 InvalidProviderToken');
      const future = await providerToken(emulator, { iat: Math.floor(Date.now() / 1000) + 600 });
      assert.equal(await reason(session, future), '403 InvalidProviderToken');
      assert.equal(emulator.stats().byReason['InvalidProviderToken'], 7);
    });
  });

  it('403 ExpiredProviderToken once the token is over an hour old (injected clock)', async () => {
    let clock = Date.now();
    await withEmulator({ now: () => clock }, async (emulator, session) => {
      const jwt = await providerToken(emulator, { iat: Math.floor(clock / 1000) });
      assert.equal(await reason(session, jwt), 200);
      clock += 59 * MINUTE;
      assert.equal(await reason(session, jwt), 200);
      clock += 2 * MINUTE;
      assert.equal(await reason(session, jwt), '403 ExpiredProviderToken');
      // A fresh token fixes it (the old one was taken over 20 minutes ago).
      const fresh = await providerToken(emulator, { iat: Math.floor(clock / 1000) });
      assert.equal(await reason(session, fresh), 200);
      assert.equal(emulator.stats().providerTokenRefreshes, 1);
    });
  });

  it('429 TooManyProviderTokenUpdates for a new token within 20 minutes on one connection', async () => {
    let clock = Date.now();
    await withEmulator({ now: () => clock }, async (emulator, session) => {
      const first = await providerToken(emulator, { iat: Math.floor(clock / 1000) });
      assert.equal(await reason(session, first), 200);
      clock += 5 * MINUTE;
      const second = await providerToken(emulator, { iat: Math.floor(clock / 1000) });
      assert.equal(await reason(session, second), '429 TooManyProviderTokenUpdates');
      // The connection keeps its token; and the rule is per connection.
      assert.equal(await reason(session, first), 200);
      const other = await open(emulator);
      try {
        assert.equal(await reason(other, second), 200);
      } finally {
        await close(other);
      }
      clock += 16 * MINUTE;
      assert.equal(await reason(session, second), 200);
      const stats = emulator.stats();
      assert.equal(stats.providerTokenRefreshes, 1);
      assert.equal(stats.providerTokens, 2);
    });
  });

  it('a re-signed token with the same iat is still a new token', async () => {
    await withEmulator({}, async (emulator, session) => {
      const iat = Math.floor(Date.now() / 1000);
      assert.equal(await reason(session, await providerToken(emulator, { iat })), 200);
      assert.equal(
        await reason(session, await providerToken(emulator, { iat })),
        '429 TooManyProviderTokenUpdates',
      );
    });
  });

  it('binds a connection to the team of its first push: another team gets 403 UnrelatedKeyIdInToken', async () => {
    await withEmulator(
      { keys: [{ teamId: 'TEAMBBBBBB', keyId: 'KEYBBBBBBB' }], teams: { TEAMBBBBBB: ['com.b.app'] } },
      async (emulator, session) => {
        const teamB = await providerToken(emulator, {
          kid: 'KEYBBBBBBB',
          iss: 'TEAMBBBBBB',
          key: emulator.keys[1]!.privateKeyPem,
        });
        assert.equal(await reason(session, await providerToken(emulator)), 200);
        assert.equal(
          await reason(session, teamB, { 'apns-topic': 'com.b.app' }),
          '403 UnrelatedKeyIdInToken',
        );
        const fresh = await open(emulator);
        try {
          assert.equal(await reason(fresh, teamB, { 'apns-topic': 'com.b.app' }), 200);
          // Team B's key may not push to team A's app.
          assert.equal(await reason(fresh, teamB), '400 TopicDisallowed');
        } finally {
          await close(fresh);
        }
      },
    );
  });

  it('a topic-specific key after a team-scoped one is unrelated; it only pushes to its topics', async () => {
    await withEmulator(
      {
        keys: [{ keyId: 'TOPICKEY01', teamId: 'TEAMAAAAAA', topics: ['com.example.other'] }],
        teamId: 'TEAMAAAAAA',
      },
      async (emulator, session) => {
        const scoped = await providerToken(emulator, {
          kid: 'TOPICKEY01',
          key: emulator.keys[1]!.privateKeyPem,
        });
        assert.equal(await reason(session, await providerToken(emulator)), 200);
        assert.equal(
          await reason(session, scoped, { 'apns-topic': 'com.example.other' }),
          '403 UnrelatedKeyIdInToken',
        );
        const fresh = await open(emulator);
        try {
          assert.equal(await reason(fresh, scoped, { 'apns-topic': 'com.example.other' }), 200);
          assert.equal(await reason(fresh, scoped), '400 TopicDisallowed');
        } finally {
          await close(fresh);
        }
      },
    );
  });

  it('403 BadEnvironmentKeyIdInToken for a production-only key on the sandbox', async () => {
    await withEmulator(
      { keys: [{ keyId: 'PRODKEY001', environment: 'production' }] },
      async (emulator, session) => {
        const prod = emulator.keys[1]!;
        const jwt = await providerToken(emulator, {
          kid: prod.keyId,
          iss: prod.teamId,
          key: prod.privateKeyPem,
        });
        assert.equal(await reason(session, jwt), '403 BadEnvironmentKeyIdInToken');
      },
    );
  });

  it('accepts given key, key id and team id', async () => {
    const p8 = otherP8();
    await withEmulator({ key: p8, keyId: 'GIVENKEY01', teamId: 'GIVENTEAM1' }, async (emulator, session) => {
      assert.equal(emulator.key, p8);
      const jwt = await providerToken(emulator, { key: p8, kid: 'GIVENKEY01', iss: 'GIVENTEAM1' });
      assert.equal(await reason(session, jwt), 200);
    });
  });

  it('every push carries its token: an authenticated connection still rejects one without', async () => {
    await withEmulator({}, async (emulator, session) => {
      assert.equal(await reason(session, await providerToken(emulator)), 200);
      assert.equal(await reason(session, null), '403 MissingProviderToken');
    });
  });
});

describe('APNs emulator: one stream until authenticated', () => {
  it('advertises 1 stream, and raises to maxConcurrentStreams after a valid token', async () => {
    await withEmulator({ maxConcurrentStreams: 77 }, async (emulator, session) => {
      assert.equal(session.remoteSettings.maxConcurrentStreams, 1);
      assert.equal(await reason(session, null), '403 MissingProviderToken');
      assert.equal(session.remoteSettings.maxConcurrentStreams, 1);
      const raised = new Promise<number | undefined>((resolve) =>
        session.once('remoteSettings', (s) => resolve(s.maxConcurrentStreams)),
      );
      assert.equal(await reason(session, await providerToken(emulator)), 200);
      assert.equal(await raised, 77);
      assert.equal(session.remoteSettings.maxConcurrentStreams, 77);
    });
  });

  it('refuses (unprocessed) the streams of a burst sent before the client saw the limit of 1', async () => {
    const emulator = await startApnsEmulator();
    try {
      const jwt = await providerToken(emulator);
      // No wait for SETTINGS: the client sends its three streams at once, as eager clients do.
      const session = connect(emulator.origin, { ca: emulator.ca });
      session.on('error', () => {});
      const results = await Promise.allSettled(
        [TOKEN_A, TOKEN_B, TOKEN_A].map((token) => push(session, { jwt, token })),
      );
      await close(session);
      assert.equal(results[0]?.status, 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(refused.length, 2);
      for (const r of refused) assert.match(String((r as PromiseRejectedResult).reason), /REFUSED_STREAM/);
      assert.equal(emulator.stats().requests, 1);
    } finally {
      await emulator.close();
    }
  });

  it('certificate mode advertises the full limit at once', async () => {
    const emulator = await startApnsEmulator({ auth: 'certificate', maxConcurrentStreams: 55 });
    const cert = emulator.issueClientCertificate();
    const session = await open(emulator, { cert: cert.certPem, key: cert.keyPem });
    try {
      assert.equal(session.remoteSettings.maxConcurrentStreams, 55);
    } finally {
      await close(session);
      await emulator.close();
    }
  });
});

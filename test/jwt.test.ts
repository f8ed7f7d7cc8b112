/**
 * src/jwt.ts signs the providers' tokens; jose (an independent implementation) verifies them.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { compactVerify, decodeProtectedHeader } from 'jose';
import { signJwt } from '../src/jwt.js';

describe('signJwt', () => {
  for (const [alg, keys] of [
    ['ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['RS256', generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ] as const) {
    it(`${alg}: jose verifies the signature, header and claims`, async () => {
      const jwt = signJwt(
        alg,
        { kid: 'KEY1234567' },
        { iss: 'TEAM123456', iat: 1_700_000_000 },
        keys.privateKey,
      );
      const { payload, protectedHeader } = await compactVerify(jwt, keys.publicKey);
      assert.deepEqual(protectedHeader, { alg, kid: 'KEY1234567' });
      assert.deepEqual(JSON.parse(Buffer.from(payload).toString()), {
        iss: 'TEAM123456',
        iat: 1_700_000_000,
      });
      assert.equal(decodeProtectedHeader(jwt).alg, alg);
    });
  }

  it('a signature made with another key does not verify', async () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwt = signJwt('ES256', {}, { iss: 'x' }, a.privateKey);
    await assert.rejects(compactVerify(jwt, b.publicKey), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });
});

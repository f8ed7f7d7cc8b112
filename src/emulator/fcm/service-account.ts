/** A throw-away Google service account for the emulator, in the shape of a downloaded key file. */
import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import type { ServiceAccount } from '../../providers/fcm/service-account.js';

export interface EmulatorServiceAccount {
  /** The JSON key a client is given (`token_uri` points at the emulator). */
  account: ServiceAccount & { project_id: string; private_key_id: string; token_uri: string };
  /** What the token endpoint verifies assertions with. */
  publicKey: KeyObject;
}

/** Makes an RSA-2048 service account for `projectId` whose token endpoint is `tokenUri`. */
export function generateServiceAccount(projectId: string, tokenUri: string): EmulatorServiceAccount {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientId = BigInt(`0x${randomBytes(8).toString('hex')}`).toString();
  return {
    publicKey,
    account: {
      type: 'service_account',
      project_id: projectId,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: `firebase-adminsdk-emu@${projectId}.iam.gserviceaccount.com`,
      client_id: clientId,
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: tokenUri,
    },
  };
}

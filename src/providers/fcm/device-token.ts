/**
 * The device token checks made before any request: an empty token, or a topic path given
 * as a token, fails its device at once, without a request.
 */
import type { Device } from '../../device.js';
import type { Outcome } from '../../provider.js';
import { fcmError } from './errors.js';

/** The device's registration token, or the outcome for a token FCM would refuse. */
export function deviceToken(device: Device, provider: string): string | Outcome {
  const token = device?.token;
  if (typeof token !== 'string' || token.trim() === '') {
    return unrequested(
      fcmError('invalid-token', 'the device token is empty or not a string', {
        provider,
        reason: 'MissingToken',
      }),
    );
  }
  if (token.startsWith('/topics/')) {
    return unrequested(
      fcmError(
        'bad-request',
        `${JSON.stringify(token)} is a topic, not a device token; send to a topic with \`fcm: { topic }\` in the notification`,
        { provider, reason: 'TopicAsToken' },
      ),
    );
  }
  return token;
}

function unrequested(error: ReturnType<typeof fcmError>): Outcome {
  return { ok: false, error, requested: false };
}

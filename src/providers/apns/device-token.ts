/**
 * The device token check APNs would make, done before any request: a token APNs would
 * refuse (`BadDeviceToken`) fails its device at once, without a request.
 */
import type { Device } from '../../device.js';
import type { Outcome } from '../../provider.js';
import { apnsError } from './errors.js';

/**
 * The device's token, lowercased for the path, or the outcome for a token APNs would refuse
 * (`BadDeviceToken`), decided without a request. Apple's tokens are hex; their length is not
 * fixed, so only evenness (whole bytes) is checked.
 */
export function deviceToken(device: Device): string | Outcome {
  const token: unknown = device?.token;
  let problem: string | undefined;
  if (typeof token !== 'string') {
    problem =
      token !== null && typeof token === 'object' && 'endpoint' in token
        ? 'the device token is a Web Push subscription, not an APNs device token (is the platform right?)'
        : `the device token must be a hex string; got ${token === null ? 'null' : typeof token}`;
  } else if (token === '') {
    problem = 'the device token is empty';
  } else {
    const hex = hexCase(token);
    if (hex === NOT_HEX) {
      problem = 'the device token is not hexadecimal (APNs device tokens are hex strings)';
    } else if (token.length % 2 !== 0) {
      problem = `the device token has an odd number of hex digits (${token.length}), so it is not whole bytes`;
    } else {
      return hex === UPPER ? token.toLowerCase() : token;
    }
  }
  return {
    ok: false,
    error: apnsError('invalid-token', problem, { reason: 'BadDeviceToken', retryable: false }),
    requested: false,
  };
}

const LOWER = 0;
const UPPER = 1;
const NOT_HEX = 2;

/** One pass over a token: hex or not, and whether lowercasing would change it (it rarely does). */
function hexCase(token: string): number {
  let upper = false;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 102)) continue; // 0-9 a-f
    if (c >= 65 && c <= 70)
      upper = true; // A-F
    else return NOT_HEX;
  }
  return upper ? UPPER : LOWER;
}

/**
 * The APNs dry run. APNs has no validate-only request, so a dry run is local: the
 * notification is encoded as for a send (payload size, headers), and each device gets the
 * checks a send makes before its request (token format, a signed provider token or an
 * unexpired certificate). No request.
 */
import type { Device } from '../../device.js';
import type { PushError } from '../../errors.js';
import type { Notification } from '../../notification.js';
import type { DryRun, Outcome, PreparedSend } from '../../provider.js';
import { deviceToken } from './device-token.js';
import { failed } from './errors.js';
import type { ProviderTokenCache } from './token-auth.js';

/** The provider's `dryRun`, given the preparation of one notification for checking only. */
export function localDryRun(prepareChecks: (notification: Notification) => PreparedSend): DryRun {
  return {
    mode: 'local',
    checks: 'token format, payload and headers, provider token (JWT) or certificate',
    prepare: prepareChecks,
  };
}

/**
 * One notification checked for any number of devices in a dry run. It holds no pool: it has
 * no way to send anything.
 */
export class ApnsDryRun implements PreparedSend {
  readonly #tokens: ProviderTokenCache | undefined;
  readonly #expiredCertificate: PushError | undefined;

  constructor(tokens: ProviderTokenCache | undefined, expiredCertificate: PushError | undefined) {
    this.#tokens = tokens;
    this.#expiredCertificate = expiredCertificate;
  }

  send(device: Device): Promise<Outcome> {
    const token = deviceToken(device);
    if (typeof token !== 'string') return Promise.resolve(token);
    if (this.#expiredCertificate !== undefined) {
      return Promise.resolve({ ok: false, error: this.#expiredCertificate, requested: false });
    }
    const tokens = this.#tokens;
    if (tokens === undefined || tokens.usable() !== undefined) return Promise.resolve(CHECKED_LOCALLY);
    // A provider token could not be signed so far: try once more, as a send would.
    return tokens.get().then(
      () => CHECKED_LOCALLY,
      (thrown: unknown) => ({ ...failed(thrown), requested: false }),
    );
  }
}

/** The outcome of a device that passed every check: no request was made. */
export const CHECKED_LOCALLY: Outcome = Object.freeze({ ok: true, requested: false });

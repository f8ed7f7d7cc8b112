/**
 * The Web Push dry run. Push services have no validate-only request (RFC 8030 has none), so
 * a dry run is local: the provider's own send path runs every check it makes before the
 * request — the subscription parsed, its endpoint guarded, the VAPID JWT signed for the push
 * service's origin, the message encrypted for the subscription (and discarded) within the
 * size limit — and stops there. Nothing is sent, so a subscription the push service has
 * forgotten (404/410) cannot be told apart from a live one.
 */
import type { Notification } from '../../notification.js';
import type { DryRun, Outcome, PreparedSend } from '../../provider.js';

/** The outcome of a device that passed every check: no request was made. */
export const CHECKED_LOCALLY: Outcome = Object.freeze({ ok: true, requested: false });

/** The provider's `dryRun`, given its send path with the request switched off. */
export function localDryRun(prepareWithoutRequest: (notification: Notification) => PreparedSend): DryRun {
  return {
    mode: 'local',
    checks: 'subscription, endpoint, VAPID signature, encryption and size',
    prepare: prepareWithoutRequest,
  };
}

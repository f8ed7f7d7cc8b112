/**
 * The FCM dry run is remote: FCM checks a message sent with `validate_only: true` as it would
 * a real one (token, message, credentials) and delivers nothing. The provider's own send
 * path runs with that flag set (`MessageTemplate`); an accepted message is reported as
 * validated, not delivered.
 */
import type { Notification } from '../../notification.js';
import type { DryRun, Outcome, PreparedSend } from '../../provider.js';

/** The provider's `dryRun`, given its send path with `validate_only` set. */
export function remoteDryRun(prepareValidateOnly: (notification: Notification) => PreparedSend): DryRun {
  return {
    mode: 'remote',
    checks: 'each message by FCM with validate_only (token, message, credentials)',
    prepare: prepareValidateOnly,
  };
}

/** FCM accepted a `validate_only` message: checked, not delivered. */
export function validated(outcome: Outcome): Outcome {
  return outcome.ok ? { ...outcome, validated: true } : outcome;
}

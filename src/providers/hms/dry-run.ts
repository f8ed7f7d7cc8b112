/**
 * The dry-run path: remote. Huawei checks a message sent with `validate_only: true` as it
 * would a real one (tokens included) and delivers nothing; its successes are `validated`.
 */
import type { Notification } from '../../notification.js';
import type { DryRun, Outcome, PreparedSend } from '../../provider.js';

export function hmsDryRun(prepareValidateOnly: (notification: Notification) => PreparedSend): DryRun {
  return {
    mode: 'remote',
    checks: 'each batch by Huawei with validate_only (tokens, message, credentials)',
    prepare: prepareValidateOnly,
  };
}

/** Huawei accepted a `validate_only` request: checked, not delivered. */
export function validated(outcome: Outcome): Outcome {
  return outcome.ok ? { ...outcome, validated: true } : outcome;
}

/**
 * The dry-run path: remote. Huawei checks a message sent with `validate_only: true` as it
 * would a real one (tokens included) and delivers nothing; its successes are `validated`.
 */
import type { Notification } from '../../notification.js';
import type { DryRun, PreparedSend } from '../../provider.js';

export function hmsDryRun(prepareValidateOnly: (notification: Notification) => PreparedSend): DryRun {
  return {
    mode: 'remote',
    checks: 'each batch by Huawei with validate_only (tokens, message, credentials)',
    prepare: prepareValidateOnly,
  };
}

/**
 * A dry run delivers nothing, on every provider (DESIGN.md, "Outcomes are facts"). This is
 * the engine's half of that promise: in a dry run a lane is prepared through the provider's
 * dry-run path, never through `prepare()`, and a provider without one fails closed.
 */
import { PushError } from '../errors.js';
import type { Notification } from '../notification.js';
import type { DryRun, PreparedSend, Provider } from '../provider.js';

/**
 * The provider's dry-run sends for this notification. Throws a `config` PushError (which
 * fails every device of the lane without a request) when the provider cannot dry-run.
 */
export function prepareDryRun(provider: Provider, notification: Notification): PreparedSend {
  return checkDryRun(provider).prepare(notification);
}

/** The provider's dry-run path, or the `config` PushError saying it has none (thrown). */
export function checkDryRun(provider: Provider): DryRun {
  const dryRun = provider.dryRun;
  if (dryRun === undefined || dryRun === null || typeof dryRun.prepare !== 'function') {
    throw new PushError(
      'config',
      `${provider.name} cannot dry-run: it has no way to check a notification without delivering it, so none of its devices was sent`,
      { provider: provider.name, reason: 'DryRunUnsupported' },
    );
  }
  return dryRun;
}

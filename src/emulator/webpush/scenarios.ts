/**
 * Scenarios: how the emulated push service answers for one subscription besides accepting,
 * set at run time per subscription (`emulator.setScenario`), so a test meets the push
 * services' failure modes on purpose: gone, expired, rate limited, too large, 5xx bursts.
 * Deterministic: the attempt number since the scenario was set decides.
 */

/** How the push service answers for one subscription, set at runtime. */
export type SubscriptionScenario =
  /** 410 Gone: the user unsubscribed. */
  | { kind: 'gone' }
  /** 404 Not Found: the subscription expired or never existed. */
  | { kind: 'not-found' }
  /** 429 for the first `times` attempts (counted from when the scenario is set), then normal. */
  | { kind: 'rate-limited'; times: number; retryAfterSeconds?: number }
  /** 413 for every message. */
  | { kind: 'too-large' }
  /** `status` (default 503) for the first `times` attempts, with an optional Retry-After. */
  | { kind: 'server-error'; times: number; status?: number; retryAfterSeconds?: number };

/** A refusal the scenario makes: the HTTP status, the reason and message of the JSON body, extra headers. */
export interface ScenarioRefusal {
  status: number;
  reason: string;
  message: string;
  headers?: Record<string, string>;
}

/**
 * What `scenario` answers to the `attempt`-th request (1 for the first) since it was set, or
 * undefined when it lets the request through (a burst that is over).
 */
export function scenarioRefusal(
  scenario: SubscriptionScenario,
  attempt: number,
): ScenarioRefusal | undefined {
  switch (scenario.kind) {
    case 'gone':
      return { status: 410, reason: 'Gone', message: 'the subscription has been removed' };
    case 'not-found':
      return { status: 404, reason: 'NotFound', message: 'the subscription has expired' };
    case 'too-large':
      return {
        status: 413,
        reason: 'PayloadTooLarge',
        message: 'the message is too large for this push service',
      };
    case 'rate-limited':
      if (attempt > scenario.times) return undefined;
      return {
        status: 429,
        reason: 'TooManyRequests',
        message: 'too many messages for this subscription',
        headers: { 'retry-after': String(scenario.retryAfterSeconds ?? 1) },
      };
    case 'server-error':
      if (attempt > scenario.times) return undefined;
      return {
        status: scenario.status ?? 503,
        reason: 'ServiceUnavailable',
        message: 'the push service is unavailable',
        ...(scenario.retryAfterSeconds === undefined
          ? {}
          : { headers: { 'retry-after': String(scenario.retryAfterSeconds) } }),
      };
  }
}

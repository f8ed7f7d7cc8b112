/**
 * Blaming the right party when a push service says no (DESIGN.md, "Strangers write some of
 * our input"). A subscription's endpoint is chosen by a browser or by an attacker, so what
 * one origin answers is evidence about that origin, not about our credentials:
 *
 * - **Per-origin circuit.** An origin whose answers are `vapid` (401/403 that is not a key
 *   mismatch), `tls` (certificate not trusted), `proxy` (our proxy will not tunnel to it) or
 *   `malformed` (garbage, redirects, odd statuses) `failures` times in a row — no answer of a
 *   working push service in between — is *open*: its devices fail at once, without a request,
 *   with an error naming the origin, for `cooldownMs`. Then one device goes through as a probe:
 *   an answer of a working push service closes the circuit; another fault reopens it for twice
 *   the cooldown (at most `maxCooldownMs`). Honest push services answer 201 to most requests,
 *   so their counters keep being reset; only an origin that keeps refusing opens.
 * - **Lane stop.** Only evidence that *our* VAPID key (or our TLS trust store) is wrong may stop
 *   the lane: the circuits of at least {@link SERVICES_TO_STOP_LANE} independent *well-known*
 *   push services open for the same fault. "Independent" means run by different parties:
 *   FCM (Google), Mozilla autopush, Apple Web Push and Microsoft WNS, recognised by host
 *   suffix (`pushServices` replaces the list, for a private deployment or a test). Counting
 *   distinct origins would not do: anyone can register subscriptions on as many hosts and
 *   domains as they like, each answering 403, and so stop everyone's notifications. Two and not
 *   one, because anyone may also point an endpoint at a well-known host on a path it answers
 *   401 to (FCM's own HTTP v1 API does, for a VAPID header); making two vendors refuse a key
 *   they accept for honest subscribers, with no honest acceptance in between, is much harder.
 *   The price: a sender whose subscribers are all on one push service never gets the lane
 *   stopped for a wrong key, but that service's circuit opens after `failures` refusals, so
 *   its devices fail fast (with a message that says to check the key) rather than a million
 *   requests being refused.
 */
import { PushError, type PushErrorCode } from '../../errors.js';
import { configError } from './errors.js';
import type { OriginVerdict } from './responses.js';

/** A fault: an answer that counts against the origin that gave it. */
export type OriginFault = Extract<OriginVerdict, 'vapid' | 'tls' | 'malformed' | 'proxy'>;

/**
 * Host suffixes of the push services browsers use, one entry per independent operator:
 * Chrome and most Chromium browsers (fcm.googleapis.com), Firefox
 * (updates.push.services.mozilla.com), Safari (web.push.apple.com), Edge (*.notify.windows.com).
 */
export const WELL_KNOWN_PUSH_SERVICES: readonly string[] = [
  'fcm.googleapis.com',
  'push.services.mozilla.com',
  'push.apple.com',
  'notify.windows.com',
];

/** Independent well-known push services that must refuse the same way before the lane stops. */
export const SERVICES_TO_STOP_LANE = 2;

const FAULT_CODE: Record<OriginFault, PushErrorCode> = {
  vapid: 'bad-request',
  malformed: 'unavailable',
  proxy: 'bad-request',
  tls: 'unavailable',
};

const FAULT_WORDS: Record<OriginFault, string> = {
  vapid: 'refused our VAPID authorization',
  tls: 'failed TLS verification',
  malformed: 'answered like no push service does',
  proxy: 'was refused by the proxy',
};

/** Origins remembered at once; the oldest closed ones are forgotten first. */
const MAX_ORIGINS = 4096;

export interface OriginCircuitOptions {
  /** Faults in a row that open an origin's circuit. Default 5. */
  failures?: number;
  /** How long an open origin fails fast before one probe request. Default 10 s. */
  cooldownMs?: number;
  /** Longest cooldown after failed probes (the cooldown doubles per failed probe). Default 5 min. */
  maxCooldownMs?: number;
  /**
   * Push services whose refusals count as evidence against our own credentials: host suffixes
   * (`fcm.googleapis.com` matches itself and its subdomains) or exact origins
   * (`https://127.0.0.1:8443`). Each entry is one independent service. Default
   * {@link WELL_KNOWN_PUSH_SERVICES}.
   */
  pushServices?: readonly string[];
  now?: () => number;
}

interface OriginState {
  /** Faults in a row since the last answer of a working push service. */
  consecutive: number;
  /** The fault that opened the circuit (or the last one counted). */
  fault: OriginFault | undefined;
  last: PushError | undefined;
  /** 0 while closed; while open, the time from which one probe may go through. */
  openUntil: number;
  open: boolean;
  /** The fault that opened the circuit (what the lane-stop evidence counts). */
  openFault: OriginFault | undefined;
  probing: boolean;
  cooldownMs: number;
  /** The well-known service this origin belongs to, if any. */
  service: string | undefined;
}

/** What `admit` decides for one device: send (maybe as the probe), or fail now. */
export type Admission = { probe: boolean } | { error: PushError };

export class OriginCircuits {
  readonly #failures: number;
  readonly #cooldownMs: number;
  readonly #maxCooldownMs: number;
  readonly #services: ReadonlyArray<{ name: string; origin: boolean }>;
  readonly #now: () => number;
  readonly #provider: string;
  readonly #origins = new Map<string, OriginState>();
  /** Per fault kind: open origins per well-known service. */
  readonly #openByService = new Map<OriginFault, Map<string, number>>();
  #laneStop: PushError | undefined;
  #laneStopFault: OriginFault | undefined;

  constructor(provider: string, options: OriginCircuitOptions = {}) {
    this.#provider = provider;
    this.#failures = positiveInteger('originCircuit.failures', options.failures, 5);
    this.#cooldownMs = positiveInteger('originCircuit.cooldownMs', options.cooldownMs, 10_000);
    this.#maxCooldownMs = Math.max(
      this.#cooldownMs,
      positiveInteger('originCircuit.maxCooldownMs', options.maxCooldownMs, 300_000),
    );
    const services = options.pushServices ?? WELL_KNOWN_PUSH_SERVICES;
    if (!Array.isArray(services) || services.some((entry) => typeof entry !== 'string' || entry === '')) {
      throw configError('pushServices must be an array of host suffixes or origins');
    }
    this.#services = services.map((entry) => {
      const lower = entry.toLowerCase().replace(/\/+$/, '');
      return { name: lower, origin: lower.includes('://') };
    });
    this.#now = options.now ?? Date.now;
  }

  /** The well-known service an origin (`https://host:port`) belongs to, if any. */
  serviceOf(origin: string): string | undefined {
    const lower = origin.toLowerCase();
    let host: string;
    try {
      host = new URL(lower).hostname.replace(/\.$/, '');
    } catch {
      return undefined;
    }
    for (const { name, origin: isOrigin } of this.#services) {
      if (isOrigin ? lower === name : host === name || host.endsWith(`.${name}`)) return name;
    }
    return undefined;
  }

  /** Decides, before any work, whether a device of `origin` is sent. */
  admit(origin: string): Admission {
    const state = this.#origins.get(origin);
    if (state?.open && !state.probing && this.#now() >= state.openUntil) {
      state.probing = true;
      return { probe: true };
    }
    if (this.#laneStop !== undefined) return { error: this.#laneStop };
    if (state?.open) return { error: this.#openError(origin, state) };
    return { probe: false };
  }

  /**
   * Records what a request to `origin` showed. Returns the lane-stopping error when this
   * answer completed the evidence against our own credentials.
   */
  record(
    origin: string,
    verdict: OriginVerdict,
    error: PushError | undefined,
    probe: boolean,
  ): PushError | undefined {
    let state = this.#origins.get(origin);
    if (verdict === 'neutral') {
      if (probe && state) state.probing = false; // says nothing: the next device probes again
      return undefined;
    }
    if (verdict === 'ok') {
      if (state === undefined) return undefined;
      if (state.open) this.#close(state);
      state.consecutive = 0;
      state.probing = false;
      state.cooldownMs = this.#cooldownMs;
      return undefined;
    }
    if (state === undefined) state = this.#add(origin);
    state.consecutive++;
    state.fault = verdict;
    state.last = error;
    if (probe) {
      state.probing = false;
      state.cooldownMs = Math.min(this.#maxCooldownMs, state.cooldownMs * 2);
      if (state.open) state.openUntil = this.#now() + state.cooldownMs;
    }
    if (!state.open && state.consecutive >= this.#failures) this.#openCircuit(state);
    return verdict === this.#laneStopFault ? this.#laneStop : undefined;
  }

  /** A probe that ended without an answer (aborted, threw): the next device probes instead. */
  release(origin: string, probe: boolean): void {
    if (!probe) return;
    const state = this.#origins.get(origin);
    if (state) state.probing = false;
  }

  #add(origin: string): OriginState {
    if (this.#origins.size >= MAX_ORIGINS) {
      let victim: string | undefined;
      for (const [key, old] of this.#origins) {
        if (!old.open) {
          victim = key;
          break;
        }
      }
      victim ??= this.#origins.keys().next().value;
      const old = victim === undefined ? undefined : this.#origins.get(victim);
      if (old?.open) this.#close(old);
      if (victim !== undefined) this.#origins.delete(victim);
    }
    const state: OriginState = {
      consecutive: 0,
      fault: undefined,
      last: undefined,
      openUntil: 0,
      open: false,
      openFault: undefined,
      probing: false,
      cooldownMs: this.#cooldownMs,
      service: this.serviceOf(origin),
    };
    this.#origins.set(origin, state);
    return state;
  }

  #openCircuit(state: OriginState): void {
    state.open = true;
    state.openFault = state.fault;
    state.openUntil = this.#now() + state.cooldownMs;
    if (state.service === undefined || (state.fault !== 'vapid' && state.fault !== 'tls')) return;
    const byService = this.#openByService.get(state.fault) ?? new Map<string, number>();
    this.#openByService.set(state.fault, byService);
    byService.set(state.service, (byService.get(state.service) ?? 0) + 1);
    this.#updateLaneStop();
  }

  #close(state: OriginState): void {
    state.open = false;
    state.openUntil = 0;
    const fault = state.openFault;
    state.openFault = undefined;
    const byService = fault === undefined ? undefined : this.#openByService.get(fault);
    if (byService !== undefined && state.service !== undefined) {
      const count = (byService.get(state.service) ?? 1) - 1;
      if (count > 0) byService.set(state.service, count);
      else byService.delete(state.service);
      this.#updateLaneStop();
    }
  }

  #updateLaneStop(): void {
    this.#laneStop = undefined;
    this.#laneStopFault = undefined;
    for (const fault of ['vapid', 'tls'] as const) {
      const services = [...(this.#openByService.get(fault)?.keys() ?? [])];
      if (services.length < SERVICES_TO_STOP_LANE) continue;
      const last = this.#lastErrorFor(fault);
      const detail = last === undefined ? '' : ` (last answer: ${last.message})`;
      this.#laneStop =
        fault === 'vapid'
          ? new PushError(
              'auth',
              `our VAPID key is refused by ${services.length} independent push services (${services.join(', ')}): check vapid.publicKey, vapid.privateKey and vapid.subject${detail}`,
              {
                reason: last?.reason ?? 'vapid-refused',
                httpStatus: last?.httpStatus,
                provider: this.#provider,
              },
            )
          : new PushError(
              'config',
              `TLS verification fails with ${services.length} independent push services (${services.join(', ')}): if a TLS-inspecting proxy sits in between, give its CA in \`ca\`${detail}`,
              { reason: last?.reason ?? 'tls', provider: this.#provider },
            );
      this.#laneStopFault = fault;
      return;
    }
  }

  #lastErrorFor(fault: OriginFault): PushError | undefined {
    let last: PushError | undefined;
    for (const state of this.#origins.values()) {
      if (state.open && state.openFault === fault && state.service !== undefined) last = state.last ?? last;
    }
    return last;
  }

  #openError(origin: string, state: OriginState): PushError {
    const fault = state.openFault ?? 'malformed';
    const last = state.last;
    const hint =
      fault === 'vapid' && state.service !== undefined
        ? `; ${state.service} is a well-known push service: if it keeps refusing, check vapid.publicKey, vapid.privateKey and vapid.subject`
        : '';
    // The code the origin's own answers got (the fault's usual code if that one would stop the lane).
    const code = last !== undefined && !last.stopsLane ? last.code : FAULT_CODE[fault];
    return new PushError(
      code,
      `push service ${origin} ${FAULT_WORDS[fault]} ${state.consecutive} times in a row; its subscriptions fail without a request for now (the other push services go on)${hint}${last === undefined ? '' : ` (last answer: ${last.message})`}`,
      {
        reason: last?.reason ?? fault,
        httpStatus: last?.httpStatus,
        retryable: false,
        provider: this.#provider,
      },
    );
  }
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw configError(`${name} must be a whole number ≥ 1, got ${value}`);
  }
  return value;
}

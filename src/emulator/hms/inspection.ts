/**
 * What the HMS emulator saw, for tests to check: every send request's outcome counted, and per
 * token how often it was in a request and how often it was delivered — so a test can prove that
 * no token that succeeded was ever sent again.
 */
import type { SendTarget } from './validate.js';

/** One send the emulator accepted (80000000 or 80100000). */
export interface AcceptedHmsMessage {
  /** The `requestId` answered. */
  requestId: string;
  target: SendTarget;
  /** The message as received (with its target). */
  message: Record<string, unknown>;
  validateOnly: boolean;
  /** Of the request's tokens, those delivered (all but the dead ones; none when validate-only). */
  delivered: number;
  receivedAt: Date;
}

export interface HmsEmulatorStats {
  /** Requests to the send endpoint (all outcomes). */
  sendRequests: number;
  /** Answers by result code (`80000000`, `80100000`, …; `503` for flow control). */
  byCode: Record<string, number>;
  /** Answers by HTTP status. */
  byStatus: Record<number, number>;
  /** Tokens delivered, summed over requests (validate-only ones excluded; in sink mode not counted). */
  tokensDelivered: number;
  /** Tokens answered as invalid (listed in `illegal_tokens`, or in an 80300007 request). */
  tokensRejected: number;
  /**
   * Tokens carried by a send request after they had been delivered, whatever that request's
   * answer (refused, throttled, internal error or delivered; validate-only requests aside): 0
   * for a client that never re-sends to a token that succeeded. Not counted in sink mode.
   */
  tokensResentAfterDelivery: number;
  /** Requests to the OAuth endpoint. */
  tokenRequests: number;
  tokensIssued: number;
  tokenRejections: number;
}

export function emptyStats(): HmsEmulatorStats {
  return {
    sendRequests: 0,
    byCode: {},
    byStatus: {},
    tokensDelivered: 0,
    tokensRejected: 0,
    tokensResentAfterDelivery: 0,
    tokenRequests: 0,
    tokensIssued: 0,
    tokenRejections: 0,
  };
}

export class Inspection {
  stats = emptyStats();
  recorded: AcceptedHmsMessage[] = [];
  /** Token → requests that carried it (checked ones: past auth and validation). */
  readonly attempts = new Map<string, number>();
  /** Token → times delivered. */
  readonly deliveries = new Map<string, number>();

  constructor(private readonly maxRecorded: number) {}

  answered(status: number, code: string): void {
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1;
    this.stats.byCode[code] = (this.stats.byCode[code] ?? 0) + 1;
  }

  carried(tokens: readonly string[]): void {
    for (const token of tokens) this.attempts.set(token, (this.attempts.get(token) ?? 0) + 1);
  }

  /** A send request (any answer to come) carries `tokens`: counts those already delivered. */
  requested(tokens: readonly string[]): void {
    for (const token of tokens) if (this.deliveries.has(token)) this.stats.tokensResentAfterDelivery++;
  }

  delivered(tokens: readonly string[]): void {
    for (const token of tokens) this.deliveries.set(token, (this.deliveries.get(token) ?? 0) + 1);
    this.stats.tokensDelivered += tokens.length;
  }

  record(message: AcceptedHmsMessage): void {
    if (this.maxRecorded <= 0) return;
    this.recorded.push(message);
    if (this.recorded.length > this.maxRecorded)
      this.recorded.splice(0, this.recorded.length - this.maxRecorded);
  }

  reset(): void {
    this.stats = emptyStats();
    this.recorded = [];
    this.attempts.clear();
    this.deliveries.clear();
  }
}

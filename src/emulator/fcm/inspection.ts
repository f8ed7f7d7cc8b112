/**
 * What the FCM emulator saw, for tests to check: accepted messages (bounded), counts of the
 * send, token and topic endpoints' answers, and per token how many send and topic requests
 * carried it (the scenarios' "first K attempts" count these).
 */
import type { SendTarget } from './validate.js';

/** One message the emulator accepted. */
export interface AcceptedFcmMessage {
  /** `projects/<id>/messages/<id>`, as answered. */
  name: string;
  target: SendTarget;
  /** The message as received (with its target). */
  message: Record<string, unknown>;
  validateOnly: boolean;
  receivedAt: Date;
  /**
   * A topic send's recipients: the tokens subscribed to its topic (through `/iid/v1:batchAdd`)
   * when it was accepted, none for a `validate_only` one. Absent for token and condition sends.
   */
  recipients?: readonly string[];
}

export interface FcmEmulatorStats {
  /** Requests to the send endpoint (all outcomes). */
  sendRequests: number;
  /** Sends answered 200 (validate_only ones included). */
  accepted: number;
  /**
   * Of `accepted`, the messages that would reach a device: `validate_only` ones are checked and
   * answered like the others but never delivered, as FCM does. (In sink mode, every 200.)
   */
  delivered: number;
  /** Send answers by HTTP status. */
  byStatus: Record<number, number>;
  /** Send error answers by FCM errorCode (or rpc status when there is no errorCode). */
  byErrorCode: Record<string, number>;
  /** Requests to the OAuth token endpoint. */
  tokenRequests: number;
  /** Access tokens issued. */
  tokensIssued: number;
  /** Token requests refused (bad signature, wrong claims…). */
  tokenRejections: number;
  /** Requests to the topic API (`/iid/v1:batchAdd`, `/iid/v1:batchRemove`), all outcomes. */
  topicRequests: number;
  /** Tokens the topic API answered done (subscribed or unsubscribed). */
  topicTokensDone: number;
  /** Tokens the topic API answered with a per-token error, by error word. */
  topicErrors: Record<string, number>;
}

export function emptyStats(): FcmEmulatorStats {
  return {
    sendRequests: 0,
    accepted: 0,
    delivered: 0,
    byStatus: {},
    byErrorCode: {},
    tokenRequests: 0,
    tokensIssued: 0,
    tokenRejections: 0,
    topicRequests: 0,
    topicTokensDone: 0,
    topicErrors: {},
  };
}

export class Inspection {
  stats = emptyStats();
  recorded: AcceptedFcmMessage[] = [];
  /** Token → send requests that named it (past auth and validation). */
  readonly attempts = new Map<string, number>();
  /** Token → topic requests that carried it. */
  readonly topicAttempts = new Map<string, number>();

  constructor(private readonly maxRecorded: number) {}

  /** A send answered: counted by status, and as accepted (and delivered) or by its error code. */
  answered(status: number, code: string | undefined, validateOnly: boolean): void {
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1;
    if (status === 200) {
      this.stats.accepted++;
      if (!validateOnly) this.stats.delivered++;
    } else if (code) this.stats.byErrorCode[code] = (this.stats.byErrorCode[code] ?? 0) + 1;
  }

  /** Counts one more send request for `token`; returns which attempt it is (1 for the first). */
  attempt(token: string): number {
    const attempt = (this.attempts.get(token) ?? 0) + 1;
    this.attempts.set(token, attempt);
    return attempt;
  }

  /** The same for the topic API. */
  topicAttempt(token: string): number {
    const attempt = (this.topicAttempts.get(token) ?? 0) + 1;
    this.topicAttempts.set(token, attempt);
    return attempt;
  }

  record(message: AcceptedFcmMessage): void {
    this.recorded.push(message);
    if (this.recorded.length > this.maxRecorded)
      this.recorded.splice(0, this.recorded.length - this.maxRecorded);
  }

  reset(): void {
    this.stats = emptyStats();
    this.recorded = [];
    this.attempts.clear();
    this.topicAttempts.clear();
  }
}

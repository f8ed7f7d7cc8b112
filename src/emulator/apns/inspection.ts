/**
 * What the emulator saw: accepted notifications (bounded), counts by status and reason,
 * attempts per device token, connections and provider tokens.
 */
import type { PushType } from './validate.js';

/** One notification the emulator accepted (answered 200). */
export interface AcceptedNotification {
  token: string;
  topic: string;
  /** The app the topic belongs to (topic without its push-type suffix). */
  bundleId: string;
  pushType: PushType;
  priority: 1 | 5 | 10;
  /** The apns-id answered (the request's, or the one the emulator made). */
  apnsId: string;
  expiration: number | undefined;
  collapseId: string | undefined;
  /** Every request header except pseudo-headers and `authorization`. */
  headers: Record<string, string>;
  payload: Record<string, unknown>;
  /** Which connection it came on (1, 2, ... in order of opening). */
  connectionId: number;
  /** Emulator clock, ms. */
  receivedAt: number;
}

/** A snapshot of the counters. */
export interface ApnsEmulatorStats {
  /** Requests answered (any status), refused GOAWAY streams excluded. */
  requests: number;
  accepted: number;
  byStatus: Record<number, number>;
  byReason: Record<string, number>;
  connections: number;
  /** Distinct valid provider tokens verified. */
  providerTokens: number;
  /** Accepted provider-token changes on a live connection. */
  providerTokenRefreshes: number;
  /** GOAWAY frames sent by the `goAway` scenario. */
  goAways: number;
  /** Streams refused because they came after a GOAWAY's last-stream-id. */
  refusedStreams: number;
  /** TLS clients dropped for a certificate not issued by the emulator's CA (certificate mode). */
  rejectedClientCertificates: number;
}

export class Recorder {
  private readonly kept: AcceptedNotification[] = [];
  private readonly attemptsByToken = new Map<string, number>();
  requests = 0;
  accepted = 0;
  byStatus: Record<number, number> = {};
  byReason: Record<string, number> = {};
  connections = 0;
  goAways = 0;
  refusedStreams = 0;
  rejectedClientCertificates = 0;

  constructor(private readonly cap: number) {}

  /** Counts an attempt to `token` and returns its number (1-based). */
  attempt(token: string): number {
    const n = (this.attemptsByToken.get(token) ?? 0) + 1;
    this.attemptsByToken.set(token, n);
    return n;
  }

  attempts(token: string): number {
    return this.attemptsByToken.get(token) ?? 0;
  }

  answered(status: number, reason: string | undefined): void {
    this.requests++;
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    if (reason !== undefined) this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
  }

  accept(notification: AcceptedNotification): void {
    this.accepted++;
    if (this.cap <= 0) return;
    // Keep the most recent ones: a long run shows its tail, memory stays bounded. Trimming
    // in halves keeps each accept O(1) amortised.
    if (this.kept.length >= this.cap * 2) this.kept.splice(0, this.kept.length - this.cap);
    this.kept.push(notification);
  }

  /** The last `cap` accepted notifications, oldest first. */
  notifications(): AcceptedNotification[] {
    return this.kept.slice(-this.cap);
  }

  reset(): void {
    this.kept.length = 0;
    this.attemptsByToken.clear();
    this.requests = 0;
    this.accepted = 0;
    this.byStatus = {};
    this.byReason = {};
    this.connections = 0;
    this.goAways = 0;
    this.refusedStreams = 0;
    this.rejectedClientCertificates = 0;
  }
}

/**
 * What a benchmark client needs to reach the sink: written once by the runner to a JSON file,
 * read by every client process (clients and the sink never share a process).
 */
import { readFileSync } from 'node:fs';
import type { ServiceAccount } from '../../src/providers/fcm/service-account.js';

export interface WebPushSubscriptionJson {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface BenchTarget {
  /** Which sink answers: nginx (HTTP/2 + TLS, returns fixed answers) or pushline's emulators in sink mode. */
  sink: 'nginx' | 'emulator' | 'delay';
  apns: {
    origin: string;
    host: string;
    port: number;
    teamId: string;
    keyId: string;
    /** PKCS#8 PEM of a P-256 key (the `.p8`). */
    key: string;
    topic: string;
    /** PEM of the CA that signed this sink's certificate. */
    ca: string;
  };
  fcm: {
    origin: string;
    /** Service account JSON whose `token_uri` points at the sink. */
    serviceAccount: ServiceAccount;
    ca: string;
  };
  webpush: {
    vapid: { subject: string; publicKey: string; privateKey: string };
    allowHosts: string[];
    /** Distinct subscriptions; devices cycle through them (each send is still encrypted afresh). */
    subscriptions: WebPushSubscriptionJson[];
    ca: string;
  };
}

export function readTarget(path: string): BenchTarget {
  return JSON.parse(readFileSync(path, 'utf8')) as BenchTarget;
}

/** 64 hex digits, distinct per i: an APNs-shaped device token. */
export function hexToken(i: number): string {
  return i.toString(16).padStart(64, '0');
}

/** The alert every contender sends: an `aps` payload of about 100 bytes. */
export const ALERT = {
  title: 'Your order shipped',
  body: 'Parcel 4711 left the warehouse and arrives on Tuesday.',
} as const;

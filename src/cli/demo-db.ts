/**
 * The demo's SQLite database: N devices across iOS (APNs), Android (FCM), Huawei (HMS) and web
 * (Web Push subscriptions issued by the emulator), with a realistic share of dead ones. Which are dead
 * is decided here, by the emulators' own scenarios, and written to the `demo_dead` table so
 * anyone (the tests, a curious user with `sqlite3`) can check that exactly those rows go.
 *
 *   iOS      the APNs emulator's `unregistered: { rate }` scenario, a hash of the token
 *            (`classify(token)` says which) → 410 Unregistered
 *   Android  tokens picked by a seeded hash, given to the FCM emulator → 404 UNREGISTERED
 *   Huawei   tokens picked by a seeded hash, given to the HMS emulator → listed in
 *            `illegal_tokens` of a partial success (80100000)
 *   web      subscriptions picked by a hash and unsubscribed in the emulator → 410 Gone
 */
import { createHash } from 'node:crypto';
import type { Platform } from '../device.js';
import { tokenFraction } from '../emulator/apns/scenarios.js';
import type { Emulator } from '../emulator/index.js';
import { sqliteDriver } from '../stores/drivers.js';

export interface DemoShares {
  /** Share of all devices that are web subscriptions. */
  web: number;
  /** Share of all devices that are Huawei phones (HMS); the rest are iOS and Android, half each. */
  huawei: number;
  /** Dead shares per platform. */
  deadIos: number;
  deadAndroid: number;
  deadWeb: number;
  deadHuawei: number;
}

export const DEFAULT_SHARES: DemoShares = {
  web: 0.1,
  huawei: 0.1,
  deadIos: 0.03,
  deadAndroid: 0.02,
  deadWeb: 0.02,
  deadHuawei: 0.02,
};

export type PlatformCounts = Record<'ios' | 'android' | 'web' | 'huawei', number>;

export interface DemoDatabase {
  devices: PlatformCounts;
  dead: PlatformCounts;
}

const digest = (text: string, algorithm = 'sha256') => createHash(algorithm).update(text).digest();

/** Creates the tables and rows in a new file; the emulator's scenarios must already be set for APNs. */
export function createDemoDatabase(
  path: string,
  count: number,
  emulator: Emulator,
  options: { shares?: DemoShares; seed?: number } = {},
): DemoDatabase {
  const shares = options.shares ?? DEFAULT_SHARES;
  const seed = options.seed ?? 1;
  const db = new (sqliteDriver())(path);
  try {
    db.pragma('journal_mode = WAL');
    db.exec(`
      CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL,
        platform TEXT NOT NULL,
        token TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE demo_dead (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        scenario TEXT NOT NULL
      );`);
    const insert = db.prepare(
      'INSERT INTO devices (id, user_id, platform, token, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    const markDead = db.prepare('INSERT INTO demo_dead (id, platform, scenario) VALUES (?, ?, ?)');
    const devices: PlatformCounts = { ios: 0, android: 0, web: 0, huawei: 0 };
    const dead: PlatformCounts = { ios: 0, android: 0, web: 0, huawei: 0 };
    const fcmDead: string[] = [];
    const hmsDead: string[] = [];
    // Huawei's share is taken among the devices that are not web, so that it is of the total.
    const huaweiShare = shares.web < 1 ? Math.min(1, shares.huawei / (1 - shares.web)) : 0;
    const created = new Date('2026-01-01T00:00:00Z').getTime();
    const fill = db.transaction(() => {
      let mobile = 0;
      let other = 0;
      for (let i = 0; i < count; i++) {
        const id = i + 1;
        // Web and Huawei rows spread evenly through the table, so every provider is busy all along.
        const isWeb = Math.floor((i + 1) * shares.web) > Math.floor(i * shares.web);
        const isHuawei = !isWeb && Math.floor((other + 1) * huaweiShare) > Math.floor(other++ * huaweiShare);
        const platform: Platform = isWeb
          ? 'web'
          : isHuawei
            ? 'huawei'
            : mobile++ % 2 === 0
              ? 'ios'
              : 'android';
        let token: string;
        let scenario: string | undefined;
        if (platform === 'ios') {
          token = digest(`${seed}:ios:${id}`).toString('hex');
          if (emulator.apns.classify(token) === 'unregistered') scenario = 'apns 410 Unregistered';
        } else if (platform === 'android') {
          const bytes = digest(`${seed}:android:${id}`, 'sha512');
          token = `${bytes.subarray(0, 16).toString('base64url')}:APA91b${Buffer.concat([bytes, bytes]).subarray(0, 100).toString('base64url')}`;
          if (tokenFraction(token, `demo-fcm-${seed}`) < shares.deadAndroid) {
            scenario = 'fcm 404 UNREGISTERED';
            fcmDead.push(token);
          }
        } else if (platform === 'huawei') {
          token = `IQAAAACy0${digest(`${seed}:huawei:${id}`, 'sha512').toString('base64')}`;
          if (tokenFraction(token, `demo-hms-${seed}`) < shares.deadHuawei) {
            scenario = 'hms 80100000 illegal_tokens';
            hmsDead.push(token);
          }
        } else {
          const subscription = emulator.webpush.subscribe();
          token = JSON.stringify(subscription);
          if (tokenFraction(subscription.endpoint, `demo-web-${seed}`) < shares.deadWeb) {
            emulator.webpush.unsubscribe(subscription);
            scenario = 'webpush 410 Gone';
          }
        }
        devices[platform as keyof PlatformCounts]++;
        insert.run(
          id,
          1_000_000 + (i % 997) * 1000 + i,
          platform,
          token,
          new Date(created + i * 1000).toISOString(),
        );
        if (scenario) {
          dead[platform as keyof PlatformCounts]++;
          markDead.run(id, platform, scenario);
        }
      }
    });
    fill();
    emulator.fcm.setScenarios({ unregisteredTokens: fcmDead });
    emulator.hms.setScenarios({ deadTokens: hmsDead });
    return { devices, dead };
  } finally {
    db.close();
  }
}

/** Rows left per platform. */
export function countByPlatform(path: string): PlatformCounts {
  const db = new (sqliteDriver())(path, { readonly: true });
  try {
    const counts: PlatformCounts = { ios: 0, android: 0, web: 0, huawei: 0 };
    const rows = db.prepare('SELECT platform, count(*) AS n FROM devices GROUP BY platform').all() as {
      platform: keyof PlatformCounts;
      n: number;
    }[];
    for (const row of rows) counts[row.platform] = row.n;
    return counts;
  } finally {
    db.close();
  }
}

/** Dead rows (per `demo_dead`) that are still in `devices`: 0 after a correct run. */
export function deadStillPresent(path: string): number {
  const db = new (sqliteDriver())(path, { readonly: true });
  try {
    return Number(
      db.prepare('SELECT count(*) FROM devices WHERE id IN (SELECT id FROM demo_dead)').pluck().get(),
    );
  } finally {
    db.close();
  }
}

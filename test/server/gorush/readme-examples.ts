/**
 * Every `POST /api/push` example of gorush's README (v1.22), with what gorush answers
 * (`counts`), the devices of each pushline send it makes, and what each send delivers, worked
 * out by hand from gorush's builders (`notify/notification_apns.go` with apns2's payload
 * builder, `notification_fcm.go` with firebase-admin-go, `notification_hms.go` with
 * go-hms-push). Shared by the route, emulator and spawned-server tests.
 *
 * README tokens such as `token_a` are not APNs tokens (64 hex digits): a test that delivers
 * to the APNs emulator maps them with {@link apnsToken}.
 */
import { createHash } from 'node:crypto';

/** What one send of an example delivers. */
export interface ExpectedDelivery {
  /** The APNs payload each device receives. */
  apns?: Record<string, unknown>;
  /** The `apns-push-type` when not `alert`. */
  apnsPushType?: string;
  /** The FCM v1 message without its target. */
  fcm?: Record<string, unknown>;
  /** The FCM topic when the send is a topic message. */
  fcmTopic?: string;
  /** The `hms` block (HMS `message.android`, `topic`). */
  hms?: Record<string, unknown>;
}

export interface ReadmeExample {
  name: string;
  body: { notifications: Array<Record<string, unknown>> };
  /** The response's `counts`. */
  counts: number;
  /** The device tokens of each send, in order. */
  devices: string[][];
  /** What each send delivers, in the same order. */
  delivered: ExpectedDelivery[];
}

/** go-hms-push's default notification (gorush adds title/body to it). */
export const DEFAULT_HMS_NOTIFICATION = {
  default_sound: true,
  importance: 'NORMAL',
  click_action: { type: 1, action: 'Action' },
  visibility: 'PRIVATE',
  foreground_show: true,
  auto_cancel: true,
};

/** A well-formed APNs device token (64 hex digits) standing for a README token name. */
export function apnsToken(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

export const README_EXAMPLES: ReadmeExample[] = [
  {
    name: 'Quick Start',
    body: {
      notifications: [
        {
          tokens: ['your_device_token'],
          platform: 2,
          title: 'Hello World',
          message: 'Your first notification!',
        },
      ],
    },
    counts: 1,
    devices: [['your_device_token']],
    delivered: [{ fcm: { notification: { title: 'Hello World', body: 'Your first notification!' } } }],
  },
  {
    name: 'REST API Usage',
    body: {
      notifications: [
        {
          tokens: ['device_token_1', 'device_token_2'],
          platform: 2,
          title: 'Hello World',
          message: 'This is a test notification',
        },
      ],
    },
    counts: 2,
    devices: [['device_token_1', 'device_token_2']],
    delivered: [{ fcm: { notification: { title: 'Hello World', body: 'This is a test notification' } } }],
  },
  {
    name: 'iOS (APNS) API',
    body: {
      notifications: [
        { tokens: ['ios_device_token'], platform: 1, title: 'Hello iOS', message: 'Hello World iOS!' },
      ],
    },
    counts: 1,
    devices: [['ios_device_token']],
    delivered: [{ apns: { aps: { alert: { title: 'Hello iOS', body: 'Hello World iOS!' } } } }],
  },
  {
    name: 'Android (FCM) API',
    body: {
      notifications: [
        {
          tokens: ['android_device_token'],
          platform: 2,
          title: 'Hello Android',
          message: 'Hello World Android!',
        },
      ],
    },
    counts: 1,
    devices: [['android_device_token']],
    delivered: [{ fcm: { notification: { title: 'Hello Android', body: 'Hello World Android!' } } }],
  },
  {
    name: 'Huawei (HMS) API',
    body: {
      notifications: [
        {
          tokens: ['huawei_device_token'],
          platform: 3,
          title: 'Hello Huawei',
          message: 'Hello World Huawei!',
        },
      ],
    },
    counts: 1,
    devices: [['huawei_device_token']],
    delivered: [
      {
        hms: {
          android: {
            urgency: 'NORMAL',
            ttl: '86400s',
            notification: { ...DEFAULT_HMS_NOTIFICATION, body: 'Hello World Huawei!', title: 'Hello Huawei' },
          },
        },
      },
    ],
  },
  {
    name: 'iOS with Custom Sound',
    body: {
      notifications: [
        {
          tokens: ['ios_device_token'],
          platform: 1,
          title: 'Important Alert',
          message: 'Critical notification',
          apns: { payload: { aps: { sound: { name: 'custom.wav', critical: 1, volume: 0.8 } } } },
        },
      ],
    },
    counts: 1,
    devices: [['ios_device_token']],
    delivered: [{ apns: { aps: { alert: { title: 'Important Alert', body: 'Critical notification' } } } }],
  },
  {
    name: 'Multiple Platforms',
    body: {
      notifications: [
        { tokens: ['ios_token'], platform: 1, message: 'Hello iOS!' },
        { tokens: ['android_token'], platform: 2, message: 'Hello Android!' },
      ],
    },
    counts: 2,
    devices: [['ios_token'], ['android_token']],
    delivered: [
      { apns: { aps: { alert: 'Hello iOS!' } } },
      { fcm: { notification: { body: 'Hello Android!' } } },
    ],
  },
  {
    name: 'iOS Example: normal',
    body: { notifications: [{ tokens: ['token_a', 'token_b'], platform: 1, message: 'Hello World iOS!' }] },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [{ apns: { aps: { alert: 'Hello World iOS!' } } }],
  },
  {
    name: 'iOS Example: badge and alert',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          badge: 5,
          alert: { title: 'Game Request', body: 'Bob wants to play poker', 'action-loc-key': 'PLAY' },
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [
      {
        apns: {
          aps: {
            alert: { title: 'Game Request', body: 'Bob wants to play poker', 'action-loc-key': 'PLAY' },
            badge: 5,
          },
        },
      },
    ],
  },
  {
    name: 'iOS Example: critical sound',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          message: 'You got your emails.',
          badge: 9,
          sound: { critical: 1, name: 'default', volume: 1.0 },
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [
      {
        apns: {
          aps: {
            alert: 'You got your emails.',
            badge: 9,
            sound: { critical: 1, name: 'default', volume: 1 },
          },
        },
      },
    ],
  },
  {
    name: 'iOS Example: data',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          message: 'Hello World iOS!',
          data: { key1: 'welcome', key2: 2 },
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [{ apns: { aps: { alert: 'Hello World iOS!' }, key1: 'welcome', key2: 2 } }],
  },
  {
    name: 'iOS Example: production and development',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          production: true,
          message: 'Hello World iOS Production!',
        },
        {
          tokens: ['token_a', 'token_b'],
          platform: 1,
          development: true,
          message: 'Hello World iOS Sandbox!',
        },
      ],
    },
    counts: 4,
    devices: [
      ['token_a', 'token_b'],
      ['token_a', 'token_b'],
    ],
    delivered: [
      { apns: { aps: { alert: 'Hello World iOS Production!' } } },
      { apns: { aps: { alert: 'Hello World iOS Sandbox!' } } },
    ],
  },
  {
    name: 'iOS Example: Live Activity push-to-start',
    body: {
      notifications: [
        {
          tokens: ['push_to_start_token'],
          platform: 1,
          push_type: 'liveactivity',
          topic: 'com.example.app.push-type.liveactivity',
          event: 'start',
          timestamp: 1685952000,
          'content-state': { homeScore: 0, awayScore: 0, minute: 1, period: '1H' },
          'attributes-type': 'FootballMatchAttributes',
          attributes: { homeTeam: 'Team 1', awayTeam: 'Team 2', league: 'Premier League' },
          alert: { title: 'Team 1 vs Team 2', body: 'Kick-off! The match has started.' },
        },
      ],
    },
    counts: 2,
    devices: [['push_to_start_token']],
    delivered: [
      {
        apnsPushType: 'liveactivity',
        apns: {
          aps: {
            alert: { title: 'Team 1 vs Team 2', body: 'Kick-off! The match has started.' },
            timestamp: 1685952000,
            event: 'start',
            'content-state': { homeScore: 0, awayScore: 0, minute: 1, period: '1H' },
            'attributes-type': 'FootballMatchAttributes',
            attributes: { homeTeam: 'Team 1', awayTeam: 'Team 2', league: 'Premier League' },
          },
        },
      },
    ],
  },
  {
    name: 'Android Example: normal',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 2,
          message: 'Hello World Android!',
          title: 'You got message',
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [{ fcm: { notification: { title: 'You got message', body: 'Hello World Android!' } } }],
  },
  {
    name: 'Android Example: fcm_options',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 2,
          message: 'Hello World Android!',
          title: 'You got message',
          fcm_options: { analytics_label: 'example' },
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [
      {
        fcm: {
          notification: { title: 'You got message', body: 'Hello World Android!' },
          fcm_options: { analytics_label: 'example' },
        },
      },
    ],
  },
  {
    name: 'Android Example: notification payload',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 2,
          message: 'Hello World Android!',
          title: 'You got message',
          notification: { icon: 'myicon', color: '#112244' },
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [{ fcm: { notification: { title: 'You got message', body: 'Hello World Android!' } } }],
  },
  {
    name: 'Android Example: data',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 2,
          message: 'Hello World Android!',
          title: 'You got message',
          data: { Nick: 'Mario', body: 'great match!', Room: 'PortugalVSDenmark' },
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [
      {
        fcm: {
          data: { Nick: 'Mario', body: 'great match!', Room: 'PortugalVSDenmark' },
          notification: { title: 'You got message', body: 'Hello World Android!' },
        },
      },
    ],
  },
  {
    name: 'Android Example: topic',
    body: {
      notifications: [
        { topic: 'highScores', platform: 2, message: 'This is a Firebase Cloud Messaging Topic Message' },
      ],
    },
    counts: 1,
    devices: [['highScores']],
    delivered: [
      {
        fcm: { notification: { body: 'This is a Firebase Cloud Messaging Topic Message' } },
        fcmTopic: 'highScores',
      },
    ],
  },
  {
    name: 'Huawei Example: normal',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 3,
          message: 'Hello World Huawei!',
          title: 'You got message',
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [
      {
        hms: {
          android: {
            urgency: 'NORMAL',
            ttl: '86400s',
            notification: {
              ...DEFAULT_HMS_NOTIFICATION,
              body: 'Hello World Huawei!',
              title: 'You got message',
            },
          },
        },
      },
    ],
  },
  {
    name: 'Huawei Example: notification payload',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 3,
          message: 'Hello World Huawei!',
          title: 'You got message',
          huawei_notification: { icon: 'myicon', color: '#112244' },
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [
      {
        hms: {
          android: {
            urgency: 'NORMAL',
            ttl: '86400s',
            notification: {
              icon: 'myicon',
              color: '#112244',
              click_action: { type: 1, action: 'Action' },
              body: 'Hello World Huawei!',
              title: 'You got message',
              default_sound: true,
            },
          },
        },
      },
    ],
  },
  {
    name: 'Huawei Example: huawei_data',
    body: {
      notifications: [
        {
          tokens: ['token_a', 'token_b'],
          platform: 3,
          huawei_data: "{'title' : 'Mario','message' : 'great match!', 'Room' : 'PortugalVSDenmark'}",
        },
      ],
    },
    counts: 2,
    devices: [['token_a', 'token_b']],
    delivered: [
      {
        hms: {
          android: {
            urgency: 'NORMAL',
            ttl: '86400s',
            data: "{'title' : 'Mario','message' : 'great match!', 'Room' : 'PortugalVSDenmark'}",
          },
        },
      },
    ],
  },
  {
    name: 'Huawei Example: topic',
    body: {
      notifications: [
        {
          topic: 'foo-bar',
          platform: 3,
          message: 'This is a Huawei Mobile Services Topic Message',
          title: 'You got message',
        },
      ],
    },
    counts: 1,
    devices: [['foo-bar']],
    delivered: [
      {
        hms: {
          android: {
            urgency: 'NORMAL',
            ttl: '86400s',
            notification: {
              ...DEFAULT_HMS_NOTIFICATION,
              body: 'This is a Huawei Mobile Services Topic Message',
              title: 'You got message',
            },
          },
          topic: 'foo-bar',
        },
      },
    ],
  },
];

/**
 * The sections `pushline serve` adds to `pushline.json`, declared with the one config schema:
 * `server` (the listener and the HTTP API's limits), `apiKeys` (hashes, never keys),
 * `databases` (what a send's `source` and an app's dead tokens name), and in each app its
 * `webhook` and `deadTokens`. `src/cli/serve.ts` maps the parsed values onto the server's
 * `ServerOptions` and the feedback observers' options.
 */
import {
  boolean,
  file,
  integer,
  mapOf,
  oneOf,
  type Present,
  secret,
  section,
  string,
  strings,
} from './schema.js';

/** A request budget: `max` requests per `timeWindowMs`. */
const rateLimit = (help: string) =>
  section(
    {
      max: integer({ help: 'requests per window (0: no limit)', min: 0, required: true }),
      timeWindowMs: integer({ help: 'the window', unit: 'ms', default: 60_000 }),
    },
    { help },
  );

/** `server`: where and how `pushline serve` listens. */
export const SERVER_SECTION = section(
  {
    host: string({
      help: 'address to listen on (0.0.0.0 for every interface)',
      env: 'PUSHLINE_SERVER_HOST',
      default: '127.0.0.1',
    }),
    port: integer({
      help: "port to listen on (0: any free one; gorush's is 8088)",
      env: 'PUSHLINE_SERVER_PORT',
      min: 0,
      max: 65_535,
      default: 8088,
    }),
    tls: section(
      {
        certFile: file({ help: 'the certificate chain (PEM)', required: true }),
        key: secret({
          help: 'its private key (PEM)',
          file: 'keyFile',
          fromEnv: 'keyEnv',
          required: true,
          hint: 'give the path of the PEM private key',
        }),
      },
      { help: 'TLS for the listener; without it the server speaks plain HTTP' },
    ),
    public: strings({
      help: 'routes served without an API key, e.g. ["/metrics"] behind a private network (/healthz always is)',
    }),
    rateLimit: rateLimit(
      'each API key\'s request budget (default 1200 a minute); a key\'s own "rateLimit" wins',
    ),
    bodyLimit: integer({
      help: 'largest JSON request body (default 1 MiB); NDJSON bodies are streamed',
      unit: 'bytes',
    }),
    maxInlineDevices: integer({ help: 'most devices inline in one POST /v1/sends (default 10,000)' }),
    shutdownTimeoutMs: integer({
      help: 'on SIGTERM/SIGINT, how long accepted sends get to finish before the rest is aborted (default 10,000)',
      unit: 'ms',
      min: 0,
    }),
    idempotencyTtlMs: integer({
      help: 'how long an Idempotency-Key is remembered (default 24 h)',
      unit: 'ms',
    }),
    sends: section(
      {
        concurrency: integer({
          help: "sends running at once (gorush's core.worker_num); the others wait (default 16)",
          min: 1,
        }),
        queued: integer({
          help: "sends waiting to run at most (gorush's core.queue_num); past it a request gets 503 (default 1,000)",
          min: 1,
        }),
        kept: integer({
          help: 'finished sends whose status and feedback stay readable, the oldest forgotten first (default 1,000)',
          min: 1,
        }),
      },
      {
        help: 'the in-process queue (without Redis): every gorush notification and every POST /v1/sends is a send',
      },
    ),
    gorush: section(
      {
        sync: boolean({
          help: "gorush's core.sync: POST /api/push waits for its sends and returns their failures in logs (?sync= overrides per request)",
          default: false,
        }),
        maxNotification: integer({
          help: "gorush's core.max_notification: most notifications in one POST /api/push",
          default: 100,
        }),
        maskTokens: boolean({ help: "gorush's log.hide_token: tokens masked in logs", default: true }),
      },
      { help: "gorush's API (/api/push): the settings of gorush's config it honours", presence: 'always' },
    ),
  },
  { help: 'pushline serve: the listener and the HTTP API', presence: 'always' },
);

/** One entry of `apiKeys` (its name is the key's id, logged and recorded; never the key). */
export const API_KEY_SECTION = section(
  {
    hash: string({
      help: 'the SHA-256 of the key, as pushline key prints it',
      required: true,
      pattern: /^sha256:[0-9a-f]{64}$/,
      patternHelp:
        '"sha256:" and 64 lowercase hex digits, as pushline key prints it (the key itself never goes in the config)',
    }),
    apps: strings({
      help: 'the apps the key may use, or ["*"] for every app',
      required: true,
      nonEmpty: true,
    }),
    permissions: strings({
      help: 'send (create and abort sends), read (sends, feedback, stats)',
      values: ['send', 'read'],
      required: true,
      nonEmpty: true,
    }),
    defaultApp: string({
      help: "the app of a request that names none (default: the key's app, when it has one)",
    }),
    rateLimit: rateLimit("this key's request budget, instead of server.rateLimit"),
  },
  { help: 'one API key' },
);

export const API_KEYS_MAP = mapOf(API_KEY_SECTION, {
  help: 'the API keys of pushline serve, by id (each apiKeys entry is one key); make one with pushline key',
});

/** One entry of `databases`. */
export const DATABASE_SECTION = section(
  {
    url: secret({
      help: 'sqlite:path or postgres://… (a password in it: use urlEnv)',
      inline: 'url',
      fromEnv: 'urlEnv',
      required: true,
    }),
  },
  { help: 'a database: sends may read their devices from it (source), apps apply dead tokens to it' },
);

export const DATABASES_MAP = mapOf(DATABASE_SECTION, {
  help: 'databases by name, for pushline serve (give it a read-only role for the queries of sends)',
});

/** `apps.<name>.webhook`: the app's feedback, POSTed in signed batches. */
export const WEBHOOK_SECTION = section(
  {
    url: string({ help: 'where to POST (https://, or http:// to a loopback address)', required: true }),
    secret: secret({
      help: 'the HMAC-SHA256 key the receiver checks the signature with',
      inline: 'secret',
      fromEnv: 'secretEnv',
      file: 'secretFile',
      required: true,
    }),
    statuses: strings({
      help: 'statuses to send (default invalid-token and failed)',
      values: ['sent', 'validated', 'invalid-token', 'failed'],
    }),
    batchSize: integer({ help: 'records per POST at most (default 100)' }),
    batchDelayMs: integer({ help: 'the longest a record waits for its batch (default 1,000)', unit: 'ms' }),
    timeoutMs: integer({ help: 'per try (default 10,000)', unit: 'ms' }),
    attempts: integer({ help: 'tries per batch, with backoff, on any non-2xx (default 8)' }),
  },
  { help: "the app's feedback webhook: signed JSON arrays, retried with backoff" },
);

/** `apps.<name>.deadTokens`: where the app's dead tokens are removed (or marked). */
export const DEAD_TOKENS_SECTION = section(
  {
    database: string({ help: 'a database of databases', required: true }),
    table: string({ help: 'the table holding the tokens', required: true }),
    keyColumn: string({ help: 'the column identifying a row', required: true }),
    keyField: string({ help: "the device's field holding that key (default: keyColumn)" }),
    mode: oneOf(['delete', 'mark'], { help: 'delete the row, or mark it in markColumn', default: 'delete' }),
    markColumn: string({ help: 'with mode mark: the column set to the invalidation time' }),
  },
  { help: "where the app's dead tokens are applied" },
);

/** What `pushline serve` adds to each app (extend `APP_SECTION` with these). */
export const SERVER_APP_FIELDS = { webhook: WEBHOOK_SECTION, deadTokens: DEAD_TOKENS_SECTION } as const;

export type ServerSection = Present<typeof SERVER_SECTION>;
export type ApiKeySection = Present<typeof API_KEY_SECTION>;
export type WebhookSection = Present<typeof WEBHOOK_SECTION>;
export type DeadTokensSection = Present<typeof DEAD_TOKENS_SECTION>;

/**
 * The one config schema: parsing, environment overrides, unknown fields, types and bounds,
 * secrets (never in a message, masked when printed), maps and lists, a section declared by
 * another part of pushline, and the help derived from the declarations.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  APP_SECTION,
  apnsOptions,
  CONFIG_SCHEMA,
  ConfigError,
  configReference,
  extend,
  type Field,
  fcmOptions,
  hmsConfig,
  integer,
  listOf,
  loadConfig,
  mapOf,
  oneOf,
  type Present,
  Secret,
  type Section,
  secret,
  section,
  string,
  strings,
  webPushOptions,
} from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Key material as people paste it: long base64 with all three character classes. */
const SECRET = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7Xk2Vq9ZpLr4TnYb';
const PEM = `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----\n`;

let files = 0;
/** Writes `content` (JSON unless a string) into the temp dir; returns its path. */
function write(content: unknown, name = `file-${++files}.json`): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** Parses `json` as the config file against `schema` (default: pushline's). */
function load<S extends Section = typeof CONFIG_SCHEMA>(
  json: unknown,
  env: NodeJS.ProcessEnv = {},
  schema: S = CONFIG_SCHEMA as unknown as S,
): Present<S> {
  return loadConfig(schema, write(json), env);
}

/** The ConfigError thrown by `run`; fails when it does not throw one. */
function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error}`);
    return error;
  }
  assert.fail('no ConfigError was thrown');
}

writeFileSync(join(dir, 'AuthKey.p8'), PEM);
writeFileSync(join(dir, 'ca.pem'), 'CA FROM FILE');
writeFileSync(join(dir, 'env-ca.pem'), 'CA FROM ENV');
writeFileSync(join(dir, 'vapid.txt'), `${SECRET}\n`);
writeFileSync(
  join(dir, 'sa.json'),
  JSON.stringify({ client_email: 'a@b.iam.gserviceaccount.com', private_key: PEM, project_id: 'p1' }),
);

const apns = { teamId: 'ABCDE12345', keyId: 'KEY1234567', keyFile: 'AuthKey.p8', topic: 'com.example.app' };
const webpush = { subject: 'mailto:ops@example.com', publicKey: 'BPublic', privateKeyFile: 'vapid.txt' };

describe('parsing', () => {
  test('a full file: files read relative to it, options mapped for each provider', () => {
    const config = load({
      providers: {
        apns: { ...apns, production: true, caFile: 'ca.pem', connections: 2, transport: 'node-http2' },
        fcm: { serviceAccountFile: 'sa.json', platforms: ['android', 'web'], timeoutMs: 5000 },
        webpush: {
          ...webpush,
          allowHosts: ['127.0.0.1'],
          proxyResolvesHosts: true,
          originCircuit: { failures: 3, cooldownMs: 2000 },
          pushServices: ['fcm.googleapis.com'],
          maxOrigins: 16,
          encryptionThreads: 0,
        },
      },
    });
    const apnsMapped = apnsOptions(config.providers.apns!);
    assert.equal(apnsMapped.key, PEM);
    assert.equal(apnsMapped.ca, 'CA FROM FILE');
    assert.equal(apnsMapped.production, true);
    assert.equal(apnsMapped.connections, 2);
    assert.equal(apnsMapped.transport, 'node-http2');
    const fcm = fcmOptions(config.providers.fcm!);
    assert.deepEqual(fcm.platforms, ['android', 'web']);
    assert.equal((fcm.serviceAccount as { project_id: string }).project_id, 'p1');
    assert.equal(fcm.timeoutMs, 5000);
    const web = webPushOptions(config.providers.webpush!);
    assert.equal(web.vapid.privateKey, SECRET, 'the file is read and trimmed');
    assert.deepEqual(web.originCircuit, { failures: 3, cooldownMs: 2000 });
    assert.equal(web.proxyResolvesHosts, true);
    assert.deepEqual(web.pushServices, ['fcm.googleapis.com']);
    assert.equal(web.maxOrigins, 16);
    assert.equal(web.encryptionThreads, 0);
    assert.equal(config.providers.hms, undefined);
  });

  test('the client section: lane options, with their enums', () => {
    const config = load({
      client: { window: 50, laneOverflow: 'wait', delivery: 'at-most-once', slowAnswerMs: 900 },
    });
    assert.deepEqual(config.client, {
      window: 50,
      laneOverflow: 'wait',
      delivery: 'at-most-once',
      slowAnswerMs: 900,
    });
    const error = configError(() => load({ client: { laneOverflow: 'wiat' } }));
    assert.match(
      error.message,
      /client\.laneOverflow in '.*' must be one of fail, wait \(did you mean wait\?\)/,
    );
  });

  test('hms: a plain HmsConfig, from the file or the variables', () => {
    const fromFile = load(
      { providers: { hms: { appId: '1234', clientSecretEnv: 'HMS_SECRET' } } },
      { HMS_SECRET: 's3' },
    );
    assert.deepEqual(hmsConfig(fromFile.providers.hms!), { appId: '1234', clientSecret: 's3' });
    const fromEnv = loadConfig(CONFIG_SCHEMA, undefined, {
      PUSHLINE_HMS_APP_ID: '99',
      PUSHLINE_HMS_CLIENT_ID: '98',
      PUSHLINE_HMS_CLIENT_SECRET: 'sec',
      PUSHLINE_HMS_ENDPOINT: 'https://127.0.0.1:9',
    });
    assert.deepEqual(hmsConfig(fromEnv.providers.hms!), {
      appId: '99',
      clientId: '98',
      clientSecret: 'sec',
      endpoint: 'https://127.0.0.1:9',
    });
    const missing = configError(() => loadConfig(CONFIG_SCHEMA, undefined, { PUSHLINE_HMS_APP_ID: '99' }));
    assert.match(
      missing.message,
      /providers\.hms is configured but lacks clientSecret \/ clientSecretEnv \/ clientSecretFile \(PUSHLINE_HMS_CLIENT_SECRET\)/,
    );
  });

  test('an empty file is a config without providers; a file that is not an object is refused', () => {
    assert.deepEqual(load({}).providers, {});
    assert.match(
      configError(() => load([])).message,
      /must hold a JSON object: \{ "providers": …, "apps": …/,
    );
  });
});

describe('environment variables', () => {
  test('a variable wins over the file, field by field', () => {
    const config = load({ providers: { apns } }, { PUSHLINE_APNS_TOPIC: 'com.example.other' });
    assert.equal(config.providers.apns!.topic, 'com.example.other');
    assert.equal(config.providers.apns!.teamId, 'ABCDE12345', 'the file still gives the rest');
  });

  test('a secret variable wins over every form the file gives; it is the value, or a path', () => {
    const inline = load({ providers: { apns } }, { PUSHLINE_APNS_KEY: 'KEY FROM ENV' });
    assert.equal(inline.providers.apns!.key!.reveal(), 'KEY FROM ENV');
    assert.equal(inline.providers.apns!.key!.where, 'PUSHLINE_APNS_KEY');
    const path = load(
      { providers: { apns: { ...apns, keyFile: undefined, key: 'inline' } } },
      {
        PUSHLINE_APNS_KEY_FILE: join(dir, 'AuthKey.p8'),
      },
    );
    assert.equal(path.providers.apns!.key!.reveal(), PEM);
  });

  test('a variable alone configures its provider, except those that only tune one', () => {
    const env = {
      PUSHLINE_VAPID_SUBJECT: 'mailto:a@b',
      PUSHLINE_VAPID_PUBLIC_KEY: 'B',
      PUSHLINE_VAPID_PRIVATE_KEY: 'k',
    };
    const config = loadConfig(CONFIG_SCHEMA, undefined, env);
    assert.deepEqual(webPushOptions(config.providers.webpush!).vapid, {
      subject: 'mailto:a@b',
      publicKey: 'B',
      privateKey: 'k',
    });
    const tuning = loadConfig(CONFIG_SCHEMA, undefined, {
      PUSHLINE_APNS_ENDPOINT: 'https://127.0.0.1:1',
      PUSHLINE_APNS_PRODUCTION: 'false',
      PUSHLINE_FCM_ENDPOINT: 'https://127.0.0.1:2',
      PUSHLINE_CA_FILE: join(dir, 'env-ca.pem'),
    });
    assert.deepEqual(tuning.providers, {});
  });

  test("PUSHLINE_CA_FILE is every provider's CA unless the provider names its own", () => {
    const env = { PUSHLINE_CA_FILE: join(dir, 'env-ca.pem') };
    const config = load({ providers: { apns: { ...apns, caFile: 'ca.pem' }, webpush } }, env);
    assert.equal(config.providers.apns!.caFile, 'CA FROM FILE');
    assert.equal(config.providers.webpush!.caFile, 'CA FROM ENV');
  });

  test('variables are checked like the file: a boolean, a variable naming a missing file', () => {
    assert.match(
      configError(() => load({ providers: { apns } }, { PUSHLINE_APNS_PRODUCTION: 'maybe' })).message,
      /^PUSHLINE_APNS_PRODUCTION must be true or false$/,
    );
    assert.match(
      configError(() => load({}, { PUSHLINE_APNS_CERT_FILE: 'nope.pem', PUSHLINE_APNS_TEAM_ID: 'x' }))
        .message,
      /cannot read the file '.*nope\.pem' named by PUSHLINE_APNS_CERT_FILE \(no such file\)/,
    );
  });
});

describe('refusals name the field', () => {
  test('an unknown field: its path, the known ones, and a guess', () => {
    const error = configError(() => load({ providers: { apns: { ...apns, topc: 'x' } } }));
    assert.equal(error.path, 'providers.apns.topc');
    assert.match(
      error.message,
      /providers\.apns has an unknown field 'topc'; known fields: teamId, keyId, key, keyEnv, keyFile/,
    );
    assert.match(error.message, /did you mean providers\.apns\.topic\?$/);
    const far = configError(() => load({ providers: { fcm: { zzzzzzzz: 1 } } }));
    assert.doesNotMatch(far.message, /did you mean/);
  });

  test('an unknown key at the top and an unknown provider', () => {
    const top = configError(() => load({ provider: {} }));
    assert.match(
      top.message,
      /has an unknown key 'provider'; known keys: providers, apps, client, redis, server, apiKeys, databases; did you mean 'providers'\?/,
    );
    const provider = configError(() => load({ providers: { apn: {} } }));
    assert.equal(provider.path, 'providers.apn');
    assert.match(provider.message, /did you mean providers\.apns\?/);
  });

  test('wrong types and bounds', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ apns: { ...apns, teamId: 5 } }, /providers\.apns\.teamId in '.*' must be a non-empty string/],
      [{ apns: { ...apns, production: 'yes' } }, /providers\.apns\.production in '.*' must be true or false/],
      [
        { apns: { ...apns, concurrency: 0 } },
        /providers\.apns\.concurrency in '.*' must be a whole number ≥ 1/,
      ],
      [
        { apns: { ...apns, timeoutMs: 1.5 } },
        /providers\.apns\.timeoutMs in '.*' must be a whole number ≥ 1/,
      ],
      [
        { webpush: { ...webpush, encryptionThreads: -1 } },
        /encryptionThreads in '.*' must be a whole number ≥ 0/,
      ],
      [{ webpush: { ...webpush, allowHosts: 'localhost' } }, /allowHosts in '.*' must be a list of strings/],
      [{ fcm: { serviceAccountFile: 'sa.json', platforms: [] } }, /platforms in '.*' must not be empty/],
      [
        { fcm: { serviceAccountFile: 'sa.json', platforms: ['android', 'tv'] } },
        /platforms in '.*' must list only ios/,
      ],
      [
        { apns: { ...apns, transport: 'node-http' } },
        /transport in '.*' must be one of wire, node-http2 \(did you mean node-http2\?\)/,
      ],
      [{ webpush: { ...webpush, originCircuit: 3 } }, /providers\.webpush\.originCircuit must be an object/],
      [{ apns: [] }, /: providers\.apns must be an object/],
    ];
    assert.deepEqual(
      load({ providers: { webpush: { ...webpush, allowHosts: [] } } }).providers.webpush!.allowHosts,
      [],
    );
    for (const [providers, pattern] of cases) {
      assert.match(configError(() => load({ providers })).message, pattern);
    }
  });

  test('a secret given in two forms is refused rather than guessed', () => {
    const error = configError(() => load({ providers: { apns: { ...apns, key: 'inline' } } }));
    assert.match(error.message, /providers\.apns in '.*' gives key and keyFile: give only one of them/);
  });

  test('required fields are listed all at once, with their variables', () => {
    const error = configError(() => load({ providers: { webpush: { subject: 'mailto:a@b' } } }));
    assert.match(
      error.message,
      /providers\.webpush is configured but lacks publicKey \(PUSHLINE_VAPID_PUBLIC_KEY\), privateKey \/ privateKeyEnv \/ privateKeyFile \(PUSHLINE_VAPID_PRIVATE_KEY\)/,
    );
  });
});

describe('secrets', () => {
  test('a parsed secret prints as where it came from, never as itself', () => {
    const config = load({ providers: { apns } });
    const key = config.providers.apns!.key!;
    assert.ok(key instanceof Secret);
    for (const shown of [String(key), `${key}`, JSON.stringify(config), inspect(config, { depth: 9 })]) {
      assert.ok(!shown.includes(SECRET), shown);
    }
    assert.match(JSON.stringify(config), /\[secret from providers\.apns\.keyFile in '.*'\]/);
  });

  test('no error echoes a secret, whichever field, form or key it was put in', () => {
    // Every field of every provider section (in the file, then in an app) given key
    // material in each wrong shape; and key material as a field name and an app name.
    const values = [PEM, SECRET, [SECRET], { nested: SECRET }, `${SECRET} `];
    const documents: unknown[] = [];
    for (const [name, provider] of Object.entries(CONFIG_SCHEMA.fields.providers.fields)) {
      for (const key of Object.keys(fileKeysOf(provider))) {
        for (const value of values) {
          documents.push({ providers: { [name]: { [key]: value } } });
          documents.push({ apps: { shop: { [name]: { [key]: value } } } });
        }
      }
      documents.push({ providers: { [name]: { [SECRET]: 1 } } });
    }
    documents.push(
      { [PEM]: {} },
      { apps: { [SECRET]: {} } },
      { client: { window: SECRET, delivery: SECRET } },
    );
    let refused = 0;
    for (const document of documents) {
      try {
        load(document);
      } catch (error) {
        refused++;
        assert.ok(error instanceof ConfigError, String(error));
        assert.ok(!error.message.includes(SECRET.slice(0, 16)), error.message);
        assert.ok(!error.message.includes('BEGIN PRIVATE'), error.message);
      }
    }
    assert.ok(refused > documents.length / 2, `only ${refused} of ${documents.length} were refused`);
  });

  test('a key pasted where a path or a variable name belongs is described, not echoed', () => {
    const asPath = configError(() => load({ providers: { apns: { ...apns, keyFile: PEM } } }));
    assert.match(
      asPath.message,
      /providers\.apns\.keyFile in '.*' holds a PEM 'PRIVATE KEY' block \(not shown\), not a file path/,
    );
    const asName = configError(() =>
      load({ providers: { apns: { ...apns, keyFile: undefined, keyEnv: SECRET } } }),
    );
    assert.match(
      asName.message,
      /keyEnv in .* must be the name of an environment variable .*base64 text of \d+ characters \(not shown\)/,
    );
  });
});

describe('maps and lists', () => {
  test('apps reuse the provider sections; variables do not apply inside them', () => {
    const config = load(
      {
        apps: {
          shop: { apns: { ...apns, topic: 'com.shop' }, webpush },
          news: { fcm: { serviceAccountFile: 'sa.json' } },
        },
      },
      { PUSHLINE_APNS_TOPIC: 'com.from.env', PUSHLINE_CA_FILE: join(dir, 'env-ca.pem') },
    );
    const shop = config.apps!.shop!;
    assert.equal(shop.apns!.topic, 'com.shop', 'PUSHLINE_APNS_TOPIC is for providers.apns only');
    assert.equal(shop.apns!.caFile, undefined);
    assert.equal(apnsOptions(shop.apns!).key, PEM, 'files are read relative to the config file');
    assert.equal(
      config.apps!.news!.fcm!.serviceAccount.where.startsWith('apps.news.fcm.serviceAccountFile'),
      true,
    );
    assert.equal(config.providers.apns?.teamId, undefined, 'providers.apns is from the variables only');
    assert.equal(
      load({ apps: { shop: { apns } } }).providers.apns,
      undefined,
      'apps do not configure pushline send',
    );
  });

  test('refusals inside an app name the app', () => {
    const unknown = configError(() => load({ apps: { shop: { apns: { ...apns, topc: 'x' } } } }));
    assert.equal(unknown.path, 'apps.shop.apns.topc');
    const required = configError(() => load({ apps: { shop: { fcm: {} } } }));
    assert.match(required.message, /^apps\.shop\.fcm is configured but lacks serviceAccountFile:/);
    const name = configError(() => load({ apps: { 'my app': {} } }));
    assert.match(name.message, /apps has an entry named 'my app'; names are letters, digits/);
  });

  test('another part of pushline declares its sections once, and gets parsing, env, errors and help', () => {
    // What the server declares: a section with bounds, defaults, enums and a list of objects,
    // and a field added to every app.
    const SERVER = section(
      {
        port: integer({ help: 'port to listen on', max: 65535, default: 8080, env: 'PUSHLINE_PORT' }),
        logLevel: oneOf(['info', 'debug'], { help: 'log level', default: 'info' }),
        apiKeys: listOf(
          section(
            {
              id: string({ help: 'name of the key, in logs', required: true }),
              hash: secret({
                help: 'SHA-256 of the key',
                inline: 'hash',
                fromEnv: 'hashEnv',
                required: true,
              }),
              apps: strings({ help: 'apps the key may use' }),
              permissions: strings({ help: 'what the key may do', values: ['send', 'read'], required: true }),
            },
            { help: 'one API key' },
          ),
          { help: 'API keys' },
        ),
      },
      { help: 'the server', presence: 'always' },
    );
    const APP = extend(APP_SECTION, {
      webhook: section(
        { url: string({ help: 'where feedback is POSTed', required: true }) },
        { help: 'feedback webhook' },
      ),
    });
    const SCHEMA = extend(CONFIG_SCHEMA, { server: SERVER, apps: mapOf(APP, { help: 'apps by name' }) });

    const config = load(
      {
        server: { apiKeys: [{ id: 'ci', hashEnv: 'CI_KEY_HASH', permissions: ['send'] }] },
        apps: { shop: { webhook: { url: 'https://hooks.example.com' } } },
      },
      { PUSHLINE_PORT: '9090', CI_KEY_HASH: 'abc' },
      SCHEMA,
    );
    const port: number = config.server.port; // typed from the declaration: no cast
    assert.equal(port, 9090);
    assert.equal(config.server.logLevel, 'info');
    assert.equal(config.server.apiKeys![0]!.hash.reveal(), 'abc');
    assert.equal(config.apps!.shop!.webhook!.url, 'https://hooks.example.com');

    const bounds = configError(() => load({ server: { port: 70000 } }, {}, SCHEMA));
    assert.match(bounds.message, /server\.port in '.*' must be a whole number from 1 to 65535/);
    const item = configError(() =>
      load(
        {
          server: {
            apiKeys: [
              { id: 'a', hash: 'h', permissions: ['send'] },
              { id: 'b', hash: 'h', permissions: ['admin'] },
            ],
          },
        },
        {},
        SCHEMA,
      ),
    );
    assert.match(item.message, /^server\.apiKeys\[1\]\.permissions in '.*' must list only send, read$/);
    const missing = configError(() => load({ server: { apiKeys: [{ hash: 'h' }] } }, {}, SCHEMA));
    assert.match(missing.message, /^server\.apiKeys\[0\] is configured but lacks id, permissions/);
    assert.equal(configError(() => load({ server: { apiKeys: {} } }, {}, SCHEMA)).path, 'server.apiKeys');

    const help = configReference(SCHEMA);
    assert.match(help, /server\n?\s+the server/);
    assert.match(help, /PUSHLINE_PORT\s+server\.port/);
    assert.match(help, /\n\s+apiKeys\[\]\s+API keys/);
    assert.match(help, /hash \| hashEnv\s+SHA-256 of the key/);
    assert.match(help, /apps\.<name>.*\n(.*\n)*\s+webhook\s+feedback webhook/);
  });
});

describe('help', () => {
  test('lists every field and every variable of the schema', () => {
    const help = configReference(CONFIG_SCHEMA);
    const { keys, variables } = walk(CONFIG_SCHEMA);
    assert.ok(keys.size > 50 && variables.size >= 21, `${keys.size} keys, ${variables.size} variables`);
    for (const key of keys)
      assert.match(
        help,
        new RegExp(`(^|[\\s|])${key}([\\s|]|\\.<name>|$)`, 'm'),
        `${key} is not in the help`,
      );
    for (const variable of variables) assert.ok(help.includes(variable), `${variable} is not in the help`);
  });

  test("the README's credentials section names every variable", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('### Credentials: config file and environment');
    const text = readme.slice(start, readme.indexOf('\n### ', start + 1));
    for (const variable of walk(CONFIG_SCHEMA).variables)
      assert.ok(text.includes(`\`${variable}\``), variable);
  });

  test('a field declared without help is refused', () => {
    const schema = section(
      { ok: string({ help: 'fine' }), quiet: integer({ help: ' ' }) },
      { help: 'root', presence: 'always' },
    );
    assert.throws(() => configReference(schema), /config field quiet is declared without help/);
    const nested = extend(CONFIG_SCHEMA, { extra: section({ a: string({ help: '' }) }, { help: 'extra' }) });
    assert.throws(() => configReference(nested), /config field extra\.a is declared without help/);
  });
});

/** The file keys of a provider section's fields (a secret's forms, each). */
function fileKeysOf(provider: Field): Record<string, true> {
  const out: Record<string, true> = {};
  if (provider.kind !== 'section') return out;
  for (const [name, field] of Object.entries(provider.fields)) {
    if (field.kind === 'secret') {
      for (const key of [field.inline, field.fromEnv, field.file]) if (key) out[key] = true;
    } else out[name] = true;
  }
  return out;
}

/** Every file key and variable declared anywhere in `schema`. */
function walk(schema: Field, keys = new Set<string>(), variables = new Set<string>()) {
  const of = schema.kind === 'map' || schema.kind === 'list' ? schema.of : schema;
  if (of.kind !== 'section') return { keys, variables };
  for (const [name, field] of Object.entries(of.fields)) {
    if (field.kind === 'secret') {
      for (const key of [field.inline, field.fromEnv, field.file]) if (key) keys.add(key);
    } else keys.add(name);
    for (const variable of [
      field.env,
      field.fallbackEnv,
      field.kind === 'secret' ? field.fileEnv : undefined,
    ]) {
      if (variable) variables.add(variable);
    }
    walk(field, keys, variables);
  }
  return { keys, variables };
}

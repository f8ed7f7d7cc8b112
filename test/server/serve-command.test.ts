/**
 * `pushline key` and the config errors of `pushline serve`, run in this process (`run()`):
 * they end before anything listens, with exit code 78 and a message naming the field.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { run } from '../../src/cli/program.js';
import { CONFIG_SCHEMA, loadConfig } from '../../src/config/index.js';
import { hashApiKey } from '../../src/server/auth.js';

const dir = mkdtempSync(join(tmpdir(), 'pushline-serve-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function pushline(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const code = await run(args, {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: {},
    stderrIsTTY: false,
    signal: new AbortController().signal,
  });
  return { code, stdout: out, stderr: err };
}

function config(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

test('pushline key prints a new key and its hash; the hash is the key’s', async () => {
  const { code, stdout } = await pushline(['key', '--json']);
  assert.equal(code, 0);
  const { key, hash } = JSON.parse(stdout) as { key: string; hash: string };
  assert.match(key, /^pl_[A-Za-z0-9_-]{43}$/);
  assert.equal(hash, hashApiKey(key));
  const again = JSON.parse((await pushline(['key', '--json'])).stdout) as { key: string };
  assert.notEqual(again.key, key);
  const human = await pushline(['key']);
  assert.match(human.stdout, /^key {3}pl_/m);
  assert.match(human.stdout, /^hash {2}sha256:[0-9a-f]{64}$/m);
});

test('a key pasted where its hash belongs is refused (78), and not echoed', async () => {
  const pasted = 'pl_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg';
  const path = config('pasted.json', {
    apiKeys: { ci: { hash: pasted, apps: ['*'], permissions: ['send'] } },
  });
  const { code, stderr } = await pushline(['serve', '--config', path, '--emulator']);
  assert.equal(code, 78);
  assert.match(stderr, /apiKeys\.ci\.hash/);
  assert.ok(!stderr.includes(pasted));
});

test('a key naming an app the config does not have is refused (78)', async () => {
  const path = config('unknown-app.json', {
    apps: { shop: {} },
    apiKeys: { ci: { hash: hashApiKey('k'), apps: ['news'], permissions: ['send'] } },
  });
  const { code, stderr } = await pushline(['serve', '--config', path, '--emulator', '--port', '0']);
  assert.equal(code, 78, stderr);
  assert.match(stderr, /apiKeys\.ci\.apps names the app 'news'/);
});

test("an app's deadTokens naming an unknown database is refused (78)", async () => {
  const path = config('dead-tokens.json', {
    apps: { shop: { deadTokens: { database: 'main', table: 'devices', keyColumn: 'id' } } },
    databases: { other: { url: 'sqlite:devices.db' } },
  });
  const { code, stderr } = await pushline(['serve', '--config', path, '--emulator']);
  assert.equal(code, 78);
  assert.match(stderr, /apps\.shop\.deadTokens\.database names 'main'/);
});

test('unknown fields and bad values in the server sections name the field (78)', async () => {
  const typo = await pushline(['serve', '--config', config('typo.json', { server: { prot: 8080 } })]);
  assert.equal(typo.code, 78);
  assert.match(typo.stderr, /server has an unknown field 'prot'.*did you mean server\.port/);
  const permission = await pushline([
    'serve',
    '--config',
    config('permission.json', {
      apiKeys: { ci: { hash: hashApiKey('k'), apps: ['*'], permissions: ['admin'] } },
    }),
  ]);
  assert.equal(permission.code, 78);
  assert.match(permission.stderr, /apiKeys\.ci\.permissions/);
  const webhook = await pushline([
    'serve',
    '--config',
    config('webhook.json', { apps: { shop: { webhook: { url: 'https://hooks.example.com/push' } } } }),
  ]);
  assert.equal(webhook.code, 78);
  assert.match(webhook.stderr, /apps\.shop\.webhook is configured but lacks secret/);
});

test('a bad --port is a usage error (64)', async () => {
  const { code, stderr } = await pushline(['serve', '--port', 'eighty']);
  assert.equal(code, 64);
  assert.match(stderr, /--port/);
});

test('--workers without Redis is a usage error (64): sends run in this process anyway', async () => {
  const { code, stderr } = await pushline(['serve', '--workers', '2']);
  assert.equal(code, 64);
  assert.match(stderr, /--workers runs queue workers: it needs Redis \(--redis URL/);
});

test("an app's deadTokens table that is not in its database stops the server at start (78)", async () => {
  const db = join(dir, 'empty.db');
  new Database(db).close();
  const path = config('dead-table.json', {
    apps: { shop: { deadTokens: { database: 'main', table: 'no_such_table', keyColumn: 'id' } } },
    databases: { main: { url: `sqlite:${db}` } },
  });
  const { code, stderr } = await pushline(['serve', '--config', path, '--emulator', '--port', '0']);
  assert.equal(code, 78, stderr);
  assert.match(stderr, /apps\.shop\.deadTokens: .*no_such_table/);
  const missing = await pushline([
    'serve',
    '--config',
    config('dead-file.json', {
      apps: { shop: { deadTokens: { database: 'main', table: 'devices', keyColumn: 'id' } } },
      databases: { main: { url: `sqlite:${join(dir, 'missing', 'none.db')}` } },
    }),
    '--emulator',
    '--port',
    '0',
  ]);
  assert.equal(missing.code, 78, missing.stderr);
  assert.match(missing.stderr, /apps\.shop\.deadTokens: .*cannot open/);
});

test('PUSHLINE_SERVER_HOST and PUSHLINE_SERVER_PORT override the config file’s server section', () => {
  const path = config('env.json', { server: { host: '127.0.0.1', port: 8088 } });
  const file = loadConfig(CONFIG_SCHEMA, path, {}).server;
  assert.deepEqual([file.host, file.port], ['127.0.0.1', 8088]);
  const env = { PUSHLINE_SERVER_HOST: '0.0.0.0', PUSHLINE_SERVER_PORT: '9099' };
  const { server } = loadConfig(CONFIG_SCHEMA, path, env);
  assert.equal(server.host, '0.0.0.0');
  assert.equal(server.port, 9099);
});

/**
 * The package as a user gets it: `npm pack`, the tarball unpacked into a fresh project's
 * node_modules (no network: its runtime dependencies, `typescript` and `@types/node` are
 * linked from this checkout, and NOT the optional peers — no SQLite, PostgreSQL, CSV, server
 * or Redis packages), then a program using `pushline`, `pushline/emulator` and
 * `pushline/stores` type-checked with `strict` and without `skipLibCheck`, as an ESM
 * (`"module": "nodenext"`) and as a CommonJS project, and run.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

const repo = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const tmp = mkdtempSync(join(tmpdir(), 'pushline-pack-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

interface PackResult {
  filename: string;
  files: { path: string }[];
}
let packed: PackResult;

before(() => {
  run('npm', ['run', 'build'], repo);
  const out = run('npm', ['pack', '--json', '--pack-destination', tmp], repo);
  packed = (JSON.parse(out) as PackResult[])[0] as PackResult;
});

// The program both consumers compile and run: 10 pushes to the FCM emulator (2 dead tokens),
// devices read from NDJSON through pushline/stores, and the one-line error of a store whose
// driver is not installed.
const program = `
import { PushClient, fcm, type Feedback } from 'pushline';
import { startEmulator } from 'pushline/emulator';
import { StoreError, ndjsonDevices, sqliteDevices } from 'pushline/stores';
import { writeFileSync } from 'node:fs';

async function main(): Promise<void> {
  const emulator = await startEmulator({ apns: false, webpush: false, hms: false, fcm: { unregisteredTokens: ['dead-1', 'dead-2'] } });
  const client = new PushClient({ providers: [fcm(emulator.fcm.providerOptions)] });
  try {
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ platform: 'android', token: i < 2 ? \`dead-\${i + 1}\` : \`token-\${i}\` }));
    writeFileSync('devices.ndjson', lines.join('\\n') + '\\n');
    const counts: Record<string, number> = {};
    const delivery = client.send({ title: 'Hello', body: 'from a packed pushline' }, ndjsonDevices('devices.ndjson'));
    for await (const feedback of delivery) {
      const fb: Feedback = feedback;
      counts[fb.status] = (counts[fb.status] ?? 0) + 1;
    }
    let missing = '';
    try {
      for await (const _ of sqliteDevices('devices.db', { query: 'SELECT token, platform FROM devices' })) break;
    } catch (error) {
      if (error instanceof StoreError) missing = error.message;
    }
    console.log(JSON.stringify({ counts, missing }));
  } finally {
    await client.close();
    await emulator.close();
  }
}
void main();
`;

function consumer(name: string, type: 'module' | 'commonjs'): string {
  const dir = join(tmp, name);
  const modules = join(dir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  run('tar', ['-xzf', join(tmp, packed.filename), '-C', modules], repo);
  renameSync(join(modules, 'package'), join(modules, 'pushline'));
  for (const dep of [...Object.keys(pkg.dependencies), 'typescript', '@types/node']) {
    mkdirSync(dirname(join(modules, dep)), { recursive: true });
    symlinkSync(join(repo, 'node_modules', dep), join(modules, dep), 'dir');
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        skipLibCheck: false,
        types: ['node'],
        outDir: 'out',
      },
      include: ['main.ts'],
    }),
  );
  writeFileSync(join(dir, 'main.ts'), program);
  return dir;
}

function checkAndRun(dir: string): void {
  run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', dir], dir);
  const out = run(process.execPath, [join(dir, 'out/main.js')], dir);
  const result = JSON.parse(out) as { counts: Record<string, number>; missing: string };
  assert.deepEqual(result.counts, { sent: 8, 'invalid-token': 2 });
  assert.equal(
    result.missing,
    'the SQLite store needs the better-sqlite3 package: npm install better-sqlite3',
  );
}

test('the tarball ships the build, the bin and the LICENSE; no tests, sources or source maps', () => {
  const paths = packed.files.map((file) => file.path);
  for (const needed of [
    'LICENSE',
    'README.md',
    'package.json',
    'bin/pushline.js',
    'dist/index.js',
    'dist/index.d.ts',
  ]) {
    assert.ok(paths.includes(needed), `${needed} is not in the package`);
  }
  const unwanted = paths.filter((path) => /\.map$|^src\/|^test\/|^bench\/|\.test\./.test(path));
  assert.deepEqual(unwanted, []);
});

test('an ESM project ("module": "nodenext") type-checks strictly against the package and runs', () => {
  checkAndRun(consumer('esm', 'module'));
});

test('a CommonJS project type-checks strictly against the package and runs (require of ESM, Node ≥ 20.19)', () => {
  const dir = consumer('cjs', 'commonjs');
  checkAndRun(dir);
  // The compiled program really is CommonJS: pushline is loaded through require().
  assert.match(readFileSync(join(dir, 'out/main.js'), 'utf8'), /require\("pushline"\)/);
});

test('the bin runs without the optional peers, and names the install for what needs one', () => {
  const dir = consumer('bin', 'module');
  const bin = join(dir, 'node_modules/pushline/bin/pushline.js');
  const cli = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });
  const help = cli(['--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: pushline/);
  const serve = cli(['serve']);
  assert.equal(serve.status, 78, serve.stderr);
  // One line; which package it names first depends on the import order of the server's files.
  assert.match(
    serve.stderr,
    /^pushline: error: pushline serve needs the [@\w/-]+ package: npm install fastify @fastify\/rate-limit @fastify\/swagger prom-client bullmq ioredis\n$/,
  );
  const demo = cli(['demo', '--devices-count', '10']);
  assert.notEqual(demo.status, 0);
  assert.match(demo.stderr, /needs the better-sqlite3 package: npm install better-sqlite3/);
  assert.doesNotMatch(demo.stderr, /\n\s+at /, 'a stack trace was printed');
});

/**
 * The README's "Anatomy of a provider" names real files, and every file of the APNs folder (its
 * example) is in it: the section cannot drift from the folders unnoticed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const ROOT = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
const start = readme.indexOf('### Anatomy of a provider');
const section = readme.slice(start, readme.indexOf('\n## ', start));
const named = new Set([...section.matchAll(/`([\w./-]+\.ts)`/g)].map((m) => m[1]!));
const folders = [
  'providers/apns',
  'providers/fcm',
  'providers/hms',
  'providers/webpush',
  'emulator/apns',
  'emulator/fcm',
  'emulator/hms',
  'emulator/webpush',
];

test('the section exists and names files', () => {
  assert.ok(start >= 0, 'README has "### Anatomy of a provider"');
  assert.ok(named.size > 20, [...named].join(' '));
});

test('every file it names exists in a provider or emulator folder (or at the path it gives)', () => {
  const missing = [...named].filter(
    (name) =>
      !existsSync(new URL(name, ROOT)) &&
      !folders.some((folder) => existsSync(new URL(`src/${folder}/${name}`, ROOT))),
  );
  assert.deepEqual(missing, []);
});

test('every file of the APNs folder, its example, is named', () => {
  const files = readdirSync(new URL('src/providers/apns/', ROOT)).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 10);
  assert.deepEqual(
    files.filter((file) => !named.has(file)),
    [],
  );
});
